"""Export: the customers of the current list filter and the visits of a date range, as files."""

from collections.abc import AsyncIterator, Mapping
from datetime import date, datetime, time, timedelta, tzinfo

from litestar import Controller, Request, get
from litestar.exceptions import PermissionDeniedException
from litestar.response import Stream, Template
from sqlalchemy import ColumnElement
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.customer_filter import filter_where
from db.exports import (
    customer_export_batches,
    customer_export_count,
    export_roles_get,
    visit_export_batches,
    visit_export_count,
)
from domain.customer_filter import filter_parse, filter_query
from domain.exports import FORMATS, export_allowed, parse_range
from domain.users import Actor
from web.core import labels
from web.core.client_ip import client_ip
from web.core.guards import require_user
from web.core.htmx import render
from web.core.i18n import gettext as _
from web.core.settings import Settings
from web.imports.writers import MEDIA, csv_stream, xlsx_stream


def list_filter(
    params: Mapping[str, str], *, actor: Actor, today: date, now: datetime, tz: tzinfo
) -> tuple[ColumnElement[bool], dict[str, str]]:
    """The customer list's WHERE clause for these query parameters, and the filter as a query.

    It is the list's own parse (domain/customer_filter.py) and query (db/customer_filter.py),
    visibility included, so an export always holds exactly what the list shows.
    """
    filt, _errors = filter_parse(params)
    return filter_where(actor, filt, today=today, now=now, tz=tz), filter_query(filt, page=1)


def _filter_params(params: Mapping[str, str]) -> dict[str, str]:
    """The list's filter as the list itself writes it (for the audit and the page's form)."""
    filt, _errors = filter_parse(params)
    return filter_query(filt, page=1)


def _customer_header() -> list[str]:
    """Column titles of the customer export, in the reader's language."""
    return [
        _("Number"), _("Name"), _("Kind"), _("Contact"), _("Phone"), _("Email"), _("Level"),
        _("Source"), _("Status"), _("Stage"), _("Owner"), _("Industry"), _("Address"),
        _("Tags"), _("Next follow-up"), _("Last visit"), _("Created"),
    ]  # fmt: skip


def _customer_cells(row: tuple) -> tuple:
    """Codes shown as their labels, like the customer page shows them."""
    r = list(row)
    r[2], r[6], r[7] = labels.kind(r[2]), labels.level(r[6]), labels.source(r[7])
    r[8], r[9] = labels.status(r[8]), labels.stage(r[9])
    return tuple(r)


def _visit_header() -> list[str]:
    """Column titles of the visit export."""
    return [
        _("Time"), _("Customer number"), _("Customer"), _("By"), _("Method"), _("Outcome"),
        _("Note"), _("Next action"), _("Amount"),
    ]  # fmt: skip


def _visit_cells(row: tuple) -> tuple:
    """The amount in yuan (a number a spreadsheet can add up)."""
    r = list(row)
    r[8] = None if r[8] is None else r[8] / 100
    return tuple(r)


class ExportController(Controller):
    """The export page and the two files it offers; who may export is an admin setting."""

    path = "/exports"
    guards = [require_user]

    async def _check(self, db: AsyncSession, actor: Actor) -> None:
        """Refuse (403) a user whose role may not export."""
        if not export_allowed(actor.role, await export_roles_get(db)):
            raise PermissionDeniedException()

    def _page(
        self, request: Request, today: date, values: dict, errors: dict, status: int = 200
    ) -> Template:
        """The export page: customers of the list filter, visits of a date range."""
        context = {
            "active": "customers",
            "filters": _filter_params(request.query_params),
            "formats": FORMATS,
            "values": {"start": (today - timedelta(days=29)).isoformat(), "end": today.isoformat()}
            | values,
            "errors": errors,
        }
        return render(request, "pages/imports/export.html", context, status_code=status)

    @get("/", name="exports.page")
    async def page(self, request: Request, db: AsyncSession, actor: Actor, today: date) -> Template:
        """Choose what to export."""
        await self._check(db, actor)
        return self._page(request, today, {}, {})

    @get("/customers", name="exports.customers")
    async def customers(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        today: date,
        now: datetime,
    ) -> Stream:
        """The visible customers of the list filter as XLSX or CSV; audited with the count."""
        await self._check(db, actor)
        fmt = _format(request)
        extra, shown = list_filter(
            request.query_params, actor=actor, today=today, now=now, tz=settings.tz
        )
        count = await customer_export_count(db, actor=actor, extra=extra)
        await _audit(request, db, actor, "export.customers", fmt, count, shown)

        async def batches(session: AsyncSession) -> AsyncIterator[list[tuple]]:
            async for batch in customer_export_batches(session, actor=actor, extra=extra):
                yield batch

        name = f"customers-{datetime.now(settings.tz):%Y%m%d}.{fmt}"
        return _stream(request, fmt, _("Customers"), _customer_header(), batches,
                       _customer_cells, settings, name)  # fmt: skip

    @get("/visits", name="exports.visits")
    async def visits(
        self, request: Request, db: AsyncSession, actor: Actor, settings: Settings, today: date
    ) -> Stream | Template:
        """The visible visits of a date range as XLSX or CSV; a wrong range re-shows the page."""
        await self._check(db, actor)
        raw = {k: request.query_params.get(k, "") for k in ("start", "end")}
        span, errors = parse_range(raw["start"], raw["end"], today=today)
        if span is None:
            shown = {k: _(v) for k, v in errors.items()}
            return self._page(request, today, raw, shown, 422)
        start = datetime.combine(span[0], time(), settings.tz)
        end = datetime.combine(span[1] + timedelta(days=1), time(), settings.tz)
        fmt = _format(request)
        count = await visit_export_count(db, actor=actor, start=start, end=end)
        detail = {"start": span[0].isoformat(), "end": span[1].isoformat()}
        await _audit(request, db, actor, "export.visits", fmt, count, detail)

        async def batches(session: AsyncSession) -> AsyncIterator[list[tuple]]:
            async for batch in visit_export_batches(session, actor=actor, start=start, end=end):
                yield batch

        name = f"visits-{span[0]:%Y%m%d}-{span[1]:%Y%m%d}.{fmt}"
        return _stream(request, fmt, _("Visits"), _visit_header(), batches, _visit_cells,
                       settings, name)  # fmt: skip


def _format(request: Request) -> str:
    """The file format asked for (XLSX unless CSV is named)."""
    return "csv" if request.query_params.get("format") == "csv" else "xlsx"


async def _audit(
    request: Request, db: AsyncSession, actor: Actor, action: str, fmt: str, rows: int, what: dict
) -> None:
    """Record who exported what and how many rows, committed before the file is sent."""
    detail = {"format": fmt, "rows": rows, "filter": what}
    await audit_add(db, action=action, actor_id=actor.id, detail=detail, ip=client_ip(request))
    await db.commit()


def _stream(request, fmt, title, header, batches, convert, settings, filename) -> Stream:
    """Stream the file from its own database session (the request's ends with the handler)."""
    sessionmaker = request.app.state.sessionmaker

    async def body() -> AsyncIterator[bytes]:
        async with sessionmaker() as session:
            rows = batches(session)
            if fmt == "csv":
                chunks = csv_stream(header, rows, convert, settings.tz)
            else:
                chunks = xlsx_stream(title, header, rows, convert, settings.tz)
            async for chunk in chunks:
                yield chunk

    return Stream(
        body(),
        media_type=MEDIA[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
