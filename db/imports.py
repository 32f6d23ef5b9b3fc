"""Import jobs: the uploaded file's rows, their verdicts, saved mappings, who may import."""

import json
from collections import defaultdict
from collections.abc import Sequence

from sqlalchemy import bindparam, delete, func, insert, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.customers import customer_owner_choices
from db.models import Customer, ImportJob, ImportMapping, ImportRow, TransferSetting
from db.types import utcnow
from domain.customers import CustomFieldDef
from domain.enums import Role
from domain.exports import DEFAULT_EXPORT_ROLES
from domain.imports import Context, Verdict, check_row
from domain.names import name_key
from domain.users import Actor

BATCH = 1000
PREVIEW_PAGE = 100


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
