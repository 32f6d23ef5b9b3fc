"""Helpers of the customer tests: create customers through the real domain and db code."""

from datetime import date

from sqlmodel.ext.asyncio.session import AsyncSession

from db.customers import customer_create
from db.models import Customer, Team, User
from domain.customers import validate_customer
from domain.enums import Role
from domain.users import Actor

TODAY = date(2026, 11, 23)


async def new_customer(
    db: AsyncSession,
    *,
    name: str,
    phone: str,
    team: Team,
    owner: User | None = None,
    level: str = "B",
    source: str = "referral",
    today: date = TODAY,
    allow_duplicate: bool = True,
    commit: bool = True,
    **fields: str,
) -> Customer:
    """Validate a form like the web does and create the customer."""
    data, errors = validate_customer(
        {"name": name, "phone": phone, "level": level, "source": source, **fields}
    )
    assert data is not None, errors
    customer = await customer_create(
        db,
        data=data,
        team_id=team.id,
        owner_id=owner.id if owner else None,
        created_by=owner.id if owner else None,
        today=today,
        allow_duplicate=allow_duplicate,
    )
    if commit:
        await db.commit()
    return customer


def actor(user: User) -> Actor:
    """The domain's view of a user."""
    return Actor(id=user.id, name=user.name, role=Role(user.role), team_id=user.team_id)
