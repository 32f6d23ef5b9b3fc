"""Visits: record in two taps (idempotent), undo, add details, and the no-JS fallback."""

import uuid
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Customer
from db.outcomes import outcome_list
from db.visibility import customer_get_visible
from db.visits import (
    CustomerNotVisible,
    KeyReused,
    NotYours,
    OutcomeUnknown,
    Recorded,
    UndoTooLate,
    VisitError,
    VisitNotVisible,
    VisitTarget,
    VisitView,
    visit_get_visible,
    visit_record,
    visit_set_amount,
    visit_undo,
    visit_update_details,
    visit_view,
)
from domain.labels import MILESTONES
from domain.users import Actor
from domain.visits import (
    amount_input_value,
    amount_parse,
    can_edit_visit,
    device_time_read,
    idempotency_key_valid,
    location_parse,
    visit_details_validate,
)
from web.core.client_ip import client_ip
from web.core.errors import PublicError
from web.core.forms import Form, field, fields
from web.core.guards import require_user
from web.core.htmx import flash, fragment_or_redirect, is_fragment_request, render, see_other
from web.core.i18n import N_
from web.core.i18n import gettext as _
from web.core.settings import Settings
from web.visits.panel import VisitRow, note_view, timeline_panel, visit_panel_context, visit_rows

# Fired on the page after a visit is saved, undone or given an amount, so other regions
# (the customer's "Next follow-up", the counter's store history) refresh themselves:
# hx-trigger="visitsChanged from:body".
CHANGED = "visitsChanged"
ITEM = "partials/visits/item.html"

# What a refused visit command answers (the 404s carry no message).
_REFUSALS: dict[type[VisitError], tuple[int, str]] = {
    OutcomeUnknown: (400, N_("This outcome is no longer offered. Reload the page and try again.")),
    KeyReused: (409, N_("This form was already used. Reload the page and try again.")),
    NotYours: (403, N_("Only the person who recorded a visit can undo it.")),
}


class BadKey(Exception):
    """The client's idempotency key is not one of ours."""


async def record_from_form(
    request: Request,
    db: AsyncSession,
    *,
    actor: Actor,
    settings: Settings,
    now: datetime,
    customer_id: int,
    data: Form,
) -> Recorded:
    """Record the visit a form (the outcome sheet, or the phone's outbox) describes.

    Raise BadKey or a VisitError; the caller commits.
    """
    key = field(data, "idempotency_key") or uuid.uuid4().hex
    if not idempotency_key_valid(key):
        raise BadKey()
    return await visit_record(
        db,
        actor=actor,
        customer_id=customer_id,
        outcome=field(data, "outcome"),
        key=key,
        tz=settings.tz,
        where=location_parse(data.get("lat"), data.get("lng"), data.get("accuracy")),
        device_at=device_time_read(data.get("device_at")),
        fix_at=device_time_read(data.get("fix_at")),
        now=now,
        ip=client_ip(request),
    )


def _refused(exc: VisitError) -> Exception:
    """The HTTP error for a refused visit command."""
    if isinstance(exc, CustomerNotVisible | VisitNotVisible):
        return NotFoundException()
    status, message = _REFUSALS[type(exc)]
    return PublicError(status, _(message))


def _customer_url(request: Request, customer_id: int) -> str:
    """The customer page, where every visit command leads back to without JavaScript."""
    return request.app.route_reverse("customers.detail", customer_id=customer_id)


async def _visible_customer(db: AsyncSession, actor: Actor, customer_id: int) -> Customer:
    """Return a customer the actor may see, or answer 404."""
    customer = await customer_get_visible(db, actor=actor, customer_id=customer_id)
    if customer is None:
        raise NotFoundException()
    return customer


async def _visible_visit(db: AsyncSession, actor: Actor, visit_id: int) -> VisitTarget:
    """Return a visit on a customer the actor may see, or answer 404."""
    target = await visit_get_visible(db, actor=actor, visit_id=visit_id)
    if target is None:
        raise NotFoundException()
    return target


async def _editable(db: AsyncSession, actor: Actor, visit_id: int) -> VisitTarget:
    """Return a visit the actor may see and change, or answer 404 / 403."""
    target = await _visible_visit(db, actor, visit_id)
    if not can_edit_visit(actor, author_id=target.visit.user_id):
        raise PermissionDeniedException()
    return target


def _row(view: VisitView, actor: Actor, now: datetime, **kw) -> VisitRow:
    """One timeline row for a single visit."""
    row = visit_rows([view], actor=actor, now=now)[0]
    return replace(row, **kw) if kw else row


def _form_values(view: VisitView) -> dict[str, str]:
    """The details form filled from a stored visit."""
    return {
        "note": view.note,
        "feedback": view.feedback,
        "next_action": view.next_action,
        "next_action_due": view.next_action_due.isoformat() if view.next_action_due else "",
        "milestone": view.milestone or "",
        "amount": amount_input_value(view.amount_cents),
    }


def _item_loader(
    db: AsyncSession, actor: Actor, now: datetime, visit_id: int
) -> Callable[[], Awaitable[dict]]:
    """Load one visit's timeline row as it is now (the fragment after a change)."""

    async def load() -> dict:
        return {"row": _row(await visit_view(db, visit_id=visit_id), actor, now)}

    return load


async def _done(
    request: Request,
    partial: str,
    load: Callable[[], Awaitable[dict]],
    *,
    customer_id: int,
    message: str,
    trigger: str | None = None,
) -> Template | Redirect | Response:
    """Answer a visit command: HTMX gets the changed fragment (loaded only then); a plain
    form goes back to the customer page with `message`."""
    url = _customer_url(request, customer_id)
    if not is_fragment_request(request):
        if message:
            flash(request, message)
        return see_other(request, url)
    return fragment_or_redirect(request, partial, await load(), page_url=url, trigger=trigger)


def _details_form(
    request: Request,
    view: VisitView,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
) -> Template:
    """Render the details form inline in the timeline (HTMX) or as a page of its own."""
    context = {
        "view": view,
        "values": values,
        "errors": errors,
        "milestones": MILESTONES,
        "inline": is_fragment_request(request),
    }
    return render(
        request,
        "pages/visits/edit.html",
        context,
        partial="partials/visits/form.html",
        status_code=status_code,
    )


async def _amount_refused(
    request: Request,
    db: AsyncSession,
    actor: Actor,
    now: datetime,
    visit_id: int,
    raw: str,
    error: str,
) -> Template:
    """422: the amount field again with its message (inline), or the details form page."""
    view = await visit_view(db, visit_id=visit_id)
    if not is_fragment_request(request):
        values = _form_values(view) | {"amount": raw}
        return _details_form(request, view, values, {"amount": error}, status_code=422)
    row = _row(view, actor, now, amount_value=raw, amount_error=error, fresh=True)
    return render(request, ITEM, {"row": row}, partial=ITEM, status_code=422)


class VisitController(Controller):
    """Record, undo and complete visits; the Visits region of a customer page."""

    guards = [require_user]

    @get("/customers/{customer_id:int}/visits", name="visits.panel")
    async def panel(
        self, request: Request, db: AsyncSession, actor: Actor, now: datetime, customer_id: int
    ) -> Template:
        """The Visits region as a fragment, or on a page of its own."""
        customer = await _visible_customer(db, actor, customer_id)
        context = await visit_panel_context(db, actor=actor, customer=customer, now=now)
        view = note_view(request, actor=actor, customer_id=customer_id, audited=False)
        return render(
            request,
            "pages/visits/history.html",
            {**context, "customer": customer},
            partial="partials/visits/panel.html",
            background=view,
        )

    @get("/customers/{customer_id:int}/visits/new", name="visits.new")
    async def new(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int
    ) -> Template:
        """The no-JavaScript way to record a visit: outcome buttons in a plain form."""
        customer = await _visible_customer(db, actor, customer_id)
        context = {
            "customer": customer,
            "outcomes": await outcome_list(db),
            "key": uuid.uuid4().hex,
        }
        return render(request, "pages/visits/record.html", context)

    @post("/customers/{customer_id:int}/visits", name="visits.record")
    async def record(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        now: datetime,
        customer_id: int,
        data: Form,
    ) -> Template | Redirect | Response:
        """Save a visit with the tapped outcome; a repeated key gets the same answer."""
        try:
            recorded = await record_from_form(
                request, db, actor=actor, settings=settings, now=now,
                customer_id=customer_id, data=data,
            )  # fmt: skip
        except BadKey:
            raise PublicError(
                400, _("This form is out of date. Reload the page and try again.")
            ) from None
        except VisitError as exc:
            raise _refused(exc) from None
        await db.commit()

        async def load() -> dict:
            # Only the new visit goes back (~1 KB on a weak network): the sheet prepends it
            # to the timeline. A replayed key gets the same visit, rendered the same way.
            view = recorded.view or await visit_view(db, visit_id=recorded.visit_id)
            return {"row": _row(view, actor, now, fresh=True)}

        message = _("Visit saved. You can undo it for a few seconds.") if recorded.created else ""
        return await _done(
            request, ITEM, load, customer_id=customer_id, message=message, trigger=CHANGED
        )

    @post("/visits/{visit_id:int}/undo", name="visits.undo")
    async def undo(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        now: datetime,
        visit_id: int,
    ) -> Template | Redirect | Response:
        """Delete a just-saved visit of one's own and restore the follow-up dates."""
        try:
            customer_id = await visit_undo(
                db, actor=actor, visit_id=visit_id, tz=settings.tz, now=now, ip=client_ip(request)
            )
        except UndoTooLate as exc:
            message = _(
                "Too late to undo: the visit stays saved. You can still correct its details."
            )
            if is_fragment_request(request):
                raise PublicError(409, message) from None
            flash(request, message, "error")
            return see_other(request, _customer_url(request, exc.args[0]))
        except VisitError as exc:
            raise _refused(exc) from None
        await db.commit()

        async def load() -> dict:
            panel = await timeline_panel(
                db, actor=actor, customer_id=customer_id, notice=_("Visit removed."), now=now
            )
            return {"visit_panel": panel}

        return await _done(
            request,
            "partials/visits/timeline.html",
            load,
            customer_id=customer_id,
            message=_("Visit removed."),
            trigger=CHANGED,
        )

    @get("/visits/{visit_id:int}", name="visits.item")
    async def item(
        self, request: Request, db: AsyncSession, actor: Actor, now: datetime, visit_id: int
    ) -> Template | Redirect:
        """One visit of the timeline (used to cancel an inline edit)."""
        target = await _visible_visit(db, actor, visit_id)
        url = _customer_url(request, target.visit.customer_id)
        view = await visit_view(db, visit_id=visit_id)
        return fragment_or_redirect(request, ITEM, {"row": _row(view, actor, now)}, page_url=url)

    @get("/visits/{visit_id:int}/edit", name="visits.edit")
    async def edit(
        self, request: Request, db: AsyncSession, actor: Actor, visit_id: int
    ) -> Template:
        """The details form: inline in the timeline, or a page without JavaScript."""
        await _editable(db, actor, visit_id)
        view = await visit_view(db, visit_id=visit_id)
        return _details_form(request, view, _form_values(view), {})

    @post("/visits/{visit_id:int}/edit", name="visits.update")
    async def update(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        now: datetime,
        visit_id: int,
        data: Form,
    ) -> Template | Redirect | Response:
        """Store note, feedback, next action, milestone and amount; 422 with messages."""
        target = await _editable(db, actor, visit_id)
        values = fields(data)
        checked = visit_details_validate(values)
        if checked.errors:
            view = await visit_view(db, visit_id=visit_id)
            return _details_form(request, view, values, checked.errors, status_code=422)
        await visit_update_details(
            db, actor=actor, visit=target.visit, details=checked.details, ip=client_ip(request)
        )
        await db.commit()
        return await _done(
            request,
            ITEM,
            _item_loader(db, actor, now, visit_id),
            customer_id=target.visit.customer_id,
            message=_("Visit details saved."),
        )

    @post("/visits/{visit_id:int}/amount", name="visits.amount")
    async def amount(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        now: datetime,
        visit_id: int,
        data: Form,
    ) -> Template | Redirect | Response:
        """The quick "Add amount" field of a purchase on the timeline."""
        target = await _editable(db, actor, visit_id)
        raw = field(data, "amount")
        try:
            cents = amount_parse(raw)
        except ValueError as exc:
            return await _amount_refused(request, db, actor, now, visit_id, raw, str(exc))
        await visit_set_amount(
            db, actor=actor, visit=target.visit, amount_cents=cents, ip=client_ip(request)
        )
        await db.commit()
        return await _done(
            request,
            ITEM,
            _item_loader(db, actor, now, visit_id),
            customer_id=target.visit.customer_id,
            message=_("Amount saved."),
            trigger=CHANGED,
        )
