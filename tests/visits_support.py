"""Helpers of the visits tests: customers, actors, recorded visits."""

import itertools
import uuid
from datetime import UTC, date, datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Customer, Team, User
from domain.enums import Role
from domain.users import Actor

_numbers = itertools.count(1)


async def make_customer(
    db: AsyncSession,
    *,
    team: Team,
    owner: User | None = None,
    name: str | None = None,
    level: str = "B",
    lat: float | None = None,
    lng: float | None = None,
    next_follow_up_on: date | None = None,
    last_visit_at: datetime | None = None,
) -> Customer:
    """Create a customer directly (the customer feature has its own forms)."""
    n = next(_numbers)
    customer = Customer(
        number=f"C202611{n:03d}",
        name=name or f"测试客户{n}",
        team_id=team.id,
        owner_id=owner.id if owner else None,
        level=level,
        lat=lat,
        lng=lng,
        next_follow_up_on=next_follow_up_on,
        last_visit_at=last_visit_at,
    )
    db.add(customer)
    await db.commit()
    return customer


def actor_of(user: User, *, store: bool = False) -> Actor:
    """The domain's view of a user."""
    return Actor(
        id=user.id, name=user.name, role=Role(user.role), team_id=user.team_id, team_is_store=store
    )


def new_key() -> str:
    """A client-style idempotency key."""
    return str(uuid.uuid4())


def utc(*args: int) -> datetime:
    """A UTC datetime."""
    return datetime(*args, tzinfo=UTC)
