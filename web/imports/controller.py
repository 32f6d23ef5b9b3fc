"""Import: upload a spreadsheet, map its columns, preview every row's verdict."""

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

from litestar import Controller, Request, get, post
from litestar.datastructures import UploadFile
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Stream, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.custom_fields import custom_field_defs, custom_field_list
from db.customers import customer_team_choices
from db.imports import (
    import_context,
    import_job_create,
    import_job_get,
    import_job_replace_rows,
    import_job_start,
    import_mapping_find,
    import_mapping_save,
    import_max_upload_mb_get,
    import_roles_get,
    import_rows_check,
    import_rows_not_imported,
    import_rows_page,
    import_summary,
    import_totals,
    import_undo,
    import_undo_blockers,
)
from db.models import ImportJob
from domain.customers import CustomFieldDef
from domain.enums import Role
from domain.exports import export_allowed
from domain.imports import (
    MAX_UPLOAD_MB,
    MSG_NO_NAME_COLUMN,
    MSG_UNDO_EXPIRED,
    MSG_UNDO_VISITED,
    TARGETS,
    UNDO_DAYS,
    DuplicateMode,
    Verdict,
    guess_mapping,
    header_key,
    headers_signature,
)
from domain.labels import CONTACT_ROLES, SOURCES
from domain.users import Actor
from web.core import labels
from web.core.client_ip import client_ip
from web.core.forms import Form, field
from web.core.guards import require_user
from web.core.htmx import flash, render, see_other
from web.core.i18n import N_, catalogue
from web.core.i18n import gettext as _
from web.core.settings import Settings
from web.imports import jobs
from web.imports.reader import MSG_TOO_LARGE, FileProblem, open_table
from web.imports.writers import MEDIA, xlsx_stream

MSG_CHOOSE_FILE = N_("Choose a file to upload.")
MSG_CHOOSE_TEAM = N_("Choose the team the customers join.")
MSG_FILE_ERASED = N_("The uploaded file was erased; upload it again to read another sheet.")
MESSAGES = (MSG_CHOOSE_FILE, MSG_CHOOSE_TEAM, MSG_FILE_ERASED)
MB = 1024 * 1024
# Room for the form's other fields around a file of the largest limit an admin may set;
# the admin's own limit is checked in the handler, from Content-Length before the body
# is read when the client sends one.
FORM_ROOM = 64 * 1024
UPLOAD_LIMIT = MAX_UPLOAD_MB * MB + FORM_ROOM
# The columns that fill a contact's fields (contact_name is the main contact's field).
CONTACT_LABELS = {
    "contact_phone": N_("Contact's phone"),
    "contact_email": N_("Contact's email"),
    "contact_role": N_("Contact's decision role"),
    "contact_title": N_("Contact's title"),
}
VERDICT_LABELS = {
    Verdict.NEW: N_("New"),
    Verdict.DUPLICATE: N_("Duplicate of a customer"),
    Verdict.DUPLICATE_IN_FILE: N_("Duplicate of an earlier row"),
    Verdict.ERROR: N_("Error"),
}
MODE_LABELS = {
    DuplicateMode.SKIP: N_("Skip them"),
    DuplicateMode.FILL_EMPTY: N_("Fill their empty fields only"),
    DuplicateMode.OVERWRITE: N_("Overwrite their fields"),
}


async def _definitions(db: AsyncSession) -> list[CustomFieldDef]:
    """The active custom fields a column can fill."""
    return custom_field_defs(await custom_field_list(db))


def _custom_labels(definitions: list[CustomFieldDef]) -> dict[str, str]:
    """Both labels of each custom field -> its input name, for guessing columns."""
    found = {}
    for d in definitions:
        for label in (d.label_zh, d.label_en, d.key):
            if label:
                found[label] = d.input_name
    return found


def _display_names(table: dict[str, str]) -> dict[str, str]:
    """Every code's display name in both languages -> its code."""
    zh = catalogue("zh_CN")
    names = {}
    for code, msgid in table.items():
        names[header_key(msgid)] = str(code)
        names[header_key(zh.get(msgid, msgid))] = str(code)
    return names


def _source_names() -> dict[str, str]:
    """Every source's display name in both languages -> its code."""
    return _display_names(SOURCES)


def _role_names() -> dict[str, str]:
    """Every contact role's display name in both languages -> its code."""
    return _display_names(CONTACT_ROLES)


def target_label(target: str, definitions: list[CustomFieldDef]) -> str:
    """The name a column's select shows for a field."""
    if target == "owner":
        return labels.field("owner_id")
    if target in CONTACT_LABELS:
        return _(CONTACT_LABELS[target])
    return labels.field(target, definitions)


def _too_large(request: Request, limit_mb: int) -> bool:
    """Whether the request says (Content-Length) it is larger than the limit allows."""
    raw = request.headers.get("content-length", "")
    return raw.isdigit() and int(raw) > limit_mb * MB + FORM_ROOM


async def _may_import(db: AsyncSession, actor: Actor) -> None:
    """Refuse (403) a user whose role may not import."""
    if not export_allowed(actor.role, await import_roles_get(db)):
        raise PermissionDeniedException()


async def _job_or_404(db: AsyncSession, actor: Actor, job_id: int) -> ImportJob:
    """The actor's own import (admins: any), else 404."""
    job = await import_job_get(db, actor=actor, job_id=job_id)
    if job is None:
        raise NotFoundException()
    return job


async def _guess(db: AsyncSession, headers: list[str], definitions) -> list[str]:
    """The saved mapping for these headers, else the guess from their names."""
    saved = await import_mapping_find(db, signature=headers_signature(headers))
    if saved is not None and len(saved) == len(headers):
        return saved
    return guess_mapping(headers, _custom_labels(definitions))


async def _context(db: AsyncSession, job: ImportJob, definitions: list[CustomFieldDef]):
    """What checking the job's rows needs to know (owners, customers, names of codes)."""
    return await import_context(
        db, team_id=job.team_id, source_names=_source_names(), custom_fields=definitions,
        role_names=_role_names(),
    )  # fmt: skip


class ImportController(Controller):
    """Upload → mapping → preview; who may import is an admin setting per role."""

    path = "/imports"
    guards = [require_user]

    async def _upload_page(
        self, request: Request, db: AsyncSession, actor: Actor, errors: dict, status: int = 200
    ) -> Template:
        """The upload form (admins also choose the team the customers join)."""
        teams = await customer_team_choices(db) if actor.role == Role.ADMIN else []
        context = {"active": "customers", "teams": teams, "errors": errors,
                   "max_mb": await import_max_upload_mb_get(db)}  # fmt: skip
        return render(request, "pages/imports/upload.html", context, status_code=status)

    @get("/new", name="imports.new")
    async def new(self, request: Request, db: AsyncSession, actor: Actor) -> Template:
        """Choose a file to import."""
        await _may_import(db, actor)
        return await self._upload_page(request, db, actor, {})

    @post("/", name="imports.upload", request_max_body_size=UPLOAD_LIMIT)
    async def upload(self, request: Request, db: AsyncSession, actor: Actor) -> Template | Redirect:
        """Read the file; nothing is written unless it is a spreadsheet with a header row."""
        await _may_import(db, actor)
        limit = await import_max_upload_mb_get(db)
        if _too_large(request, limit):
            # Refused before the body is read: one sentence, nothing written.
            errors = {"file": _(MSG_TOO_LARGE, mb=limit)}
            return await self._upload_page(request, db, actor, errors, 422)
        form = await request.form()
        upload = form.get("file")
        team_id, errors = await self._team(db, actor, form.get("team_id"))
        if not isinstance(upload, UploadFile) or not upload.filename:
            errors["file"] = _(MSG_CHOOSE_FILE)
            return await self._upload_page(request, db, actor, errors, 422)
        data = await upload.read()
        try:
            table = open_table(data, upload.filename, max_bytes=limit * MB)
        except FileProblem as problem:
            errors["file"] = _(problem.message, **problem.values)
        if errors or team_id is None:
            return await self._upload_page(request, db, actor, errors, 422)
        mapping = await _guess(db, table.headers, await _definitions(db))
        job = await import_job_create(
            db, user_id=actor.id, team_id=team_id, filename=upload.filename, data=data,
            sheets=table.sheets, sheet=table.sheet, headers=table.headers, rows=table.rows,
            mapping=mapping,
        )  # fmt: skip
        await db.commit()
        return see_other(request, request.app.route_reverse("imports.mapping", job_id=job.id))

    async def _team(self, db: AsyncSession, actor: Actor, raw: object) -> tuple[int | None, dict]:
        """The team the customers join: the importer's own, or the one an admin chose."""
        if actor.role != Role.ADMIN:
            if actor.team_id is None:
                return None, {"team_id": _(MSG_CHOOSE_TEAM)}
            return actor.team_id, {}
        teams = {str(tid): tid for tid, _name in await customer_team_choices(db)}
        chosen = teams.get(raw if isinstance(raw, str) else "")
        return (chosen, {}) if chosen else (None, {"team_id": _(MSG_CHOOSE_TEAM)})

    async def _mapping_page(
        self, request: Request, db: AsyncSession, job: ImportJob, errors: dict, status: int = 200
    ) -> Template:
        """One select per column, with the first values of the column to recognise it."""
        definitions = await _definitions(db)
        sample, _more = await import_rows_page(db, job_id=job.id, verdict=None, page=1)
        choices = [("", _("Do not import"))] + [
            (t, target_label(t, definitions))
            for t in (*TARGETS, *(d.input_name for d in definitions))
        ]
        columns = [
            {"index": i, "header": h, "target": job.mapping[i] if i < len(job.mapping) else "",
             "samples": [r.cells[i] for r in sample[:3] if i < len(r.cells) and r.cells[i]]}
            for i, h in enumerate(job.headers)
        ]  # fmt: skip
        context = {
            "active": "customers", "job": job, "columns": columns, "choices": choices,
            "modes": [(m.value, _(label)) for m, label in MODE_LABELS.items()], "errors": errors,
        }  # fmt: skip
        return render(request, "pages/imports/mapping.html", context, status_code=status)

    @get("/{job_id:int}", name="imports.mapping")
    async def mapping(
        self, request: Request, db: AsyncSession, actor: Actor, job_id: int
    ) -> Template:
        """The guessed (or saved) mapping, to correct before the preview."""
        await _may_import(db, actor)
        return await self._mapping_page(request, db, await _job_or_404(db, actor, job_id), {})

    @post("/{job_id:int}/mapping", name="imports.mapping_save")
    async def mapping_save(
        self, request: Request, db: AsyncSession, actor: Actor, job_id: int, data: Form
    ) -> Template | Redirect:
        """Store the mapping, check every row under it, and show the preview."""
        await _may_import(db, actor)
        job = await _job_or_404(db, actor, job_id)
        if job.state not in ("draft", "checked"):
            return see_other(request, request.app.route_reverse("imports.preview", job_id=job.id))
        sheet = field(data, "sheet")
        if sheet and sheet != job.sheet and sheet in job.sheets:
            return await self._switch_sheet(request, db, job, sheet)
        definitions = await _definitions(db)
        allowed = {*TARGETS, *(d.input_name for d in definitions)}
        mapping = [field(data, f"col_{i}") for i in range(len(job.headers))]
        mapping = [m if m in allowed else "" for m in mapping]
        seen: set[str] = set()
        mapping = [m if m not in seen and not seen.add(m) else "" for m in mapping]
        job.mapping = mapping
        mode = field(data, "duplicate_mode")
        job.duplicate_mode = mode if mode in set(DuplicateMode) else DuplicateMode.SKIP.value
        if "name" not in mapping:
            return await self._mapping_page(
                request, db, job, {"mapping": _(MSG_NO_NAME_COLUMN)}, 422
            )
        if field(data, "save_mapping"):
            await import_mapping_save(
                db, signature=headers_signature(job.headers), mapping=mapping, user_id=actor.id
            )
        await import_rows_check(db, job=job, ctx=await _context(db, job, definitions))
        await db.commit()
        return see_other(request, request.app.route_reverse("imports.preview", job_id=job.id))

    async def _switch_sheet(
        self, request: Request, db: AsyncSession, job: ImportJob, sheet: str
    ) -> Template | Redirect:
        """Read another sheet of the workbook and map it afresh."""
        if job.file_erased:
            return await self._mapping_page(request, db, job, {"sheet": _(MSG_FILE_ERASED)}, 422)
        try:
            table = open_table(job.file, job.filename, sheet=sheet, max_bytes=len(job.file))
        except FileProblem as problem:
            message = _(problem.message, **problem.values)
            return await self._mapping_page(request, db, job, {"sheet": message}, 422)
        mapping = await _guess(db, table.headers, await _definitions(db))
        await import_job_replace_rows(
            db, job=job, sheet=sheet, headers=table.headers, rows=table.rows, mapping=mapping
        )
        await db.commit()
        return see_other(request, request.app.route_reverse("imports.mapping", job_id=job.id))

    @get("/{job_id:int}/preview", name="imports.preview")
    async def preview(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        job_id: int,
        verdict: str | None = None,
        page: int = 1,
    ) -> Template | Redirect:
        """Every row's verdict with the totals, filtered by verdict; nothing is written yet."""
        await _may_import(db, actor)
        job = await _job_or_404(db, actor, job_id)
        if job.state == "draft":
            return see_other(request, request.app.route_reverse("imports.mapping", job_id=job.id))
        chosen = verdict if verdict in set(Verdict) else None
        rows, more = await import_rows_page(db, job_id=job.id, verdict=chosen, page=page)
        definitions = await _definitions(db)
        context = {
            "active": "customers", "job": job, "rows": rows, "more": more, "page": max(1, page),
            "verdict": chosen, "totals": await import_totals(db, job_id=job.id),
            "verdict_labels": {v.value: _(label) for v, label in VERDICT_LABELS.items()},
            "reasons": {r.id: _reasons(r.reason, definitions) for r in rows if r.reason},
            "name_at": job.mapping.index("name") if "name" in job.mapping else 0,
            "phone_at": job.mapping.index("phone") if "phone" in job.mapping else None,
            "mode_label": _(MODE_LABELS[DuplicateMode(job.duplicate_mode)]),
        }  # fmt: skip
        return render(request, "pages/imports/preview.html", context)


def _reasons(stored: str, definitions: list[CustomFieldDef]) -> list[str]:
    """A row's stored errors as "Field: message" sentences in the reader's language."""
    try:
        errors = json.loads(stored)
    except ValueError:
        return []
    return [f"{target_label(k, definitions)}: {_(v)}" for k, v in errors.items()]


_ACTION_LABELS = {
    "skipped": N_("Skipped"),
    "failed": N_("Not imported"),
}
MSG_NOT_READY = N_("Preview the import before you run it.")
MSG_UNDO_DONE = N_("The import was undone.")
MSG_IMPORTED_FROM = N_("Imported from %(file)s, %(date)s")


def _row_reason(row, definitions: list[CustomFieldDef]) -> str:
    """Why a row was not imported, in the reader's language."""
    if row.verdict == Verdict.DUPLICATE and not row.reason:
        return _("Duplicate of a customer")
    if row.verdict == Verdict.DUPLICATE_IN_FILE:
        return _("Same as line %(line)s", line=row.duplicate_of)
    parts = []
    for k, v in (json.loads(row.reason) if row.reason else {}).items():
        parts.append(f"{target_label(k, definitions)}: {_(v)}" if k else _(v))
    return "; ".join(parts)


async def _blockers(db: AsyncSession, job: ImportJob) -> list[tuple]:
    """The created customers with visits since (what refuses the undo)."""
    return [] if job.state == "undone" else await import_undo_blockers(db, job_id=job.id)


def undo_refusal(job: ImportJob, now: datetime) -> str | None:
    """Why this job cannot be undone now (None: it can, visits aside)."""
    if job.state not in ("done", "stopped"):
        return _(MSG_NOT_READY)
    if job.finished_at is None or now - job.finished_at > timedelta(days=UNDO_DAYS):
        return _(MSG_UNDO_EXPIRED)
    return None


class ImportRunController(Controller):
    """Run an import in the background, follow its progress, get its report, undo it."""

    path = "/imports"
    guards = [require_user]

    @post("/{job_id:int}/run", name="imports.run")
    async def run(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        job_id: int,
        now: datetime,
        settings: Settings,
    ) -> Redirect:
        """Start the job (once); the progress page follows it."""
        await _may_import(db, actor)
        job = await _job_or_404(db, actor, job_id)
        progress = request.app.route_reverse("imports.progress", job_id=job.id)
        if job.state != "checked":
            return see_other(request, progress)
        local = now.astimezone(settings.tz).date()
        comment = _(MSG_IMPORTED_FROM, file=job.filename, date=local.isoformat())
        await import_job_start(db, job=job, now=now)
        await db.commit()
        jobs.start(
            request.app.state.sessionmaker, job.id, today=local, comment=comment,
            source_names=_source_names(), role_names=_role_names(),
        )  # fmt: skip
        return see_other(request, progress)

    @get("/{job_id:int}/progress", name="imports.progress")
    async def progress(
        self, request: Request, db: AsyncSession, actor: Actor, job_id: int, now: datetime
    ) -> Template:
        """Rows done of the total and the time left, then the summary; HTMX polls the bar."""
        await _may_import(db, actor)
        job = await _job_or_404(db, actor, job_id)
        left = None
        if job.state == "running" and job.started_at and job.done:
            elapsed = (now - job.started_at).total_seconds()
            left = int(elapsed / job.done * (job.total - job.done)) + 1
        context = {
            "active": "customers", "job": job, "seconds_left": left,
            "summary": await import_summary(db, job_id=job.id),
            "undo_refusal": undo_refusal(job, now),
            "blockers": await _blockers(db, job),
            "error_text": _(job.error) if job.error else "",
        }  # fmt: skip
        return render(
            request,
            "pages/imports/progress.html",
            context,
            partial="partials/imports/progress.html",
        )

    @get("/{job_id:int}/report", name="imports.report")
    async def report(
        self, request: Request, db: AsyncSession, actor: Actor, job_id: int, settings: Settings
    ) -> Stream:
        """The rows not imported as XLSX, with the reason in the first column."""
        await _may_import(db, actor)
        job = await _job_or_404(db, actor, job_id)
        definitions = await _definitions(db)
        sessionmaker = request.app.state.sessionmaker
        # The request's session ends with the handler: the stream reads with its own.
        job_id, header = job.id, [_("Reason"), _("Line"), *job.headers]

        async def batches() -> AsyncIterator[list[tuple]]:
            async with sessionmaker() as session:
                after = 0
                while rows := await import_rows_not_imported(
                    session, job_id=job_id, after_line=after
                ):
                    yield [(_row_reason(r, definitions), r.line, *r.cells) for r in rows]
                    after = rows[-1].line

        return Stream(
            xlsx_stream(_("Not imported"), header, batches(), tuple, settings.tz),
            media_type=MEDIA["xlsx"],
            headers={"Content-Disposition": f'attachment; filename="import-{job_id}-report.xlsx"'},
        )

    @post("/{job_id:int}/undo", name="imports.undo")
    async def undo(
        self, request: Request, db: AsyncSession, actor: Actor, job_id: int, now: datetime
    ) -> Template | Redirect:
        """Remove what the import created and restore what it changed, unless refused."""
        await _may_import(db, actor)
        job = await _job_or_404(db, actor, job_id)
        progress = request.app.route_reverse("imports.progress", job_id=job.id)
        refusal = undo_refusal(job, now)
        if refusal is None and await import_undo_blockers(db, job_id=job.id):
            refusal = _(MSG_UNDO_VISITED)
        if refusal is not None:
            flash(request, refusal)
            return see_other(request, progress)
        await import_undo(db, job=job, user_id=actor.id, ip=client_ip(request))
        await db.commit()
        flash(request, _(MSG_UNDO_DONE))
        return see_other(request, progress)
