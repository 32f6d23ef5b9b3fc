"""Whereabouts retention: a background loop drops old visit locations (PIPL Art. 28)."""

import asyncio
import contextlib
import logging

from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import write_gate
from db.privacy import privacy_retention_run
from db.types import utcnow

log = logging.getLogger(__name__)
EVERY_SECONDS = 6 * 3600
# The first run waits a minute: start-up (migrations, first requests) comes first, and an
# app that lives only for a test never runs it.
FIRST_DELAY_SECONDS = 60


class RetentionLoop:
    """Runs the location retention soon after start-up and every few hours after that."""

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]):
        """Bind the loop to the app's session factory."""
        self.sessionmaker = sessionmaker
        self._task: asyncio.Task | None = None

    async def run_once(self) -> int:
        """Drop the locations that are past the period now; how many visits lost theirs."""
        async with self.sessionmaker() as db:
            await write_gate(db)  # a coroutine, not a context manager: held until commit
            dropped = await privacy_retention_run(db, now=utcnow())
            await db.commit()
        return dropped

    async def _loop(self) -> None:
        """Wait, run, sleep, repeat; a failure is logged and retried next time."""
        await asyncio.sleep(FIRST_DELAY_SECONDS)
        while True:
            try:
                await self.run_once()
            except Exception:
                log.exception("location retention failed; will retry")
            await asyncio.sleep(EVERY_SECONDS)

    async def start(self) -> None:
        """Start the loop (an app start-up hook)."""
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        """Stop the loop (an app shutdown hook)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
