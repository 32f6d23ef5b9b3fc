"""Running the automatic return: once a day inside the server, or `kehu pool reclaim` from cron.

Several server processes may run the schedule; the lease in the database lets one of them
run the return (and only once per local day), and a dry run only counts.
"""

import asyncio
import logging
import os
import socket
from datetime import datetime, timedelta

from litestar import Litestar

from db.pool import pool_rules_get
from db.pool_reclaim import (
    pool_lease_release,
    pool_lease_take,
    pool_reclaim_batch,
    pool_reclaim_due,
)
from db.types import utcnow
from domain.pool import local_day

log = logging.getLogger("kehu.pool")

BATCH = 500  # customers per transaction: a visit recorded meanwhile waits one batch at most
LEASE_TTL = timedelta(minutes=30)
# KEHU_POOL_CHECK_SECONDS: how often each worker checks (tests with several workers shorten it).
CHECK_EVERY_S = float(os.environ.get("KEHU_POOL_CHECK_SECONDS") or 300)


def holder_name() -> str:
    """This process, as the lease names it."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def reclaim_run(
    sessionmaker, *, now: datetime, tz, dry_run: bool = False, daily: bool = False
) -> int | None:
    """Return the due customers; the count, or None when another process holds the lease.

    `daily`: the scheduled run, which skips a local day that already had its run.
    """
    holder = holder_name()
    day = local_day(now, tz) if daily else None
    async with sessionmaker() as db:
        rules = await pool_rules_get(db)
        if dry_run:
            return len(await pool_reclaim_due(db, rules=rules, now=now))
        taken = await pool_lease_take(db, holder=holder, now=now, ttl=LEASE_TTL, day=day)
        await db.commit()
        if not taken:
            return None
        returned = 0
        try:
            ids = await pool_reclaim_due(db, rules=rules, now=now)
            for start in range(0, len(ids), BATCH):
                chunk = ids[start : start + BATCH]
                returned += len(await pool_reclaim_batch(db, ids=chunk, rules=rules, now=now))
                await db.commit()
        finally:
            await db.rollback()
            await pool_lease_release(db, holder=holder, now=now, day=day)
            await db.commit()
        log.info("pool reclaim returned %s customers", returned)
        return returned


async def _schedule(app: Litestar) -> None:
    """Every few minutes: once the admin's hour has come, run the day's return."""
    settings, sessionmaker = app.state.settings, app.state.sessionmaker
    while True:
        await asyncio.sleep(CHECK_EVERY_S)
        try:
            now = utcnow()
            async with sessionmaker() as db:
                hour = (await pool_rules_get(db)).run_hour
            if now.astimezone(settings.tz).hour >= hour:
                await reclaim_run(sessionmaker, now=now, tz=settings.tz, daily=True)
        except Exception:  # a failed run must not stop tomorrow's
            log.exception("pool reclaim failed")


def install_reclaim_schedule(app: Litestar) -> None:
    """Start the daily return with the server (and stop it with the server)."""
    tasks: list[asyncio.Task] = []

    async def start() -> None:
        tasks.append(asyncio.create_task(_schedule(app)))

    async def stop() -> None:
        for task in tasks:
            task.cancel()

    app.on_startup.append(start)
    app.on_shutdown.insert(0, stop)
