"""Running imports as background tasks of the server process, and what a restart leaves.

A job commits every batch and records its progress in the database (rows done, what each
row did), so the progress page survives a reload and the user can leave. A failure stops
the job and records the line it stopped at; a restart of the server marks jobs that were
running as stopped at their first line not yet imported. Nothing is resumed silently.
"""

import asyncio
import logging
from datetime import date

from sqlalchemy.ext.asyncio import async_sessionmaker

from db.custom_fields import custom_field_defs, custom_field_list
from db.imports import (
    import_context,
    import_first_undone_line,
    import_job_finish,
    import_jobs_running,
    import_run_batch,
)
from db.models import ImportJob
from db.types import utcnow
from web.core.i18n import N_

log = logging.getLogger("kehu.imports")

MSG_RESTARTED = N_("The server restarted while the import ran.")
MSG_FAILED = N_("The import failed at this line.")
MESSAGES = (MSG_RESTARTED, MSG_FAILED)

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
        job = await session.get(ImportJob, job_id)
        if job is None:
            return
        definitions = custom_field_defs(await custom_field_list(session))
        ctx = await import_context(
            session, team_id=job.team_id, source_names=source_names, custom_fields=definitions,
            role_names=role_names,
        )  # fmt: skip
        await session.commit()
        after = 0
        try:
            while True:
                last = await import_run_batch(
                    session, job=job, ctx=ctx, after_line=after, today=today,
                    comment=comment, definitions=definitions,
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
            job = await session.get(ImportJob, job_id, populate_existing=True)
            if job is None:
                return
            stopped = await import_first_undone_line(session, job_id=job_id)
            await import_job_finish(
                session, job=job, now=utcnow(), stopped_at=stopped or after + 1, error=MSG_FAILED
            )
            await session.commit()


async def recover(sessionmaker: async_sessionmaker) -> None:
    """At start-up: jobs still marked running were cut off; mark them stopped where they were."""
    async with sessionmaker() as session:
        for job in await import_jobs_running(session):
            stopped = await import_first_undone_line(session, job_id=job.id)
            await import_job_finish(
                session, job=job, now=utcnow(), stopped_at=stopped or job.total, error=MSG_RESTARTED
            )
        await session.commit()
