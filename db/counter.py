"""Store counter queries: member value inputs and a customer's store history."""

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime

from sqlalchemy import case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import sql_in_thread
from db.models import RfmSetting, Visit
from domain.enums import Method
from domain.rfm import DEFAULT_THRESHOLDS, RfmThresholds

# The rfm_setting columns are named after the RfmThresholds fields.
_THRESHOLD_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(RfmThresholds))


@dataclass(frozen=True)
class StoreStats:
    """A customer's store activity: what the RFM tier and the counter show."""

    customer_id: int
    visits: int
    purchases: int
    spend_cents: int
    last_at: datetime | None


async def rfm_thresholds_get(session: AsyncSession) -> RfmThresholds:
    """Return the admin-set tier thresholds (defaults when unset)."""
    row = await session.get(RfmSetting, 1)
    if row is None:
        return DEFAULT_THRESHOLDS
    return RfmThresholds(**{name: getattr(row, name) for name in _THRESHOLD_COLUMNS})


async def rfm_thresholds_set(session: AsyncSession, *, thresholds: RfmThresholds) -> None:
    """Store new tier thresholds."""
    row = await session.get(RfmSetting, 1) or RfmSetting(id=1)
    for name in _THRESHOLD_COLUMNS:
        setattr(row, name, getattr(thresholds, name))
    session.add(row)
    await session.flush()


async def store_stats(
    session: AsyncSession, *, customer_ids: list[int], since: datetime
) -> dict[int, StoreStats]:
    """Return store visits, purchases and spend since `since` for some customers (one query)."""
    if not customer_ids:
        return {}
    purchase = Visit.amount_cents.is_not(None) | (Visit.outcome == "store_purchase")
    stmt = (
        select(
            Visit.customer_id,
            func.count(),
            func.sum(case((purchase, 1), else_=0)),
            func.coalesce(func.sum(Visit.amount_cents), 0),
            func.max(Visit.at),
        )
        .where(
            Visit.customer_id.in_(customer_ids),
            Visit.method == Method.STORE,
            Visit.at >= since,
        )
        .group_by(Visit.customer_id)
    )
    out = {}
    with sql_in_thread():  # aggregates a year of store visits
        rows = (await session.execute(stmt)).all()
    for cid, visits, purchases, spend, last in rows:
        if isinstance(last, str):  # SQLite returns max() of a datetime column as text
            last = datetime.fromisoformat(last)
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        out[cid] = StoreStats(cid, visits, purchases or 0, spend or 0, last)
    return out


def year_start(today: date) -> date:
    """The first day of the year of `today`."""
    return today.replace(month=1, day=1)
