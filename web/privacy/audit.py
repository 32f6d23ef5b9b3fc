"""The audit log page: every event, filtered, paged and exportable (admins; managers: team)."""

import csv
import io
import json
from datetime import date
from typing import Any

from litestar import Controller, Request, Response, get
from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.audit_log import AuditFilter, audit_actions, audit_export, audit_page, audit_user_choices
from domain.privacy import can_read_audit
from domain.users import Actor
from web.core.client_ip import client_ip
from web.core.guards import actor_of, require_user
from web.core.htmx import render
from web.core.settings import Settings

MAX_PAGE = 10_000
# Spreadsheet programs run cells that start with these as formulas.
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


async def require_audit_reader(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Let admins and managers through."""
    await require_user(connection, handler)
    actor = actor_of(connection)
    if actor is None or not can_read_audit(actor):
        raise PermissionDeniedException()


def _int(raw: str | None, upper: int = 2**62) -> int | None:
    """A positive whole number from a query parameter, or None."""
    raw = (raw or "").strip()
    return int(raw) if raw.isdigit() and 0 < int(raw) <= upper else None


def _day(raw: str | None) -> date | None:
    """An ISO day from a query parameter, or None."""
    try:
        return date.fromisoformat((raw or "").strip())
    except ValueError:
        return None


def parse_filter(params: Any) -> AuditFilter:
    """The filter of the page's query string; malformed values are ignored, never a 500."""
    action = (params.get("action") or "").strip()[:64] or None
    return AuditFilter(
        user_id=_int(params.get("user")),
        customer_id=_int(params.get("customer")),
        action=action,
        since=_day(params.get("since")),
        until=_day(params.get("until")),
    )


def _cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA) else text


def show_value(value: object) -> str:
    """A detail value as readable text (nested values as JSON with Chinese kept)."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return "" if value is None else str(value)


def filter_query(f: AuditFilter) -> dict[str, str]:
    """The filter as query parameters (for links to other pages and the export)."""
    pairs = {
        "user": f.user_id,
        "customer": f.customer_id,
        "action": f.action,
        "since": f.since.isoformat() if f.since else None,
        "until": f.until.isoformat() if f.until else None,
    }
    return {k: str(v) for k, v in pairs.items() if v is not None}


class AuditLogController(Controller):
    """The audit log page and its CSV export."""

    path = "/admin/audit"
    guards = [require_audit_reader]

    @get("/", name="audit.log")
    async def page(
        self, request: Request, db: AsyncSession, actor: Actor, settings: Settings
    ) -> Template:
        """One page of events, newest first; HTMX filter changes get the table only."""
        f = parse_filter(request.query_params)
        page = _int(request.query_params.get("page"), MAX_PAGE) or 1
        rows, more = await audit_page(db, actor=actor, filters=f, page=page, tz=settings.tz)
        context = {
            "rows": rows,
            "more": more,
            "page": page,
            "filter": f,
            "query": filter_query(f),
            "actions": await audit_actions(db),
            "users": await audit_user_choices(db, actor=actor),
            "show": show_value,
        }
        return render(
            request,
            "pages/privacy/audit.html",
            context,
            partial="partials/privacy/audit_table.html",
        )

    @get("/export.csv", name="audit.export")
    async def export(
        self, request: Request, db: AsyncSession, actor: Actor, settings: Settings
    ) -> Response:
        """The filtered events as CSV; the export itself is an audited event."""
        f = parse_filter(request.query_params)
        rows = await audit_export(db, actor=actor, filters=f, tz=settings.tz)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(["id", "at", "user", "action", "entity", "entity_id", "detail", "ip"])
        for r in rows:
            cells = (r.id, r.at.isoformat(), r.actor_name, r.action, r.entity, r.entity_id)
            detail = json.dumps(r.detail, ensure_ascii=False)
            writer.writerow([_cell(c) for c in (*cells, detail, r.ip)])
        await audit_add(
            db,
            action="audit_exported",
            actor_id=actor.id,
            entity="audit_event",
            detail={"filter": filter_query(f), "rows": len(rows)},
            ip=client_ip(request),
        )
        await db.commit()
        return Response(
            content="\ufeff" + out.getvalue(),  # a BOM: Excel opens Chinese CSV as UTF-8
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": 'attachment; filename="audit-log.csv"'},
        )
