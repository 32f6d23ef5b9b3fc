"""Store counter queries: member value inputs and a customer's store history."""

from dataclasses import dataclass, fields
from datetime import UTC, date, datetime

from sqlalchemy import bindparam, case, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import RfmSetting, Visit
from db.reads import rows
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


# Built once (db/reads.py): the counter reads the thresholds on every lookup with hits.
_THRESHOLDS = select(*(RfmSetting.__table__.c[name] for name in _THRESHOLD_COLUMNS)).where(
    RfmSetting.__table__.c.id == 1
)


async def rfm_thresholds_get(session: AsyncSession) -> RfmThresholds:
    """Return the admin-set tier thresholds (defaults when unset)."""
    found = await rows(session, _THRESHOLDS, {})
    if not found:
        return DEFAULT_THRESHOLDS
    return RfmThresholds(*found[0])


async def rfm_thresholds_set(session: AsyncSession, *, thresholds: RfmThresholds) -> None:
    """Store new tier thresholds."""
    row = await session.get(RfmSetting, 1) or RfmSetting(id=1)
    for name in _THRESHOLD_COLUMNS:
        setattr(row, name, getattr(thresholds, name))
    session.add(row)
    await session.flush()


_PURCHASE = Visit.amount_cents.is_not(None) | (Visit.outcome == "store_purchase")
# Built once: the customers' ids (expanding) and the start of the window are parameters.
_STORE_STATS = (
    select(
        Visit.customer_id,
        func.count(),
        func.sum(case((_PURCHASE, 1), else_=0)),
        func.coalesce(func.sum(Visit.amount_cents), 0),
        func.max(Visit.at),
    )
    .where(
        Visit.customer_id.in_(bindparam("p_ids", expanding=True)),
        Visit.method == Method.STORE,
        Visit.at >= bindparam("p_since"),
    )
    .group_by(Visit.customer_id)
)


async def store_stats(
    session: AsyncSession, *, customer_ids: list[int], since: datetime
) -> dict[int, StoreStats]:
    """Return store visits, purchases and spend since `since` for some customers (one query).

    It reads the store visits of at most a lookup's hits (12) over a year through
    ix_visit_customer_at, a short statement: it runs on the event loop like the other reads.
    """
    if not customer_ids:
        return {}
    out = {}
    found = await rows(session, _STORE_STATS, {"p_ids": list(customer_ids), "p_since": since})
    for cid, visits, purchases, spend, last in found:
        if isinstance(last, str):  # SQLite returns max() of a datetime column as text
            last = datetime.fromisoformat(last)
        if last is not None and last.tzinfo is None:
            last = last.replace(tzinfo=UTC)
        out[cid] = StoreStats(cid, visits, purchases or 0, spend or 0, last)
    return out


def year_start(today: date) -> date:
    """The first day of the year of `today`."""
    return today.replace(month=1, day=1)
