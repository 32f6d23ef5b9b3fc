"""Rate-limit counters in the database: fixed one-minute windows per key."""

from collections.abc import Sequence

from sqlalchemy import delete
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import upsert
from db.models import RateLimitHit

WINDOW_SECONDS = 60


async def rate_hits_add(
    session: AsyncSession, *, keys: Sequence[str], window: int
) -> dict[str, int]:
    """Count one hit for each key in a window; return each key's count including this hit."""
    if not keys:
        return {}
    stmt = upsert(session, RateLimitHit).values(
        [{"key": k, "window": window, "hits": 1} for k in keys]
    )
    stmt = stmt.on_conflict_do_update(
        index_elements=["key", "window"], set_={"hits": RateLimitHit.hits + 1}
    ).returning(RateLimitHit.key, RateLimitHit.hits)
    rows = (await session.execute(stmt)).all()
    return {key: hits for key, hits in rows}


async def rate_hits_purge(session: AsyncSession, *, before_window: int) -> int:
    """Delete counters of windows before `before_window`; return how many."""
    result = await session.execute(delete(RateLimitHit).where(RateLimitHit.window < before_window))
    return result.rowcount or 0
