"""The Today page's queries: customers due for a follow-up, and recently viewed ones."""

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Date, Integer, Select, bindparam, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Customer, RecentlyViewed, User, Visit
from db.reads import per_actor, rows
from db.visibility import visible_customers
from domain.enums import Role
from domain.users import Actor


@dataclass(frozen=True)
class TodayRow:
    """One customer line on the Today page."""

    customer_id: int
    name: str
    level: str
    last_visit_at: datetime | None
    next_follow_up_on: date | None
    owner_id: int | None
    owner_name: str | None
    next_action: str = ""  # a visit's next action due today, if any


_COLUMNS = (
    Customer.id,
    Customer.name,
    Customer.level,
    Customer.last_visit_at,
    Customer.next_follow_up_on,
    Customer.owner_id,
    User.name,
)


def _today_due_select(actor: Actor) -> Select:
    """The due list's SELECT for a kind of actor (built once each, see db.reads)."""
    # The next action of a visit due today, for the row's line (a correlated subquery).
    action = (
        select(Visit.next_action)
        .where(
            Visit.customer_id == Customer.id,
            Visit.next_action_due == bindparam("p_today", type_=Date()),
            Visit.next_action != "",
        )
        .order_by(Visit.at.desc())
        .limit(1)
        .scalar_subquery()
    )
    stmt = (
        select(*_COLUMNS, func.coalesce(action, ""))
        .outerjoin(User, User.id == Customer.owner_id)
        .where(
            visible_customers(actor),
            Customer.next_follow_up_on.is_not(None),
            Customer.next_follow_up_on <= bindparam("p_today", type_=Date()),
        )
        .order_by(Customer.next_follow_up_on, Customer.last_visit_at, Customer.id)
        .limit(bindparam("p_limit", type_=Integer()))
    )
    if actor.role == Role.REP:
        stmt = stmt.where(Customer.owner_id == actor.id)
    return stmt


_today_due = per_actor(_today_due_select)


async def today_due(
    session: AsyncSession, *, actor: Actor, today: date, limit: int = 100
) -> tuple[list[TodayRow], bool]:
    """Return customers due on or before `today`, oldest due first, and whether more exist.

    Reps see the customers they own; clerks their store's; managers their team's; admins all.
    One query (the owner's name comes along for grouping by rep, and the next action of a
    visit that is due today for the row's line).
    """
    stmt, params = _today_due(actor)
    found = await rows(session, stmt, {**params, "p_today": today, "p_limit": limit + 1})
    result = [TodayRow(*r) for r in found]
    return result[:limit], len(result) > limit


def _recently_viewed_select(actor: Actor) -> Select:
    """The recently viewed SELECT for a kind of actor (built once each, see db.reads)."""
    return (
        select(*_COLUMNS)
        .select_from(RecentlyViewed)
        .join(Customer, Customer.id == RecentlyViewed.customer_id)
        .outerjoin(User, User.id == Customer.owner_id)
        .where(RecentlyViewed.user_id == actor.id, visible_customers(actor))
        .order_by(RecentlyViewed.viewed_at.desc())
        .limit(bindparam("p_limit", type_=Integer()))
    )


_recently_viewed = per_actor(_recently_viewed_select)


async def recently_viewed_list(
    session: AsyncSession, *, actor: Actor, limit: int = 10
) -> list[TodayRow]:
    """Return the customers the actor opened lately (and may still see), newest first."""
    stmt, params = _recently_viewed(actor)
    return [TodayRow(*r) for r in await rows(session, stmt, {**params, "p_limit": limit})]
