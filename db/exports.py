"""Export queries: who may export, and the visible customers and visits in id-ordered batches."""

from collections.abc import AsyncIterator
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import aliased
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Customer, TransferSetting, User, Visit
from db.visibility import visible_customers
from domain.enums import Role
from domain.exports import DEFAULT_EXPORT_ROLES
from domain.users import Actor

# Rows per query: big enough to amortise a round trip, small enough for flat memory.
BATCH = 2000

CUSTOMER_COLUMNS = (
    Customer.number,
    Customer.name,
    Customer.kind,
    Customer.contact_name,
    Customer.phone,
    Customer.email,
    Customer.level,
    Customer.source,
    Customer.status,
    Customer.stage,
    User.name,
    Customer.industry,
    Customer.address,
    Customer.tags,
    Customer.next_follow_up_on,
    Customer.last_visit_at,
    Customer.created_at,
)


async def export_roles_get(session: AsyncSession) -> frozenset[Role]:
    """The roles whose users may export (the defaults when nothing is stored)."""
    rows = (await session.execute(select(TransferSetting))).scalars().all()
    if not rows:
        return DEFAULT_EXPORT_ROLES
    return frozenset(Role(r.role) for r in rows if r.may_export and r.role in set(Role))


async def transfer_roles_save(
    session: AsyncSession, *, export_roles: set[Role], import_roles: set[Role]
) -> None:
    """Store which roles may export and import (admins always may); flushes."""
    for role in Role:
        row = await session.get(TransferSetting, role.value)
        if row is None:
            row = TransferSetting(role=role.value)
            session.add(row)
        row.may_export = role == Role.ADMIN or role in export_roles
        row.may_import = role == Role.ADMIN or role in import_roles
    await session.flush()


def _customer_where(actor: Actor, extra: ColumnElement[bool] | None) -> ColumnElement[bool]:
    """Visibility and the list's filter (when it has one)."""
    where = visible_customers(actor)
    return where & extra if extra is not None else where


async def customer_export_count(
    session: AsyncSession, *, actor: Actor, extra: ColumnElement[bool] | None = None
) -> int:
    """How many customers an export of this filter holds."""
    stmt = select(func.count()).select_from(Customer).where(_customer_where(actor, extra))
    return int((await session.execute(stmt)).scalar_one())


async def customer_export_batches(
    session: AsyncSession, *, actor: Actor, extra: ColumnElement[bool] | None = None
) -> AsyncIterator[list[tuple]]:
    """Yield the visible customers (CUSTOMER_COLUMNS) in batches, by id (keyset paging)."""
    after = 0
    where = _customer_where(actor, extra)
    while True:
        stmt = (
            select(Customer.id, *CUSTOMER_COLUMNS)
            .outerjoin(User, User.id == Customer.owner_id)
            .where(where, Customer.id > after)
            .order_by(Customer.id)
            .limit(BATCH)
        )
        rows = (await session.execute(stmt)).all()
        if not rows:
            return
        after = rows[-1][0]
        yield [tuple(r[1:]) for r in rows]


def _visit_where(actor: Actor, start: datetime, end: datetime) -> ColumnElement[bool]:
    """Visits in [start, end) of customers the actor sees."""
    return visible_customers(actor) & (Visit.at >= start) & (Visit.at < end)


async def visit_export_count(
    session: AsyncSession, *, actor: Actor, start: datetime, end: datetime
) -> int:
    """How many visits an export of this range holds."""
    stmt = (
        select(func.count())
        .select_from(Visit)
        .join(Customer, Customer.id == Visit.customer_id)
        .where(_visit_where(actor, start, end))
    )
    return int((await session.execute(stmt)).scalar_one())


async def visit_export_batches(
    session: AsyncSession, *, actor: Actor, start: datetime, end: datetime
) -> AsyncIterator[list[tuple]]:
    """Yield (at, customer number, customer name, by, method, outcome, note, next action,
    amount in cents) of visible visits in [start, end), in batches by id."""
    by = aliased(User)
    after = 0
    where = _visit_where(actor, start, end)
    while True:
        stmt = (
            select(
                Visit.id,
                Visit.at,
                Customer.number,
                Customer.name,
                by.name,
                Visit.method,
                Visit.outcome,
                Visit.note,
                Visit.next_action,
                Visit.amount_cents,
            )
            .join(Customer, Customer.id == Visit.customer_id)
            .outerjoin(by, by.id == Visit.user_id)
            .where(where, Visit.id > after)
            .order_by(Visit.id)
            .limit(BATCH)
        )
        rows = (await session.execute(stmt)).all()
        if not rows:
            return
        after = rows[-1][0]
        yield [tuple(r[1:]) for r in rows]
