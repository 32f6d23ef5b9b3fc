"""Test factories: teams, users, actors, customers and visits, made through the real db code."""

import itertools
import uuid
from datetime import UTC, date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from db.customers import customer_create
from db.models import Customer, Team, User, Visit
from db.types import utcnow
from db.users import team_get_or_create, user_add
from db.visits import recently_viewed_upsert
from domain.customers import derived_fields, validate_customer
from domain.enums import Role
from domain.phones import normalise_phone
from domain.users import Actor

# The day customers made through the form are "created" on: fixed, so numbers and first
# follow-ups are the same on every run (C202611001, ...).
TODAY = date(2026, 11, 23)
SALES_TEAM = "华东销售一组"

# One counter per test process: default names, phones, numbers and keys never repeat.
_seq = itertools.count(1)


async def team(db: AsyncSession, name: str = SALES_TEAM, *, store: bool = False) -> Team:
    """The team of that name, created when missing (the default is the shared sales team)."""
    made = await team_get_or_create(db, name=name, is_store=store)
    await db.commit()
    return made


async def _sales_team(db: AsyncSession) -> Team:
    """The shared sales team (for factories whose `team` argument hides `team()`)."""
    return await team(db)


async def user(
    db: AsyncSession,
    *,
    role: str = "rep",
    team: Team | None = None,
    name: str = "陈静",
    locale: str | None = None,
) -> User:
    """A user with a role, in `team` (none when not given)."""
    made = await user_add(
        db, name=name, role=role, team_id=team.id if team else None, locale=locale
    )
    await db.commit()
    return made


def actor(user: User, *, store: bool = False) -> Actor:
    """The domain's view of a user (`store`: their team is a store)."""
    return Actor(
        id=user.id, name=user.name, role=Role(user.role), team_id=user.team_id, team_is_store=store
    )


async def customer(
    db: AsyncSession,
    *,
    team: Team | None = None,
    owner: User | None = None,
    name: str | None = None,
    phone: str | None = None,
    level: str = "B",
    source: str = "referral",
    via_form: bool = False,
    today: date = TODAY,
    allow_duplicate: bool = True,
    commit: bool = True,
    **columns,
) -> Customer:
    """A customer of `team` (else the owner's team); `columns` set any other Customer column.

    By default just the row (with the search columns the app derives); `via_form=True`
    creates it as the New customer form does: validated, numbered, first follow-up planned,
    stage history and audit event written (and DuplicateCustomer unless `allow_duplicate`).
    """
    n = next(_seq)
    name = name or f"测试客户{n}"
    phone = phone or f"137{n:08d}"
    team_id = team.id if team else owner.team_id if owner else (await _sales_team(db)).id
    if via_form:
        data, errors = validate_customer(
            {"name": name, "phone": phone, "level": level, "source": source}
        )
        assert data is not None, errors
        made = await customer_create(
            db,
            data=data,
            team_id=team_id,
            owner_id=owner.id if owner else None,
            created_by=owner.id if owner else None,
            today=today,
            allow_duplicate=allow_duplicate,
        )
        for column, value in columns.items():
            setattr(made, column, value)
    else:
        phone = normalise_phone(phone)
        made = Customer(
            number=f"C9{n:08d}",
            name=name,
            phone=phone,
            team_id=team_id,
            owner_id=owner.id if owner else None,
            level=level,
            source=source,
            **derived_fields(name, phone),
            **columns,
        )
        db.add(made)
    await db.flush()
    if commit:
        await db.commit()
    return made


async def visit(
    db: AsyncSession,
    *,
    customer: Customer,
    user: User,
    outcome: str = "met_interested",
    method: str = "field",
    at: datetime | None = None,
) -> Visit:
    """A stored visit row (no rules run); the customer's last visit moves to it."""
    at = at or utcnow()
    made = Visit(
        customer_id=customer.id,
        user_id=user.id,
        outcome=outcome,
        method=method,
        at=at,
        idempotency_key=new_key(),
    )
    db.add(made)
    customer.last_visit_at = at
    db.add(customer)
    await db.commit()
    return made


async def viewed(
    db: AsyncSession, *, user_id: int, customer_id: int, at: datetime | None = None
) -> None:
    """Remember that a user opened a customer, as opening its page does (now by default)."""
    await recently_viewed_upsert(db, {(user_id, customer_id): at or utcnow()})


def new_key() -> str:
    """A client-style idempotency key."""
    return str(uuid.uuid4())


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)
