"""Import jobs: the uploaded file's rows, their verdicts, saved mappings, who may import."""

import asyncio
import json
from collections import defaultdict
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from itertools import islice

from sqlalchemy import (
    bindparam,
    delete,
    func,
    insert,
    literal_column,
    null,
    select,
    text,
    update,
)
from sqlalchemy.orm import defer
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add, audit_insert
from db.customers import (
    customer_insert_values,
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
    ImportSetting,
    RecentlyViewed,
    SearchIndexGate,
    StageChange,
    TransferSetting,
    Visit,
)
from db.outcomes import cadence_get
from db.reads import dialect
from db.types import utcnow
from domain.cadence import next_follow_up
from domain.contacts import ContactInput
from domain.customers import CustomFieldDef
from domain.enums import Level, Role
from domain.exports import DEFAULT_EXPORT_ROLES
from domain.imports import (
    DEFAULT_UPLOAD_MB,
    MSG_OTHER_TEAM,
    Context,
    DuplicateMode,
    RowCheck,
    Verdict,
    as_existing_duplicate,
    check_dump,
    check_load,
    check_row,
    contact_change,
    context_digest,
    duplicate_keys,
    update_changes,
)
from domain.names import name_key
from domain.users import Actor

BATCH = 1000
PREVIEW_PAGE = 100
# Rows per committed transaction of a running import. New customers go in with a few
# multi-row statements per batch; visits that others record meanwhile wait for the write
# gate at most one batch. Fewer, bigger batches cost less (each commit writes the touched
# index pages to the WAL once and may checkpoint them), but hold the gate longer: at 500
# rows a batch holds it ~0.1 s of CPU (docs/BENCHMARKS.md, "Import and export").
RUN_BATCH = 500
# Rows checked between two yields to the event loop (about 15 ms of CPU).
CHECK_SLICE = 100


async def import_roles_get(session: AsyncSession) -> frozenset[Role]:
    """The roles whose users may import (admins and managers when nothing is stored)."""
    rows = (await session.execute(select(TransferSetting))).scalars().all()
    if not rows:
        return DEFAULT_EXPORT_ROLES
    return frozenset(Role(r.role) for r in rows if r.may_import and r.role in set(Role))


async def import_max_upload_mb_get(session: AsyncSession) -> int:
    """The admin's upload size limit in MB (the default when nothing is stored)."""
    row = await session.get(ImportSetting, 1)
    return row.max_upload_mb if row is not None else DEFAULT_UPLOAD_MB


async def import_max_upload_mb_set(session: AsyncSession, *, mb: int) -> None:
    """Store the upload size limit in MB; flushes."""
    row = await session.get(ImportSetting, 1)
    if row is None:
        row = ImportSetting(id=1)
        session.add(row)
    row.max_upload_mb = mb
    await session.flush()


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
    rows: Iterable[tuple[int, list[str]]],
    mapping: list[str],
) -> ImportJob:
    """Store an upload and its rows (not yet checked), batch by batch as `rows` yields
    them (a stream need not fit in memory); flushes."""
    job = ImportJob(
        created_by=user_id,
        team_id=team_id,
        filename=filename[:200],
        file=data,
        sheets=sheets,
        sheet=sheet,
        headers=headers,
        mapping=mapping,
    )
    session.add(job)
    await session.flush()
    job.total = await _rows_insert(session, job.id, rows)
    await session.flush()
    return job


async def _rows_insert(session: AsyncSession, job_id: int, rows: Iterable) -> int:
    """Insert the file's rows in batches of one statement each; how many there were."""
    total = 0
    it = iter(rows)
    while chunk := list(islice(it, BATCH)):
        await session.execute(
            insert(_ROWS),
            [
                {"job_id": job_id, "line": line, "cells": cells, "verdict": "", "reason": "",
                 "action": "", "before": {}, "contacts": {}, "checked": {}}
                for line, cells in chunk
            ],
        )  # fmt: skip
        total += len(chunk)
    return total


async def import_job_replace_rows(
    session: AsyncSession,
    *,
    job: ImportJob,
    sheet: str,
    headers: list[str],
    rows: Iterable[tuple[int, list[str]]],
    mapping: list[str],
) -> None:
    """Replace a draft's rows with another sheet's; flushes."""
    await session.execute(delete(ImportRow).where(ImportRow.job_id == job.id))
    job.sheet, job.headers, job.mapping = sheet, headers, mapping
    job.state, job.check_digest = "draft", ""
    job.total = await _rows_insert(session, job.id, rows)
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


async def import_job_running(
    session: AsyncSession, *, job_id: int, reload: bool = False
) -> ImportJob | None:
    """The job a background task runs, without its stored file (megabytes it never reads)."""
    return await session.get(
        ImportJob, job_id, options=[defer(ImportJob.file)], populate_existing=reload
    )


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
    role_names: dict[str, str] | None = None,
) -> Context:
    """What checking rows needs: the team's possible owners by name, sources, custom fields.

    Existing customers are not loaded here: each batch of rows looks its phones and name
    keys up in the database (`_existing_duplicates`), so a 100,000-customer company costs
    no memory. Duplicates are looked for in the whole company, as the entry form does.
    """
    owners: dict[str, list[int]] = defaultdict(list)
    for choice in await customer_owner_choices(session, team_id=team_id):
        owners[name_key(choice.name) or choice.name].append(choice.id)
    return Context(
        owners=dict(owners),
        source_names=source_names,
        role_names=role_names or {},
        custom_fields=custom_fields,
    )


async def _existing_duplicates(session: AsyncSession, checks: list[RowCheck]) -> list[RowCheck]:
    """The batch's checks with every new row that an existing customer duplicates (same
    phone first, else same name key; the oldest customer) turned into a duplicate of it."""
    candidates = [duplicate_keys(c) for c in checks]
    wanted = [c for c in checks if c.verdict == Verdict.NEW]
    phones = sorted({p for (p, _k), c in zip(candidates, checks, strict=True)
                     if p and c.verdict == Verdict.NEW})  # fmt: skip
    keys = sorted({k for (_p, k), c in zip(candidates, checks, strict=True)
                   if k and c.verdict == Verdict.NEW})  # fmt: skip
    if not wanted:
        return checks
    by_phone = await _first_ids(session, Customer.phone, phones)
    by_key = await _first_ids(session, Customer.name_key, keys)
    out = []
    for check, (phone, key) in zip(checks, candidates, strict=True):
        found = by_phone.get(phone) or by_key.get(key) if check.verdict == Verdict.NEW else None
        out.append(as_existing_duplicate(check, found) if found else check)
    return out


async def _first_ids(session: AsyncSession, column, values: list[str]) -> dict[str, int]:
    """The oldest customer holding each value of an (indexed) column."""
    found: dict[str, int] = {}
    for start in range(0, len(values), BATCH):
        chunk = values[start : start + BATCH]
        stmt = select(column, Customer.id).where(column.in_(chunk)).order_by(Customer.id)
        for value, cid in await session.execute(stmt):
            found.setdefault(value, cid)
    return found


# Core (not ORM) UPDATE: one statement executed for a whole batch of rows.
_ROWS = ImportRow.__table__
_VERDICT_UPDATE = (
    update(_ROWS)
    .where(_ROWS.c.id == bindparam("p_id"))
    .values(verdict=bindparam("p_verdict"), reason=bindparam("p_reason"),
            duplicate_of=bindparam("p_dup"), checked=bindparam("p_checked"))
)  # fmt: skip


def import_checks_reusable(job: ImportJob, ctx: Context) -> bool:
    """Whether the rows' checks stored by the preview still hold under this context."""
    return bool(job.check_digest) and job.check_digest == context_digest(job.mapping, ctx)


async def _stored_checks(session: AsyncSession, rows, job: ImportJob, ctx: Context):
    """The preview's checks of (id, line, _, checked) rows; a row without one (its cells
    were erased since) is checked again from its cells, which refuses it."""
    missing = [row_id for row_id, _line, _cells, stored in rows if not stored]
    cells = {}
    if missing:
        found = await session.execute(
            select(_ROWS.c.id, _ROWS.c.cells).where(_ROWS.c.id.in_(missing))
        )
        cells = dict(found.all())
    return [check_load(stored) if stored else check_row(line, cells[row_id], job.mapping, ctx)
            for row_id, line, _cells, stored in rows]  # fmt: skip


async def _check_rows(rows, job: ImportJob, ctx: Context) -> list[RowCheck]:
    """Check (id, line, cells) rows in file order, yielding to the event loop now and then:
    checking is CPU work, and other requests must get in while a big file is checked."""
    checks = []
    for n, (_row_id, line, cells, *_rest) in enumerate(rows, 1):
        checks.append(check_row(line, cells, job.mapping, ctx))
        if n % CHECK_SLICE == 0:
            await asyncio.sleep(0)
    return checks


async def import_rows_check(session: AsyncSession, *, job: ImportJob, ctx: Context) -> None:
    """Give every row of the job its verdict under the job's mapping, in file order; flushes.

    Each row also keeps its check before existing customers were looked up, and the job
    the digest of what those checks depended on: the import reuses them while the digest
    still matches, and looks existing duplicates up again (customers change meanwhile).
    """
    job.check_digest = ""
    digest = context_digest(job.mapping, ctx)
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
        pure = await _check_rows(rows, job, ctx)
        checks = await _existing_duplicates(session, pure)
        params = []
        for (row_id, _line, _cells), check, own in zip(rows, checks, pure, strict=True):
            reason = json.dumps(check.errors, ensure_ascii=False) if check.errors else ""
            params.append(
                {"p_id": row_id, "p_verdict": check.verdict.value, "p_reason": reason,
                 "p_dup": check.duplicate_of, "p_checked": check_dump(own)}
            )  # fmt: skip
        await session.execute(_VERDICT_UPDATE, params)
        after = rows[-1][1]
    job.state, job.check_digest = "checked", digest
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


# What importing did to each row: one executemany UPDATE per batch (Core, no ORM objects).
_RUN_UPDATE = (
    update(_ROWS)
    .where(_ROWS.c.id == bindparam("p_id"))
    .values(verdict=bindparam("p_verdict"), reason=bindparam("p_reason"),
            duplicate_of=bindparam("p_dup"), action=bindparam("p_action"),
            customer_id=bindparam("p_customer"), before=bindparam("p_before"),
            contacts=bindparam("p_contacts"), checked=literal_column("'{}'"))
)  # fmt: skip


def _outcome(row_id: int, check: RowCheck) -> dict:
    """A row's UPDATE parameters, before importing it decides its action."""
    reason = json.dumps(check.errors, ensure_ascii=False) if check.errors else ""
    return {"p_id": row_id, "p_verdict": check.verdict.value, "p_reason": reason,
            "p_dup": check.duplicate_of, "p_action": "", "p_customer": None, "p_before": {},
            "p_contacts": {}}  # fmt: skip


async def import_run_batch(
    session: AsyncSession,
    *,
    job: ImportJob,
    ctx: Context,
    after_line: int,
    today: date,
    comment: str,
    definitions: list[CustomFieldDef],
    reuse: bool = False,
) -> int | None:
    """Import the next rows after `after_line`; return the last line done (None: all done).

    With `reuse` (the job's check_digest matches the context: see import_checks_reusable)
    each row's stored check stands, else each row is checked again; either way existing
    duplicates are looked up again (customers may have been added or changed since the
    preview). All this happens before the write gate is taken, so that visits recorded
    meanwhile wait only for the writes; what each row did is recorded on it (created /
    updated / skipped / failed, the earlier values of the fields and contacts it changed),
    which is what undo and the report read. Flushes.
    """
    # Reusing the preview's checks, the cells are not needed (nor decoded).
    stored = _ROWS.c.checked if reuse else null()
    stmt = (
        select(_ROWS.c.id, _ROWS.c.line, null() if reuse else _ROWS.c.cells, stored)
        .where(_ROWS.c.job_id == job.id, _ROWS.c.line > after_line)
        .order_by(_ROWS.c.line)
        .limit(RUN_BATCH)
    )
    rows = (await session.execute(stmt)).all()
    if not rows:
        return None
    if reuse:
        pure = await _stored_checks(session, rows, job, ctx)
    else:
        pure = await _check_rows(rows, job, ctx)
    checked = await _existing_duplicates(session, pure)
    checks = [(_outcome(row[0], c), c) for row, c in zip(rows, checked, strict=True)]
    new = [(out, c) for out, c in checks if c.verdict == Verdict.NEW and c.customer is not None]
    # The new customers' columns (pinyin forms included) are worked out before the gate is
    # taken, so that the gate is held for the statements only.
    values = await _new_values(session, job, new, today=today)
    await asyncio.sleep(0)  # a visit that came in meanwhile takes the gate first
    await write_gate(session)
    sqlite = dialect(session) == "sqlite"
    if sqlite:
        await session.execute(_BATCH_CACHE)
    mode = DuplicateMode(job.duplicate_mode)
    for out, check in checks:
        if check.verdict == Verdict.NEW and check.customer is not None:
            continue
        if check.verdict == Verdict.DUPLICATE and check.customer is not None:
            await _update_existing(session, job, out, check, mode, definitions)
        else:
            out["p_action"] = "failed" if check.verdict == Verdict.ERROR else "skipped"
    await _customers_insert(session, job, new, values, today=today, comment=comment)
    await session.execute(_RUN_UPDATE, [out for out, _check in checks])
    job.done += len(rows)
    await session.flush()
    if sqlite:
        await session.execute(_DEFAULT_CACHE)
    return rows[-1][1]


# A batch's inserts touch leaf pages of the customer table's 13 indexes and its full-text
# index all over: with SQLite's default 2 MB page cache they are read again and again
# within one batch. 32 MB for the batch cut a raw 20,000-row insert into the 100,000-
# customer database from 7.1 to 5.5 s of CPU (docs/BENCHMARKS.md, "Import and export");
# back to the default before the commit, so the pooled connection does not keep it (only
# clean pages are dropped then; the dirty ones go to the WAL at the commit as before).
_BATCH_CACHE = text("PRAGMA cache_size=-32768")
_DEFAULT_CACHE = text("PRAGMA cache_size=-2000")


_CUSTOMERS = Customer.__table__
_CONTACTS = Contact.__table__
_GATE = SearchIndexGate.__table__
# One search-index row per new customer, with the same text as the triggers of migrations
# 0002 (SQLite's customer_fts) and 0011 (PostgreSQL's customer_trgm_refresh) write.
_FTS_ROWS = text(
    """INSERT INTO customer_fts (rowid, name, number, phone, pinyin, initials, contacts)
SELECT c.id, c.name, c.number, c.phone, c.name_pinyin, c.name_initials,
  trim(c.contact_name || ' ' || coalesce(
    (SELECT group_concat(k.name, ' ') FROM contact k WHERE k.customer_id = c.id), ''))
FROM customer c WHERE c.id IN :ids"""
).bindparams(bindparam("ids", expanding=True))


async def _search_rows_insert(session: AsyncSession, ids: list[int]) -> None:
    """Write the search-index rows of customers inserted while the gate was open."""
    if dialect(session) == "sqlite":
        await session.execute(_FTS_ROWS, {"ids": ids})
        return
    refresh = func.customer_trgm_refresh(_CUSTOMERS.c.id)
    await session.execute(select(func.count(refresh)).where(_CUSTOMERS.c.id.in_(ids)))


async def _new_values(
    session: AsyncSession, job: ImportJob, new: list[tuple[dict, RowCheck]], *, today: date
) -> list[dict]:
    """The new customers' columns as customer_create would store them, numbers not yet
    reserved (a read and CPU work only: no write lock needed)."""
    if not new:
        return []
    now = utcnow()
    cadence = await cadence_get(session)
    return [
        customer_insert_values(
            data=check.customer, number="", team_id=job.team_id, owner_id=check.owner_id,
            created_by=job.created_by, now=now,
            follow_up_on=next_follow_up(today, Level(check.customer.level), cadence),
        )
        for _out, check in new
        if check.customer is not None
    ]  # fmt: skip


async def _customers_insert(
    session: AsyncSession,
    job: ImportJob,
    new: list[tuple[dict, RowCheck]],
    values: list[dict],
    *,
    today: date,
    comment: str,
) -> None:
    """Create a batch's new customers as customer_create would, in a few bulk statements.

    One upsert reserves the batch's numbers, one multi-row Core INSERT stores the
    customers from the plain dicts of `_new_values` (returning their ids), then one each
    their contacts, their first stage history entry ("Imported from ...") and their audit
    events; the rows record what they created for undo and the report.
    """
    if not new:
        return
    now = values[0]["created_at"]
    numbers = await customer_numbers_reserve(
        session, year=today.year, month=today.month, count=len(new)
    )
    for v, number in zip(values, numbers, strict=True):
        v["number"] = number
    # The insert triggers would write each customer's search-index row, and its contact's
    # trigger the same row again: with the gate open they leave it, and the batch's rows
    # are written once, after the contacts (migration 0017).
    await session.execute(insert(_GATE), {"id": 1})
    # A plain executemany (one single-row statement, prepared once), then the ids by the
    # numbers just reserved: a multi-row INSERT ... RETURNING has a different text for each
    # batch's count of new customers, and SQLite keeps each compiled in its statement cache.
    await session.execute(insert(_CUSTOMERS), values)
    found = await session.execute(
        select(_CUSTOMERS.c.number, _CUSTOMERS.c.id).where(_CUSTOMERS.c.number.in_(numbers))
    )
    ids = dict(found.all())
    created = [
        (out, check, v, ids[v["number"]]) for (out, check), v in zip(new, values, strict=True)
    ]
    contacts = await _contacts_insert_many(
        session, [(cid, check.contact) for _o, check, _v, cid in created if check.contact], now
    )
    await _search_rows_insert(session, list(ids.values()))
    await session.execute(delete(_GATE))
    await session.execute(
        insert(StageChange.__table__),
        [
            {"customer_id": cid, "user_id": job.created_by, "at": now, "from_stage": None,
             "to_stage": v["stage"], "from_status": None, "to_status": v["status"],
             "reason": v["loss_reason"], "comment": comment}
            for _out, _check, v, cid in created
        ],
    )  # fmt: skip
    await audit_insert(
        session,
        [
            {"at": now, "actor_id": job.created_by, "action": "customer_created",
             "entity": "customer", "entity_id": cid,
             "detail": {"number": v["number"], "duplicate_confirmed": True}}
            for _out, _check, v, cid in created
        ] + [
            {"at": now, "actor_id": job.created_by, "action": "contact_added",
             "entity": "customer", "entity_id": cid, "detail": {"contact_id": contact_id}}
            for cid, contact_id in contacts
        ],
    )  # fmt: skip
    for out, _check, _v, cid in created:
        out["p_action"], out["p_customer"] = "created", cid


async def _contacts_insert(
    session: AsyncSession, people: list[tuple[int, ContactInput]], now: datetime
) -> list[tuple[int, int]]:
    """Add contacts to customers in one INSERT; (customer id, contact id) of each."""
    if not people:
        return []
    returned = await session.execute(
        insert(_CONTACTS).returning(_CONTACTS.c.customer_id, _CONTACTS.c.id),
        [_contact_values(cid, c, now) for cid, c in people],
    )
    return [(cid, contact_id) for cid, contact_id in returned]


async def _contacts_insert_many(
    session: AsyncSession, people: list[tuple[int, ContactInput]], now: datetime
) -> list[tuple[int, int]]:
    """Add the contacts of new customers (one each) by executemany; (customer id, contact
    id) of each, in insert order."""
    if not people:
        return []
    await session.execute(insert(_CONTACTS), [_contact_values(cid, c, now) for cid, c in people])
    found = await session.execute(
        select(_CONTACTS.c.customer_id, _CONTACTS.c.id)
        .where(_CONTACTS.c.customer_id.in_([cid for cid, _c in people]))
        .order_by(_CONTACTS.c.id)
    )
    return [(cid, contact_id) for cid, contact_id in found]


def _contact_values(customer_id: int, c: ContactInput, now: datetime) -> dict:
    """A contact row's columns."""
    return {"customer_id": customer_id, "name": c.name, "role": str(c.role), "phone": c.phone,
            "email": c.email, "note": c.note, "created_at": now, "updated_at": now}  # fmt: skip


async def _update_existing(session, job, out: dict, check: RowCheck, mode, definitions) -> None:
    """Apply a duplicate row to the existing customer per the job's mode (own team only)."""
    existing = await session.get(Customer, check.duplicate_of)
    out["p_customer"] = check.duplicate_of
    if existing is None or mode == DuplicateMode.SKIP:
        out["p_action"] = "skipped"
        return
    if existing.team_id != job.team_id:
        out["p_action"], out["p_reason"] = "skipped", json.dumps({"": MSG_OTHER_TEAM})
        return
    current = customer_values(existing, definitions)
    incoming = input_values(check.customer, definitions, owner_id=None)
    changes = update_changes(current, incoming, job.mapping, mode)
    contacts = await _contact_update(session, job, existing.id, check, mode)
    if not changes and not contacts:
        out["p_action"] = "skipped"
        return
    if changes:
        await customer_update(session, customer=existing, changes=changes, user_id=job.created_by)
    out["p_action"], out["p_contacts"] = "updated", contacts
    out["p_before"] = {k: current[k] for k in changes}


async def _contact_update(
    session: AsyncSession, job: ImportJob, customer_id: int, check: RowCheck, mode
) -> dict:
    """Add or fill the row's contact on an existing customer; what undo needs to reverse it.

    Returns {"added": [contact id]} or {"changed": {contact id: {field: earlier value}}},
    or {} when nothing changed.
    """
    if check.contact is None:
        return {}
    rows = await session.execute(
        select(Contact.id, Contact.name, Contact.phone, Contact.email, Contact.role, Contact.note)
        .where(Contact.customer_id == customer_id)
        .order_by(Contact.id)
    )
    existing = [r._asdict() for r in rows]
    change = contact_change(existing, check.contact, DuplicateMode(mode))
    if change.add:
        added = await _contacts_insert(session, [(customer_id, check.contact)], utcnow())
        await audit_insert(
            session,
            [{"at": utcnow(), "actor_id": job.created_by, "action": "contact_added",
              "entity": "customer", "entity_id": customer_id,
              "detail": {"contact_id": added[0][1]}}],
        )  # fmt: skip
        return {"added": [added[0][1]]}
    if not change.changes or change.contact_id is None:
        return {}
    before = next(c for c in existing if c["id"] == change.contact_id)
    await session.execute(
        update(Contact)
        .where(Contact.id == change.contact_id)
        .values(**change.changes, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    await audit_insert(
        session,
        [{"at": utcnow(), "actor_id": job.created_by, "action": "contact_updated",
          "entity": "customer", "entity_id": customer_id,
          "detail": {"contact_id": change.contact_id}}],
    )  # fmt: skip
    return {"changed": {str(change.contact_id): {k: before[k] for k in change.changes}}}


async def _contacts_restore(session: AsyncSession, done: dict) -> None:
    """Reverse what an update did to contacts: remove added ones, restore changed fields."""
    added = [int(i) for i in done.get("added", [])]
    if added:
        await session.execute(delete(Contact).where(Contact.id.in_(added)))
    for contact_id, before in (done.get("changed") or {}).items():
        await session.execute(
            update(Contact)
            .where(Contact.id == int(contact_id))
            .values(**{k: v for k, v in before.items() if k in _CONTACT_RESTORABLE})
            .execution_options(synchronize_session=False)
        )


_CONTACT_RESTORABLE = frozenset({"phone", "email", "role", "note"})


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
        await _contacts_restore(session, row.contacts or {})
    job.state = "undone"
    await audit_add(
        session, action="import_undone", actor_id=user_id, entity="import_job", entity_id=job.id,
        detail={"removed": len(ids)}, ip=ip,
    )  # fmt: skip
    await session.flush()
