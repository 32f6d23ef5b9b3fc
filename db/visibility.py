"""Row-level visibility of customers, enforced in every query (PRODUCT.md §1)."""

from sqlalchemy import ColumnElement, false, or_, select, true
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Customer
from domain.enums import Role
from domain.users import Actor


def _rule(actor: Actor) -> tuple[ColumnElement[bool], list[ColumnElement[bool]]]:
    """The visibility rule: a scope, and the owners within it (any of them; none: all)."""
    if actor.role == Role.ADMIN:
        return true(), []
    if actor.team_id is None:
        return false(), []
    in_team = Customer.team_id == actor.team_id
    if actor.role in (Role.MANAGER, Role.CLERK):
        return in_team, []
    return in_team, [Customer.owner_id == actor.id, Customer.owner_id.is_(None)]


def visible_customers(actor: Actor) -> ColumnElement[bool]:
    """Return the WHERE clause limiting customers to what the actor may see."""
    scope, owners = _rule(actor)
    return scope & or_(*owners) if owners else scope


def visible_customer_parts(actor: Actor) -> list[ColumnElement[bool]]:
    """The same rule as disjoint conditions, each one range of an index on (team, owner).

    A rep sees two ranges of their team: the customers they own and the pool. A query that
    must walk every visible row (PostgreSQL's 1-2 character LIKE in db/search.py) reads
    each range on its own instead of filtering all the team's index entries with the OR.
    """
    scope, owners = _rule(actor)
    return [scope & owner for owner in owners] if owners else [scope]


async def customer_get_visible(
    session: AsyncSession, *, actor: Actor, customer_id: int
) -> Customer | None:
    """Return the customer as stored now if the actor may see it, else None (callers 404).

    Read afresh (not a copy the session still holds), so an edit compares against the
    version in the database.
    """
    stmt = (
        select(Customer)
        .where(Customer.id == customer_id, visible_customers(actor))
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()
