"""`kehu pool reclaim [--dry-run]`: the automatic return on demand, one line of output."""

import asyncio
import time

from db.engine import make_engine, make_sessionmaker
from db.types import utcnow
from web.core.settings import Settings
from web.pool.reclaim import reclaim_run


def reclaim(settings: Settings, *, dry_run: bool = False) -> str:
    """Run (or count) the return now and say what happened."""

    async def run() -> int | None:
        engine = make_engine(settings.database_url)
        try:
            return await reclaim_run(
                make_sessionmaker(engine), now=utcnow(), tz=settings.tz, dry_run=dry_run
            )
        finally:
            await engine.dispose()

    started = time.perf_counter()
    count = asyncio.run(run())
    took = time.perf_counter() - started
    if count is None:
        return "pool reclaim: another process is running it; nothing done"
    verb = "would return" if dry_run else "returned"
    return f"pool reclaim: {verb} {count} customers in {took:.1f} s"
