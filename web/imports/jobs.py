"""Running imports as background tasks of a server process, and what a dead process leaves.

A job commits every batch and records its progress in the database (rows done, what each
row did), so the progress page survives a reload and the user can leave. A failure stops
the job and records the line it stopped at.

With several worker processes, a job belongs to the process that runs it: the job row
names its owner ("host:pid") and the owner renews `heartbeat_at` every HEARTBEAT_S. Every
worker, at start-up and then every HEARTBEAT_S, marks stopped (at the first line not yet
imported, with a message saying why) only the running jobs whose owner is gone: a process
on this host that no longer exists, or an owner whose heartbeat is older than STALE_S (a
process on another host). A worker starting up never touches another live worker's job.
Nothing is resumed silently. KEHU_IMPORT_HEARTBEAT_SECONDS (default 10) sets the period.
"""

import asyncio
import logging
import os
import socket
from collections.abc import Callable
from datetime import date, datetime, timedelta

from sqlalchemy.ext.asyncio import async_sessionmaker

from db.custom_fields import custom_field_defs, custom_field_list
from db.imports import (
    import_checks_reusable,
    import_context,
    import_first_undone_line,
    import_job_claim,
    import_job_finish,
    import_job_running,
    import_jobs_heartbeat,
    import_jobs_running,
    import_run_batch,
)
from db.types import utcnow
from web.core.i18n import N_

log = logging.getLogger("kehu.imports")

MSG_RESTARTED = N_("The server restarted while the import ran.")
MSG_FAILED = N_("The import failed at this line.")
MSG_PROCESS_GONE = N_(
    "The server process that ran this import stopped before it finished (it was restarted "
    "or killed)."
)
MESSAGES = (MSG_RESTARTED, MSG_FAILED, MSG_PROCESS_GONE)

HEARTBEAT_S = float(os.environ.get("KEHU_IMPORT_HEARTBEAT_SECONDS") or 10)
# A heartbeat this old means its process is gone (missed six renewals in a row).
STALE_S = 6 * HEARTBEAT_S

# Running tasks by job id: kept so they are not garbage-collected, and for tests to await.
TASKS: dict[int, asyncio.Task] = {}


def start(
    sessionmaker: async_sessionmaker,
    job_id: int,
    *,
    today: date,
    comment: str,
    source_names: dict[str, str],
    role_names: dict[str, str] | None = None,
) -> None:
    """Run the job in the background (the caller has marked it running and committed)."""
    task = asyncio.get_running_loop().create_task(
        run(sessionmaker, job_id, today=today, comment=comment, source_names=source_names,
            role_names=role_names)
    )  # fmt: skip
    TASKS[job_id] = task
    task.add_done_callback(lambda _t: TASKS.pop(job_id, None))


async def run(
    sessionmaker: async_sessionmaker,
    job_id: int,
    *,
    today: date,
    comment: str,
    source_names: dict[str, str],
    role_names: dict[str, str] | None = None,
) -> None:
    """Import every row in committed batches; on a failure stop and say at which line."""
    async with sessionmaker() as session:
        claimed = await import_job_claim(session, job_id=job_id, owner=owner_name(), now=utcnow())
        await session.commit()
        job = await import_job_running(session, job_id=job_id)
        if job is None or not claimed:
            return
        definitions = custom_field_defs(await custom_field_list(session))
        ctx = await import_context(
            session, team_id=job.team_id, source_names=source_names, custom_fields=definitions,
            role_names=role_names,
        )  # fmt: skip
        await session.commit()
        reuse = import_checks_reusable(job, ctx)
        after = 0
        try:
            while True:
                last = await import_run_batch(
                    session, job=job, ctx=ctx, after_line=after, today=today,
                    comment=comment, definitions=definitions, reuse=reuse,
                )  # fmt: skip
                await session.commit()
                if last is None:
                    break
                after = last
                await asyncio.sleep(0)  # let requests in between batches
            await import_job_finish(session, job=job, now=utcnow(), stopped_at=None, error="")
            await session.commit()
        except Exception:
            log.exception("import job %s failed after line %s", job_id, after)
            await session.rollback()
            job = await import_job_running(session, job_id=job_id, reload=True)
            if job is None:
                return
            stopped = await import_first_undone_line(session, job_id=job_id)
            await import_job_finish(
                session, job=job, now=utcnow(), stopped_at=stopped or after + 1, error=MSG_FAILED
            )
            await session.commit()


def owner_name() -> str:
    """This process as a job's owner: host name and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this host."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def owner_gone(
    owner: str,
    last_seen: datetime | None,
    *,
    now: datetime,
    host: str,
    alive: Callable[[int], bool] = pid_alive,
    stale: timedelta | None = None,
) -> bool:
    """Whether the process that ran a job is gone, so the job will not go on.

    An owner on this host is gone as soon as its process is; any owner is gone once its
    last sign of life (heartbeat, else the start) is older than `stale`; a job that never
    had an owner nor a start (a row from before owners were recorded) is gone.
    """
    owner_host, _, pid = owner.rpartition(":")
    if owner_host == host and pid.isdigit() and not alive(int(pid)):
        return True
    if last_seen is None:
        return True
    return now - last_seen > (stale or timedelta(seconds=STALE_S))


async def heartbeat(sessionmaker: async_sessionmaker) -> None:
    """Renew this process's lease on the jobs it runs."""
    if not TASKS:
        return
    async with sessionmaker() as session:
        await import_jobs_heartbeat(session, job_ids=list(TASKS), owner=owner_name(), now=utcnow())
        await session.commit()


async def recover(sessionmaker: async_sessionmaker) -> int:
    """Mark stopped, where they were, the running jobs whose process is gone; how many.

    Runs at every worker's start-up and then every HEARTBEAT_S; jobs this process runs
    and jobs of live processes are left alone.
    """
    now, host, stopped_jobs = utcnow(), socket.gethostname(), 0
    async with sessionmaker() as session:
        for job in await import_jobs_running(session):
            if job.id in TASKS:
                continue
            if not owner_gone(job.owner, job.heartbeat_at or job.started_at, now=now, host=host):
                continue
            stopped = await import_first_undone_line(session, job_id=job.id)
            await import_job_finish(
                session, job=job, now=now, stopped_at=stopped or job.total, error=MSG_PROCESS_GONE
            )
            log.warning("import job %s: its process %r is gone; marked stopped", job.id, job.owner)
            stopped_jobs += 1
        await session.commit()
    return stopped_jobs


async def stop_own(sessionmaker: async_sessionmaker) -> None:
    """At shutdown: cancel this process's jobs and mark them stopped where they were."""
    tasks = dict(TASKS)
    for task in tasks.values():
        task.cancel()
    # A cancelled job's session rolls back its unfinished batch; the finished ones stay.
    await asyncio.gather(*tasks.values(), return_exceptions=True)
    if not tasks:
        return
    async with sessionmaker() as session:
        for job in await import_jobs_running(session):
            if job.id not in tasks or job.owner != owner_name():
                continue
            stopped = await import_first_undone_line(session, job_id=job.id)
            await import_job_finish(
                session, job=job, now=utcnow(), stopped_at=stopped or job.total, error=MSG_RESTARTED
            )
        await session.commit()


class JobLease:
    """Per worker: recover at start-up, then renew this process's jobs and sweep dead ones."""

    def __init__(self, sessionmaker: async_sessionmaker):
        """Bind the lease loop to the app's session factory."""
        self.sessionmaker = sessionmaker
        self._task: asyncio.Task | None = None

    async def start(self) -> None:
        """Start-up hook: mark the jobs of dead processes stopped, then keep watching."""
        gone = await recover(self.sessionmaker)
        log.info(
            "import job lease of %s started (%d jobs of gone processes stopped)", owner_name(), gone
        )
        self._task = asyncio.get_running_loop().create_task(self._loop())

    async def _loop(self) -> None:
        """Every HEARTBEAT_S: renew this process's jobs, then sweep the dead ones."""
        while True:
            await asyncio.sleep(HEARTBEAT_S)
            try:
                await heartbeat(self.sessionmaker)
                await recover(self.sessionmaker)
            except Exception:  # a locked database now must not end the watching
                log.exception("import job lease: renewing or sweeping failed")

    async def stop(self) -> None:
        """Shutdown hook: stop watching, then stop this process's jobs cleanly."""
        if self._task is not None:
            self._task.cancel()
            self._task = None
        await stop_own(self.sessionmaker)
