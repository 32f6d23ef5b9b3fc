"""Customer views (audit event + recently viewed), written in batches after the response.

Opening a customer page is a read, but the audit log (PIPL) and the Today page's
"recently viewed" list both need a row for it. Writing those rows inside the page request
made every page view take SQLite's single write lock twice, so 16 phones opening pages
queued behind each other. Instead the page adds the view here and a flush runs after the
response is sent: one short transaction writes every view that arrived meanwhile (a group
commit). Readers that must see the newest views (Today) call `flush()` first.

With several worker processes each has its own log, and `flush()` writes only this
process's views. Another worker's views are in the database as soon as its after-response
write has run (milliseconds after that page was answered, before a person can tap on to
Today); a write that failed (the database stayed locked) is retried RETRY_S later by a
timer, not only on the next page view of that worker, so no view waits for traffic.
"""

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_insert
from db.engine import write_gate
from db.types import utcnow
from db.visits import recently_viewed_upsert

log = logging.getLogger(__name__)

# Beyond this many unwritten views (a database that stays locked), the oldest are dropped
# and logged rather than growing memory without bound.
MAX_PENDING = 50_000
RETRY_S = 1.0  # after a failed write, try again this much later


@dataclass(frozen=True)
class View:
    """One user opening one customer's page or Visits region."""

    user_id: int
    customer_id: int
    at: datetime
    ip: str
    audited: bool


class ViewLog:
    """Collects views in memory and writes them in one transaction per flush."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        """Bind the log to the app's session factory."""
        self.sessionmaker = sessionmaker
        self._pending: list[View] = []
        self._lock = asyncio.Lock()
        self._retry: asyncio.TimerHandle | None = None
        self._tasks: set[asyncio.Task] = set()  # retries under way (kept from the GC)

    def add(self, *, user_id: int, customer_id: int, ip: str = "", audited: bool) -> None:
        """Remember a view; `audited` views also get a `customer_viewed` audit event."""
        self._pending.append(View(user_id, customer_id, utcnow(), ip, audited))
        if len(self._pending) > MAX_PENDING:
            dropped = len(self._pending) - MAX_PENDING
            del self._pending[:dropped]
            log.error("view log: dropped %d unwritten views (database unavailable?)", dropped)

    @property
    def pending(self) -> int:
        """How many views are not written yet."""
        return len(self._pending)

    async def write_pending(self) -> None:
        """After a page view: write the pending views unless a writer is already at it.

        A running writer keeps going until nothing is pending, so it also takes the views
        added while it writes; at most one request's background task writes at a time,
        and under load the others return at once instead of queueing behind it.
        """
        if self._lock.locked():
            return
        await self.flush()

    async def flush(self) -> None:
        """Write every pending view, including those that arrive while writing."""
        async with self._lock:
            while self._pending:
                batch, self._pending = self._pending, []
                try:
                    await self._write(batch)
                except Exception:
                    # Keep them for the next flush (e.g. the database stayed locked for
                    # longer than the busy timeout); a page view must never fail for this.
                    self._pending[:0] = batch
                    log.exception("view log: could not write %d views; will retry", len(batch))
                    self._retry_later()
                    return

    def _retry_later(self) -> None:
        """Arm one timer that writes the pending views again (other workers' Today reads them)."""
        if self._retry is not None:
            return
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._retry = None
            self._tasks.add(task := loop.create_task(self.write_pending()))
            task.add_done_callback(self._tasks.discard)

        self._retry = loop.call_later(RETRY_S, fire)

    async def _write(self, batch: list[View]) -> None:
        """Insert the audit events and upsert the recently-viewed rows in one transaction."""
        newest: dict[tuple[int, int], datetime] = {}
        for v in batch:
            key = (v.user_id, v.customer_id)
            if key not in newest or v.at > newest[key]:
                newest[key] = v.at
        audits = [
            {
                "at": v.at,
                "actor_id": v.user_id,
                "action": "customer_viewed",
                "entity": "customer",
                "entity_id": v.customer_id,
                "ip": v.ip,
            }
            for v in batch
            if v.audited
        ]
        async with self.sessionmaker() as db:
            await write_gate(db)
            if audits:
                await audit_insert(db, audits)
            await recently_viewed_upsert(db, newest)
            await db.commit()
