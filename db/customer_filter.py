"""The filtered, sorted and counted customer list (visibility applies to every filter)."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import ColumnElement, and_, column, exists, func, nulls_last, or_, select, true
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlmodel.ext.asyncio.session import AsyncSession

from db.customers import CustomerRow, customer_row_select, customer_rows
from db.models import Customer
from db.visibility import visible_customers
from domain.customer_filter import (
    DUE_OVERDUE,
    DUE_WEEK,
    OWNER_ME,
    OWNER_POOL,
    SORT_CREATED,
    SORT_LAST_VISIT,
    SORT_NAME,
    CustomerFilter,
    local_day_start_utc,
    not_visited_since,
    week_end,
)
from domain.users import Actor


@dataclass(frozen=True)
class CustomerPageOfRows:
    """One page of the filtered list, whether more follow, and how many match in all."""

    rows: list[CustomerRow]
    more: bool
    total: int


class json_items(FunctionElement):
    """The items of a JSON array as rows with a `value` column, in either dialect."""

    inherit_cache = True


@compiles(json_items, "sqlite")
def _json_items_sqlite(element, compiler, **kw) -> str:
    """SQLite: json_each(array)."""
    return f"json_each({compiler.process(element.clauses, **kw)})"


@compiles(json_items, "postgresql")
def _json_items_postgresql(element, compiler, **kw) -> str:
    """PostgreSQL: json_array_elements_text(array) (the column is json)."""
    return f"json_array_elements_text({compiler.process(element.clauses, **kw)})"


def _has_tag(tag: str) -> ColumnElement[bool]:
    """The customer's JSON tag list holds the tag."""
    each = json_items(Customer.tags).table_valued("value").alias("t")
    return exists(select(1).select_from(each).where(column("value", _selectable=each) == tag))


def filter_where(
    actor: Actor, filt: CustomerFilter, *, today: date, now: datetime, tz: tzinfo
) -> ColumnElement[bool]:
    """The WHERE clause of the filter, always inside what the actor may see."""
    parts: list[ColumnElement[bool]] = [visible_customers(actor)]
    if filt.owner == OWNER_POOL:
        parts.append(Customer.owner_id.is_(None))
    elif filt.owner == OWNER_ME:
        parts.append(Customer.owner_id == actor.id)
    elif filt.owner_id() is not None:
        parts.append(Customer.owner_id == filt.owner_id())
    for name in ("level", "stage", "status", "source"):
        value = getattr(filt, name)
        if value:
            parts.append(getattr(Customer, name) == value)
    if filt.tag:
        parts.append(_has_tag(filt.tag))
    if filt.due == DUE_OVERDUE:
        parts.append(Customer.next_follow_up_on < today)
    elif filt.due == DUE_WEEK:
        parts.append(Customer.next_follow_up_on.between(today, week_end(today)))
    if filt.no_visit_days:
        since = not_visited_since(now, filt.no_visit_days)
        parts.append(or_(Customer.last_visit_at.is_(None), Customer.last_visit_at < since))
    if filt.created_from:
        parts.append(Customer.created_at >= local_day_start_utc(filt.created_from, tz))
    if filt.created_to:
        end = local_day_start_utc(filt.created_to + timedelta(days=1), tz)
        parts.append(Customer.created_at < end)
    return and_(true(), *parts)


def _order(sort: str) -> tuple:
    """ORDER BY of a sort; the id breaks ties so paging is stable."""
    if sort == SORT_LAST_VISIT:
        return (nulls_last(Customer.last_visit_at.desc()), Customer.id)
    if sort == SORT_NAME:
        return (Customer.name, Customer.id)
    if sort == SORT_CREATED:
        return (Customer.created_at.desc(), Customer.id.desc())
    # Customers nobody has planned a follow-up for come first, as on the plain list.
    return (Customer.next_follow_up_on, Customer.id)


async def customer_list_filtered(
    session: AsyncSession,
    *,
    actor: Actor,
    filt: CustomerFilter,
    today: date,
    now: datetime,
    tz: tzinfo,
    per_page: int = 50,
) -> CustomerPageOfRows:
    """Return the filter's page of the customers the actor sees, and the count of all matches."""
    where = filter_where(actor, filt, today=today, now=now, tz=tz)
    page = min(filt.page, 2**62 // per_page)
    stmt = (
        customer_row_select()
        .where(where)
        .order_by(*_order(filt.sort))
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
    )
    rows = (await session.execute(stmt)).all()
    total = (await session.execute(select(func.count()).select_from(Customer).where(where))).one()
    return CustomerPageOfRows(customer_rows(rows[:per_page]), len(rows) > per_page, total[0])
