"""Privacy requests (PIPL Art. 44-50): register, find the person, copy, erase, answer."""

import asyncio
import json
from datetime import date, datetime

from litestar import Controller, Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.handlers import BaseRouteHandler
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.custom_fields import custom_field_defs, custom_field_list
from db.models import PrivacyRequest
from db.privacy import (
    ErasureRefused,
    customer_erase,
    data_basis_set,
    legal_hold_set,
    privacy_bundle,
    privacy_corrections,
    privacy_find,
    privacy_match_get,
    privacy_request_add,
    privacy_request_close,
    privacy_request_get,
    privacy_request_list,
    privacy_requests_overdue,
    privacy_scrub_files,
    privacy_settings_get,
    privacy_settings_set,
)
from domain.labels import DATA_BASES
from domain.privacy import (
    MAX_DUE_DAYS,
    MAX_RETENTION_DAYS,
    DataBasis,
    RequestStatus,
    can_handle_requests,
    days_validate,
    is_overdue,
    reason_validate,
    request_validate,
)
from domain.users import Actor
from pdf.privacy_copy import render_copy_pdf
from web.core import labels
from web.core.client_ip import client_ip
from web.core.forms import Form, field, fields
from web.core.guards import actor_of, require_user
from web.core.htmx import flash, render, see_other
from web.core.i18n import N_, catalogue, gettext
from web.core.settings import Settings

KIND_LABELS = {
    "access": N_("Access"),
    "copy": N_("Copy"),
    "correction": N_("Correction"),
    "deletion": N_("Deletion"),
}
CHANNEL_LABELS = {
    "phone": N_("Phone"),
    "email": N_("Email"),
    "in_person": N_("In person"),
    "letter": N_("Letter"),
    "other": N_("Other"),
}
STATUS_LABELS = {"open": N_("Open"), "answered": N_("Answered"), "refused": N_("Refused")}
BASIS_LABELS = DATA_BASES
# Messages of domain.privacy's validation, listed for translation.
MESSAGES = (
    N_("Enter who asked."),
    N_("Enter the phone number or name to look for."),
    N_("Choose how the request came in."),
    N_("Choose what the person asks for."),
    N_("Enter the day it was received (not in the future)."),
    N_("Enter a due date on or after the day received."),
    N_("State the reason."),
    N_("Enter a whole number of days from 1 to %(max)s."),
)
LABELS = {
    "kinds": KIND_LABELS,
    "channels": CHANNEL_LABELS,
    "statuses": STATUS_LABELS,
    "bases": BASIS_LABELS,
}


async def require_privacy_officer(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Let through the users who handle privacy requests."""
    await require_user(connection, handler)
    actor = actor_of(connection)
    if actor is None or not can_handle_requests(actor):
        raise PermissionDeniedException()


async def _request_or_404(db: AsyncSession, rid: int) -> PrivacyRequest:
    """The request, or 404."""
    req = await privacy_request_get(db, request_id=rid)
    if req is None:
        raise NotFoundException()
    return req


async def _list_context(db: AsyncSession, today: date, **extra) -> dict:
    """What the requests page shows."""
    s = await privacy_settings_get(db)
    requests = await privacy_request_list(db)
    return {
        "requests": requests,
        "overdue": {r.id for r in requests if is_overdue(r.due_on, r.status, today)},
        "settings": s,
        "values": {"received_on": today.isoformat()},
        "errors": {},
        "settings_errors": {},
        "settings_values": {},
        "max_due": MAX_DUE_DAYS,
        "max_keep": MAX_RETENTION_DAYS,
        **LABELS,
        **extra,
    }


async def _match_or_404(db: AsyncSession, cid: int):
    """The customer as a match, or 404."""
    match = await privacy_match_get(db, customer_id=cid)
    if match is None:
        raise NotFoundException()
    return match


async def _detail_context(db: AsyncSession, req: PrivacyRequest, q: str, **extra) -> dict:
    """What a request's page shows: the request and everything found about the person."""
    corrections = await privacy_corrections(db, request_id=req.id)
    definitions = custom_field_defs(await custom_field_list(db)) if corrections else []
    return {
        "req": req,
        "q": q,
        "matches": await privacy_find(db, q=q),
        "corrections": corrections,
        # The changed fields by their form labels, in the reader's language.
        "correction_fields": [
            labels.join(labels.field(name, definitions) for name in c.fields) for c in corrections
        ],
        "errors": {},
        **LABELS,
        **extra,
    }


class PrivacyRequestController(Controller):
    """The privacy requests register and the work on one request."""

    path = "/admin/privacy"
    guards = [require_privacy_officer]

    @get("/", name="privacy.requests")
    async def index(self, request: Request, db: AsyncSession, today: date) -> Template:
        """Every request, open ones first, with the register form and the periods."""
        return render(request, "pages/privacy/requests.html", await _list_context(db, today))

    @post("/", name="privacy.request_add")
    async def add(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        data: Form,
        today: date,
        now: datetime,
    ) -> Template | Redirect | Response:
        """Register a request; the due date defaults to the admin-set period."""
        s = await privacy_settings_get(db)
        parsed, errors = request_validate(fields(data), today=today, due_days=s.request_due_days)
        if parsed is None:
            context = await _list_context(db, today, values=fields(data), errors=errors)
            return render(request, "pages/privacy/requests.html", context, status_code=422)
        req = await privacy_request_add(db, data=parsed, actor_id=actor.id, now=now)
        await db.commit()
        flash(request, gettext("Request registered."))
        return see_other(request, request.app.route_reverse("privacy.request", rid=req.id))

    @get("/{rid:int}", name="privacy.request")
    async def detail(self, request: Request, db: AsyncSession, rid: int) -> Template:
        """The request and what Kehu holds about the person (searched by ?q= or its subject)."""
        req = await _request_or_404(db, rid)
        q = (request.query_params.get("q") or req.subject).strip()[:200]
        return render(request, "pages/privacy/request.html", await _detail_context(db, req, q))

    @post("/{rid:int}/close", name="privacy.request_close")
    async def close(
        self, request: Request, db: AsyncSession, actor: Actor, rid: int, data: Form, now: datetime
    ) -> Template | Redirect | Response:
        """Answer or refuse the request, with the stated reason."""
        req = await _request_or_404(db, rid)
        reason, error = reason_validate(field(data, "reason"))
        status = field(data, "status")
        if status not in (RequestStatus.ANSWERED, RequestStatus.REFUSED):
            error = error or N_("Choose an answer.")
        if error or reason is None:
            context = await _detail_context(db, req, req.subject, errors={"reason": error})
            return render(request, "pages/privacy/request.html", context, status_code=422)
        await privacy_request_close(
            db, req=req, status=RequestStatus(status), reason=reason, actor_id=actor.id, now=now
        )
        await db.commit()
        flash(request, gettext("Request closed."))
        return see_other(request, request.app.route_reverse("privacy.request", rid=rid))

    @get("/{rid:int}/copy/{cid:int}/json", name="privacy.copy_json")
    async def copy_json(
        self, request: Request, db: AsyncSession, actor: Actor, rid: int, cid: int
    ) -> Response:
        """The machine-readable copy of everything held about one matched customer."""
        await _request_or_404(db, rid)
        bundle = await privacy_bundle(db, customer_ids=[cid])
        if not bundle:
            raise NotFoundException()
        await _audit_copy(db, request, actor, rid, cid, "json")
        body = json.dumps({"request_id": rid, "records": bundle}, ensure_ascii=False, indent=2)
        return Response(
            content=body,
            media_type="application/json; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="kehu-copy-{rid}-{cid}.json"'},
        )

    @get("/{rid:int}/copy/{cid:int}/pdf", name="privacy.copy_pdf")
    async def copy_pdf(
        self, request: Request, db: AsyncSession, actor: Actor, rid: int, cid: int, now: datetime,
        settings: Settings,
    ) -> Response:  # fmt: skip
        """The readable copy as PDF, in the person's language (?lang=zh_CN or en)."""
        await _request_or_404(db, rid)
        bundle = await privacy_bundle(db, customer_ids=[cid])
        if not bundle:
            raise NotFoundException()
        locale = "en" if request.query_params.get("lang") == "en" else "zh_CN"
        table = catalogue(locale)
        when = now.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
        await _audit_copy(db, request, actor, rid, cid, "pdf")
        data = await asyncio.to_thread(
            render_copy_pdf, bundle, request_id=rid, when=when, locale=locale,
            _=lambda m: table.get(m, m),
        )  # fmt: skip
        return Response(
            content=data,
            media_type="application/pdf",
            headers={"Content-Disposition": f'attachment; filename="kehu-copy-{rid}-{cid}.pdf"'},
        )

    @get("/{rid:int}/erase/{cid:int}", name="privacy.erase_confirm")
    async def erase_confirm(
        self, request: Request, db: AsyncSession, rid: int, cid: int
    ) -> Template:
        """Ask for confirmation before an erasure that cannot be undone."""
        req = await _request_or_404(db, rid)
        context = {"req": req, "m": await _match_or_404(db, cid), "errors": {}}
        return render(request, "pages/privacy/erase.html", context)

    @post("/{rid:int}/erase/{cid:int}", name="privacy.erase")
    async def erase(
        self, request: Request, db: AsyncSession, actor: Actor, rid: int, cid: int, data: Form,
        now: datetime,
    ) -> Template | Redirect | Response:  # fmt: skip
        """Erase one matched customer; a legal hold refuses and the request records why."""
        req, match = await _request_or_404(db, rid), await _match_or_404(db, cid)
        if field(data, "confirm") != "yes":
            context = {
                "req": req,
                "m": match,
                "errors": {"confirm": N_("Tick the box to confirm.")},
            }
            return render(request, "pages/privacy/erase.html", context, status_code=422)
        try:
            await customer_erase(db, customer_id=cid, request_id=rid, actor_id=actor.id, now=now)
        except ErasureRefused as refused:
            await db.rollback()
            req = await _request_or_404(db, rid)  # the rollback expired it
            reason = gettext("Legal hold: %(reason)s", reason=refused.reason)
            await privacy_request_close(
                db, req=req, status=RequestStatus.REFUSED, reason=reason, actor_id=actor.id, now=now
            )
            await db.commit()
            flash(request, gettext("Not erased: the customer is under a legal hold."), "error")
            return see_other(request, request.app.route_reverse("privacy.request", rid=rid))
        await db.commit()
        await privacy_scrub_files(db)
        flash(request, gettext("Erased. The customer's personal data is gone."))
        return see_other(request, request.app.route_reverse("privacy.request", rid=rid))

    @post("/{rid:int}/customers/{cid:int}/hold", name="privacy.hold")
    async def hold(
        self, request: Request, db: AsyncSession, actor: Actor, rid: int, cid: int, data: Form,
        now: datetime,
    ) -> Redirect | Response:  # fmt: skip
        """Set (with a reason) or lift (empty reason) a customer's legal hold."""
        await _request_or_404(db, rid)
        reason = field(data, "reason")[:500] or None
        await legal_hold_set(db, customer_id=cid, reason=reason, actor_id=actor.id, now=now)
        await db.commit()
        flash(request, gettext("Legal hold saved."))
        return see_other(request, request.app.route_reverse("privacy.request", rid=rid))

    @post("/{rid:int}/customers/{cid:int}/basis", name="privacy.basis")
    async def basis(
        self, request: Request, db: AsyncSession, actor: Actor, rid: int, cid: int, data: Form
    ) -> Redirect | Response:
        """Record the basis for holding a customer's data (contract, consent with date...)."""
        await _request_or_404(db, rid)
        raw = field(data, "basis")
        basis = raw if raw in {b.value for b in DataBasis} else ""
        try:
            on = date.fromisoformat(field(data, "basis_on")) if field(data, "basis_on") else None
        except ValueError:
            on = None
        await data_basis_set(db, customer_id=cid, basis=basis, basis_on=on, actor_id=actor.id)
        await db.commit()
        flash(request, gettext("Basis saved."))
        return see_other(request, request.app.route_reverse("privacy.request", rid=rid))

    @post("/settings", name="privacy.settings")
    async def save_settings(
        self, request: Request, db: AsyncSession, actor: Actor, data: Form, today: date
    ) -> Template | Redirect | Response:
        """Store the default answer period and how long visit locations are kept."""
        due = days_validate(field(data, "due_days"), upper=MAX_DUE_DAYS)
        keep = days_validate(field(data, "retention_days"), upper=MAX_RETENTION_DAYS)
        if due is None or keep is None:
            errors = {"due_days": due is None, "retention_days": keep is None}
            values = fields(data)
            context = await _list_context(db, today, settings_errors=errors, settings_values=values)
            return render(request, "pages/privacy/requests.html", context, status_code=422)
        await privacy_settings_set(db, due_days=due, retention_days=keep, actor_id=actor.id)
        await db.commit()
        flash(request, gettext("Privacy periods saved."))
        return see_other(request, request.app.route_reverse("privacy.requests"))

    @get("/overdue", name="privacy.overdue")
    async def overdue(self, request: Request, db: AsyncSession, today: date) -> Template:
        """The overdue requests for the admin's Today (a fragment; a page without HTMX)."""
        context = {"overdue_requests": await privacy_requests_overdue(db, today=today)}
        page = "pages/privacy/overdue.html"
        return render(request, page, context, partial="partials/privacy/overdue.html")


async def _audit_copy(
    db: AsyncSession, request: Request, actor: Actor, rid: int, cid: int, fmt: str
) -> None:
    """A copy handed out is an export: audited, and committed before the bytes leave."""
    await audit_add(
        db,
        action="privacy_copy_exported",
        actor_id=actor.id,
        entity="customer",
        entity_id=cid,
        detail={"request_id": rid, "format": fmt},
        ip=client_ip(request),
    )
    await db.commit()
