"""Import jobs: the uploaded file's rows, their verdicts, saved mappings, who may import."""

import json
from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add, audit_insert
from db.customers import (
    customer_build,
    customer_numbers_reserve,
    customer_owner_choices,
    customer_update,
    customer_values,
    input_values,
)
from db.engine import write_gate
from db.models import (
    ApprovalRequest,
    Contact,
    Customer,
    ImportJob,
    ImportMapping,
    ImportRow,
    RecentlyViewed,
    StageChange,
    TransferSetting,
    Visit,
)
from db.outcomes import cadence_get
from db.types import utcnow
from domain.cadence import next_follow_up
from domain.customers import CustomFieldDef
from domain.enums import Level, Role
from domain.exports import DEFAULT_EXPORT_ROLES
from domain.imports import (
    MSG_OTHER_TEAM,
    Context,
    DuplicateMode,
    RowCheck,
    Verdict,
    check_row,
    update_changes,
)
from domain.names import name_key
from domain.users import Actor

BATCH = 1000
PREVIEW_PAGE = 100
# Rows per committed transaction of a running import. New customers go in with a few
# multi-row statements per batch, so a batch stays short and visits that others record
# meanwhile wait for the write gate at most one batch.
RUN_BATCH = 500


async def import_roles_get(session: AsyncSession) -> frozenset[Role]:
    """The roles whose users may import (admins and managers when nothing is stored)."""
    rows = (await session.execute(select(TransferSetting))).scalars().all()
    if not rows:
        return DEFAULT_EXPORT_ROLES
    return frozenset(Role(r.role) for r in rows if r.may_import and r.role in set(Role))


async def import_job_create(
    session: AsyncSession,
    *,
    user_id: int,
    team_id: int,
    filename: str,
    data: bytes,
    sheets: list[str],
    sheet: str,
    headers: list[str],
    rows: Sequence[tuple[int, list[str]]],
    mapping: list[str],
) -> ImportJob:
    """Store an upload and its rows (not yet checked); flushes."""
    job = ImportJob(
        created_by=user_id,
        team_id=team_id,
        filename=filename[:200],
        file=data,
        sheets=sheets,
        sheet=sheet,
        headers=headers,
        mapping=mapping,
        total=len(rows),
    )
    session.add(job)
    await session.flush()
    await _rows_insert(session, job.id, rows)
    return job


async def _rows_insert(session: AsyncSession, job_id: int, rows) -> None:
    """Insert the file's rows in batches of one statement each."""
    for start in range(0, len(rows), BATCH):
        chunk = rows[start : start + BATCH]
        await session.execute(
            insert(ImportRow),
            [
                {"job_id": job_id, "line": line, "cells": cells, "verdict": "", "reason": "",
                 "action": "", "before": {}}
                for line, cells in chunk
            ],
        )  # fmt: skip


async def import_job_replace_rows(
    session: AsyncSession,
    *,
    job: ImportJob,
    sheet: str,
    headers: list[str],
    rows: Sequence[tuple[int, list[str]]],
    mapping: list[str],
) -> None:
    """Replace a draft's rows with another sheet's; flushes."""
    await session.execute(delete(ImportRow).where(ImportRow.job_id == job.id))
    job.sheet, job.headers, job.mapping, job.total = sheet, headers, mapping, len(rows)
    job.state = "draft"
    await _rows_insert(session, job.id, rows)
    await session.flush()


async def import_job_get(session: AsyncSession, *, actor: Actor, job_id: int) -> ImportJob | None:
    """The job if the actor started it (admins: any job), else None (callers 404)."""
    if not 0 < job_id < 2**63:
        return None
    stmt = select(ImportJob).where(ImportJob.id == job_id)
    if actor.role != Role.ADMIN:
        stmt = stmt.where(ImportJob.created_by == actor.id)
    return (
        await session.execute(stmt.execution_options(populate_existing=True))
    ).scalar_one_or_none()


async def import_mapping_find(session: AsyncSession, *, signature: str) -> list[str] | None:
    """The mapping saved for files with these headers, if any."""
    row = await session.get(ImportMapping, signature)
    return list(row.mapping) if row else None


async def import_mapping_save(
    session: AsyncSession, *, signature: str, mapping: list[str], user_id: int
) -> None:
    """Save a mapping for files with these headers (replacing an earlier one); flushes."""
    row = await session.get(ImportMapping, signature)
    if row is None:
        row = ImportMapping(signature=signature)
        session.add(row)
    row.mapping, row.saved_by, row.saved_at = list(mapping), user_id, utcnow()
    await session.flush()


async def import_context(
    session: AsyncSession,
    *,
    team_id: int,
    source_names: dict[str, str],
    custom_fields: list[CustomFieldDef],
) -> Context:
    """What checking rows needs: the team's possible owners by name, every customer's keys.

    Duplicates are looked for in the whole company, as the entry form does.
    """
    owners: dict[str, list[int]] = defaultdict(list)
    for choice in await customer_owner_choices(session, team_id=team_id):
        owners[name_key(choice.name) or choice.name].append(choice.id)
    phones: dict[str, int] = {}
    names: dict[str, int] = {}
    stmt = select(Customer.id, Customer.phone, Customer.name_key).order_by(Customer.id)
    for cid, phone, key in await session.execute(stmt):
        if phone:
            phones.setdefault(phone, cid)
        if key:
            names.setdefault(key, cid)
    return Context(
        owners=dict(owners),
        source_names=source_names,
        custom_fields=custom_fields,
        existing_phones=phones,
        existing_names=names,
    )


# Core (not ORM) UPDATE: one statement executed for a whole batch of rows.
_ROWS = ImportRow.__table__
_VERDICT_UPDATE = (
    update(_ROWS)
    .where(_ROWS.c.id == bindparam("p_id"))
    .values(verdict=bindparam("p_verdict"), reason=bindparam("p_reason"),
            duplicate_of=bindparam("p_dup"))
)  # fmt: skip


async def import_rows_check(session: AsyncSession, *, job: ImportJob, ctx: Context) -> None:
    """Give every row of the job its verdict under the job's mapping, in file order; flushes."""
    after = 0
    while True:
        stmt = (
            select(ImportRow.id, ImportRow.line, ImportRow.cells)
            .where(ImportRow.job_id == job.id, ImportRow.line > after)
            .order_by(ImportRow.line)
            .limit(BATCH)
        )
        rows = (await session.execute(stmt)).all()
        if not rows:
            break
        params = []
        for row_id, line, cells in rows:
            check = check_row(line, cells, job.mapping, ctx)
            reason = json.dumps(check.errors, ensure_ascii=False) if check.errors else ""
            params.append(
                {"p_id": row_id, "p_verdict": check.verdict.value, "p_reason": reason,
                 "p_dup": check.duplicate_of}
            )  # fmt: skip
        await session.execute(_VERDICT_UPDATE, params)
        after = rows[-1][1]
    job.state = "checked"
    await session.flush()


async def import_totals(session: AsyncSession, *, job_id: int) -> dict[str, int]:
    """How many rows have each verdict."""
    stmt = (
        select(ImportRow.verdict, func.count())
        .where(ImportRow.job_id == job_id)
        .group_by(ImportRow.verdict)
    )
    totals = {v.value: 0 for v in Verdict}
    totals.update({v: n for v, n in await session.execute(stmt)})
    return totals


async def import_rows_page(
    session: AsyncSession, *, job_id: int, verdict: str | None, page: int
) -> tuple[list[ImportRow], bool]:
    """One page of the job's rows (of one verdict when given), and whether more follow."""
    page = min(max(1, page), 2**40)
    stmt = select(ImportRow).where(ImportRow.job_id == job_id)
    if verdict:
        stmt = stmt.where(ImportRow.verdict == verdict)
    stmt = stmt.order_by(ImportRow.line).limit(PREVIEW_PAGE + 1).offset((page - 1) * PREVIEW_PAGE)
    rows = list((await session.execute(stmt)).scalars())
    return rows[:PREVIEW_PAGE], len(rows) > PREVIEW_PAGE


async def import_job_start(session: AsyncSession, *, job: ImportJob, now: datetime) -> None:
    """Mark a checked job as running from its first row; flushes."""
    job.state, job.done, job.started_at, job.error = "running", 0, now, ""
    job.stopped_at_line = None
    await session.flush()


async def import_run_batch(
    session: AsyncSession,
    *,
    job: ImportJob,
    ctx: Context,
    after_line: int,
    today: date,
    comment: str,
    definitions: list[CustomFieldDef],
) -> int | None:
    """Import the next rows after `after_line`; return the last line done (None: all done).

    Each row is checked again (the data may have changed since the preview); what it did
    is recorded on the row (created / updated / skipped / failed, and the earlier values
    of the fields it changed), which is what undo and the report read. Flushes.
    """
    stmt = (
        select(ImportRow)
        .where(ImportRow.job_id == job.id, ImportRow.line > after_line)
        .order_by(ImportRow.line)
        .limit(RUN_BATCH)
    )
    rows = list((await session.execute(stmt)).scalars())
    if not rows:
        return None
    await write_gate(session)
    mode = DuplicateMode(job.duplicate_mode)
    new: list[tuple[ImportRow, RowCheck]] = []
    for row in rows:
        check = check_row(row.line, row.cells, job.mapping, ctx)
        row.verdict, row.duplicate_of = check.verdict.value, check.duplicate_of
        row.reason = json.dumps(check.errors, ensure_ascii=False) if check.errors else ""
        if check.verdict == Verdict.NEW and check.customer is not None:
            new.append((row, check))
        elif check.verdict == Verdict.DUPLICATE and check.customer is not None:
            await _update_existing(session, job, row, check, mode, definitions)
        else:
            row.action = "failed" if check.verdict == Verdict.ERROR else "skipped"
    await _customers_insert(session, job, new, today=today, comment=comment)
    job.done += len(rows)
    await session.flush()
    return rows[-1].line


async def _customers_insert(
    session: AsyncSession,
    job: ImportJob,
    new: list[tuple[ImportRow, RowCheck]],
    *,
    today: date,
    comment: str,
) -> None:
    """Create a batch's new customers as customer_create would, in a few bulk statements.

    One upsert reserves the batch's numbers, one multi-row INSERT stores the customers
    (the ORM batches it, returning the ids), one executemany each writes their first stage
    history entry ("Imported from ...") and their customer_created audit events; the rows
    record what they created for undo and the report.
    """
    if not new:
        return
    now = utcnow()
    cadence = await cadence_get(session)
    numbers = await customer_numbers_reserve(
        session, year=today.year, month=today.month, count=len(new)
    )
    customers = [
        customer_build(
            data=check.customer, number=number, team_id=job.team_id, owner_id=check.owner_id,
            created_by=job.created_by, now=now,
            follow_up_on=next_follow_up(today, Level(check.customer.level), cadence),
        )
        for (_row, check), number in zip(new, numbers, strict=True)
        if check.customer is not None
    ]  # fmt: skip
    session.add_all(customers)
    await session.flush()
    await session.execute(
        insert(StageChange),
        [
            {"customer_id": c.id, "user_id": job.created_by, "at": now, "from_stage": None,
             "to_stage": c.stage, "from_status": None, "to_status": c.status,
             "reason": c.loss_reason, "comment": comment}
            for c in customers
        ],
    )  # fmt: skip
    await audit_insert(
        session,
        [
            {"at": now, "actor_id": job.created_by, "action": "customer_created",
             "entity": "customer", "entity_id": c.id,
             "detail": {"number": c.number, "duplicate_confirmed": True}}
            for c in customers
        ],
    )  # fmt: skip
    for (row, _check), customer in zip(new, customers, strict=True):
        row.action, row.customer_id = "created", customer.id


async def _update_existing(session, job, row, check, mode, definitions) -> None:
    """Apply a duplicate row to the existing customer per the job's mode (own team only)."""
    existing = await session.get(Customer, check.duplicate_of)
    row.customer_id = check.duplicate_of
    if existing is None or mode == DuplicateMode.SKIP:
        row.action = "skipped"
        return
    if existing.team_id != job.team_id:
        row.action, row.reason = "skipped", json.dumps({"": MSG_OTHER_TEAM})
        return
    current = customer_values(existing, definitions)
    incoming = input_values(check.customer, definitions, owner_id=None)
    changes = update_changes(current, incoming, job.mapping, mode)
    if not changes:
        row.action = "skipped"
        return
    await customer_update(session, customer=existing, changes=changes, user_id=job.created_by)
    row.action = "updated"
    row.before = {k: current[k] for k in changes}


async def import_job_finish(
    session: AsyncSession, *, job: ImportJob, now: datetime, stopped_at: int | None, error: str
) -> None:
    """Mark the job done, or stopped at a line with the reason; flushes."""
    job.finished_at = now
    if stopped_at is None:
        job.state = "done"
    else:
        job.state, job.stopped_at_line, job.error = "stopped", stopped_at, error[:500]
    await session.flush()


async def import_first_undone_line(session: AsyncSession, *, job_id: int) -> int | None:
    """The first line a job has not imported yet (where a stopped job stopped)."""
    stmt = select(func.min(ImportRow.line)).where(
        ImportRow.job_id == job_id, ImportRow.action == ""
    )
    return (await session.execute(stmt)).scalar_one()


async def import_jobs_running(session: AsyncSession) -> list[ImportJob]:
    """Jobs marked as running (after a restart: none of them is really running)."""
    stmt = select(ImportJob).where(ImportJob.state == "running")
    return list((await session.execute(stmt)).scalars())


async def import_job_claim(
    session: AsyncSession, *, job_id: int, owner: str, now: datetime
) -> bool:
    """Record that `owner` (a server process) runs this running job; flushes."""
    await write_gate(session)
    stmt = (
        update(ImportJob)
        .where(ImportJob.id == job_id, ImportJob.state == "running")
        .values(owner=owner, heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).rowcount == 1


async def import_jobs_heartbeat(
    session: AsyncSession, *, job_ids: Sequence[int], owner: str, now: datetime
) -> None:
    """The owner says it still runs these jobs; flushes."""
    if not job_ids:
        return
    await write_gate(session)
    await session.execute(
        update(ImportJob)
        .where(ImportJob.id.in_(list(job_ids)), ImportJob.owner == owner)
        .where(ImportJob.state == "running")
        .values(heartbeat_at=now)
        .execution_options(synchronize_session=False)
    )


async def import_summary(session: AsyncSession, *, job_id: int) -> dict[str, int]:
    """How many rows were created, updated, skipped and failed."""
    stmt = (
        select(ImportRow.action, func.count())
        .where(ImportRow.job_id == job_id)
        .group_by(ImportRow.action)
    )
    counts = {"created": 0, "updated": 0, "skipped": 0, "failed": 0}
    counts.update({a: n for a, n in await session.execute(stmt) if a})
    return counts


async def import_rows_not_imported(session: AsyncSession, *, job_id: int, after_line: int):
    """The next batch of rows that were not imported (skipped or failed), by line."""
    stmt = (
        select(ImportRow)
        .where(
            ImportRow.job_id == job_id,
            ImportRow.line > after_line,
            ImportRow.action.in_(("skipped", "failed")),
        )
        .order_by(ImportRow.line)
        .limit(BATCH)
    )
    return list((await session.execute(stmt)).scalars())


async def _created_ids(session: AsyncSession, job_id: int) -> list[int]:
    """The customers a job created."""
    stmt = select(ImportRow.customer_id).where(
        ImportRow.job_id == job_id, ImportRow.action == "created"
    )
    return [cid for (cid,) in await session.execute(stmt) if cid is not None]


async def import_undo_blockers(session: AsyncSession, *, job_id: int) -> list[tuple]:
    """Customers the job created that have visits since: (id, number, name), at most 50."""
    stmt = (
        select(Customer.id, Customer.number, Customer.name)
        .join(ImportRow, (ImportRow.customer_id == Customer.id) & (ImportRow.action == "created"))
        .where(ImportRow.job_id == job_id)
        .where(select(Visit.id).where(Visit.customer_id == Customer.id).exists())
        .order_by(Customer.id)
        .limit(50)
    )
    return [tuple(r) for r in await session.execute(stmt)]


async def import_undo(session: AsyncSession, *, job: ImportJob, user_id: int, ip: str) -> None:
    """Remove the customers the job created and restore the fields it changed; flushes.

    The caller has checked import_undo_blockers: a created customer with visits is not
    removed here silently.
    """
    await write_gate(session)
    ids = await _created_ids(session, job.id)
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for table in (StageChange, Contact, RecentlyViewed, ApprovalRequest):
            await session.execute(delete(table).where(table.customer_id.in_(chunk)))
        await session.execute(delete(Customer).where(Customer.id.in_(chunk)))
    stmt = select(ImportRow).where(ImportRow.job_id == job.id, ImportRow.action == "updated")
    for row in (await session.execute(stmt)).scalars():
        customer = await session.get(Customer, row.customer_id)
        if customer is not None and row.before:
            await customer_update(session, customer=customer, changes=row.before, user_id=user_id)
    job.state = "undone"
    await audit_add(
        session, action="import_undone", actor_id=user_id, entity="import_job", entity_id=job.id,
        detail={"removed": len(ids)}, ip=ip,
    )  # fmt: skip
    await session.flush()
