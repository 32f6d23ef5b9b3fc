"""Visits: record in two taps (idempotent), undo, add details, and the no-JS fallback."""

import uuid
from dataclasses import replace

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import write_gate
from db.outcomes import outcome_list
from db.types import utcnow
from db.visibility import customer_get_visible
from db.visits import (
    CustomerNotVisible,
    KeyReused,
    NotYours,
    OutcomeUnknown,
    UndoTooLate,
    VisitNotVisible,
    VisitTarget,
    can_edit_visit,
    visit_get_visible,
    visit_insert,
    visit_prepare,
    visit_set_amount,
    visit_undo,
    visit_update_details,
    visit_view,
)
from domain.users import Actor
from domain.visits import (
    amount_input_value,
    amount_parse,
    device_time_parse,
    idempotency_key_valid,
    location_parse,
    visit_details_validate,
)
from web.core.client_ip import client_ip
from web.core.errors import PublicError
from web.core.forms import Form
from web.core.guards import require_user
from web.core.htmx import flash, is_fragment_request, render
from web.core.i18n import gettext as _
from web.core.settings import Settings
from web.visits.panel import (
    MILESTONES,
    VisitRow,
    customer_page_url,
    note_view,
    timeline_panel,
    visit_panel_context,
    visit_rows,
)

# Fired on the page after a visit is saved, undone or given an amount, so other regions
# (the customer's "Next follow-up", the counter's store history) refresh themselves:
# hx-trigger="visitsChanged from:body".
CHANGED = {"HX-Trigger": "visitsChanged"}


def _row(view, actor: Actor, **kw) -> VisitRow:
    """One timeline row for a single visit."""
    row = visit_rows([view], actor=actor, now=utcnow())[0]
    return replace(row, **kw) if kw else row


async def _editable(db: AsyncSession, actor: Actor, visit_id: int) -> VisitTarget:
    """Return a visit the actor may see and change, or answer 404 / 403."""
    target = await visit_get_visible(db, actor=actor, visit_id=visit_id)
    if target is None:
        raise NotFoundException()
    if not can_edit_visit(actor, author_id=target.visit.user_id):
        raise PermissionDeniedException()
    return target


def _form_values(view) -> dict[str, str]:
    """The details form filled from a stored visit."""
    return {
        "note": view.note,
        "feedback": view.feedback,
        "next_action": view.next_action,
        "next_action_due": view.next_action_due.isoformat() if view.next_action_due else "",
        "milestone": view.milestone or "",
        "amount": amount_input_value(view.amount_cents),
    }


class VisitController(Controller):
    """Record, undo and complete visits; the Visits region of a customer page."""

    guards = [require_user]

    @get("/customers/{customer_id:int}/visits", name="visits.panel")
    async def panel(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int
    ) -> Template:
        """The Visits region as a fragment, or on a page of its own."""
        customer = await customer_get_visible(db, actor=actor, customer_id=customer_id)
        if customer is None:
            raise NotFoundException()
        context = await visit_panel_context(db, actor=actor, customer=customer)
        view = note_view(request, actor=actor, customer_id=customer_id, audited=False)
        context |= {
            "customer": customer,
            "customer_url": customer_page_url(request.app, customer_id),
        }
        return render(
            request,
            "pages/visits/history.html",
            context,
            partial="partials/visits/panel.html",
            background=view,
        )

    @get("/customers/{customer_id:int}/visits/new", name="visits.new")
    async def new(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int
    ) -> Template:
        """The no-JavaScript way to record a visit: outcome buttons in a plain form."""
        customer = await customer_get_visible(db, actor=actor, customer_id=customer_id)
        if customer is None:
            raise NotFoundException()
        return Template(
            template_name="pages/visits/record.html",
            context={
                "customer": customer,
                "customer_url": customer_page_url(request.app, customer_id),
                "outcomes": await outcome_list(db),
                "key": uuid.uuid4().hex,
            },
        )

    @post("/customers/{customer_id:int}/visits", name="visits.record")
    async def record(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        customer_id: int,
        data: Form,
    ) -> Template | Redirect:
        """Save a visit with the tapped outcome; a repeated key gets the same answer."""
        key = (data.get("idempotency_key") or "").strip() or uuid.uuid4().hex
        if not idempotency_key_valid(key):
            raise PublicError(400, _("This form is out of date. Reload the page and try again."))
        now = utcnow()
        try:
            prepared = await visit_prepare(
                db,
                actor=actor,
                customer_id=customer_id,
                outcome=(data.get("outcome") or "").strip(),
            )
            async with write_gate(db):
                recorded = await visit_insert(
                    db,
                    actor=actor,
                    prepared=prepared,
                    key=key,
                    tz=settings.tz,
                    where=location_parse(data.get("lat"), data.get("lng"), data.get("accuracy")),
                    device_at=device_time_parse(data.get("device_at"), now),
                    now=now,
                    ip=client_ip(request),
                )
                await db.commit()
        except CustomerNotVisible:
            raise NotFoundException() from None
        except OutcomeUnknown:
            raise PublicError(
                400, _("This outcome is no longer offered. Reload the page and try again.")
            ) from None
        except KeyReused:
            raise PublicError(
                409, _("This form was already used. Reload the page and try again.")
            ) from None
        if is_fragment_request(request):
            # Only the new visit goes back (~1 KB on a weak network): the sheet prepends it
            # to the timeline. A replayed key gets the same visit, rendered the same way.
            view = recorded.view or await visit_view(db, visit_id=recorded.visit_id)
            return Template(
                template_name="partials/visits/item.html",
                context={"row": _row(view, actor, fresh=True)},
                headers=CHANGED,
            )
        if recorded.created:
            flash(request, _("Visit saved. You can undo it for a few seconds."))
        return Redirect(path=customer_page_url(request.app, customer_id), status_code=303)

    @post("/visits/{visit_id:int}/undo", name="visits.undo")
    async def undo(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        visit_id: int,
    ) -> Template | Redirect:
        """Delete a just-saved visit of one's own and restore the follow-up dates."""
        try:
            customer_id = await visit_undo(
                db, actor=actor, visit_id=visit_id, tz=settings.tz, ip=client_ip(request)
            )
        except VisitNotVisible:
            raise NotFoundException() from None
        except NotYours:
            raise PublicError(403, _("Only the person who recorded a visit can undo it.")) from None
        except UndoTooLate as exc:
            message = _(
                "Too late to undo: the visit stays saved. You can still correct its details."
            )
            if is_fragment_request(request):
                raise PublicError(409, message) from None
            flash(request, message, "error")
            return Redirect(path=customer_page_url(request.app, exc.args[0]), status_code=303)
        await db.commit()
        if is_fragment_request(request):
            panel = await timeline_panel(
                db, actor=actor, customer_id=customer_id, notice=_("Visit removed.")
            )
            return Template(
                template_name="partials/visits/timeline.html",
                context={"visit_panel": panel},
                headers=CHANGED,
            )
        flash(request, _("Visit removed."))
        return Redirect(path=customer_page_url(request.app, customer_id), status_code=303)

    @get("/visits/{visit_id:int}", name="visits.item")
    async def item(
        self, request: Request, db: AsyncSession, actor: Actor, visit_id: int
    ) -> Template | Redirect:
        """One visit of the timeline (used to cancel an inline edit)."""
        target = await visit_get_visible(db, actor=actor, visit_id=visit_id)
        if target is None:
            raise NotFoundException()
        if not is_fragment_request(request):
            url = customer_page_url(request.app, target.visit.customer_id)
            return Redirect(path=url, status_code=303)
        view = await visit_view(db, visit_id=visit_id)
        return Template(
            template_name="partials/visits/item.html", context={"row": _row(view, actor)}
        )

    @get("/visits/{visit_id:int}/edit", name="visits.edit")
    async def edit(
        self, request: Request, db: AsyncSession, actor: Actor, visit_id: int
    ) -> Template:
        """The details form: inline in the timeline, or a page without JavaScript."""
        await _editable(db, actor, visit_id)
        view = await visit_view(db, visit_id=visit_id)
        return self._details_form(request, view, _form_values(view), {})

    @post("/visits/{visit_id:int}/edit", name="visits.update")
    async def update(
        self, request: Request, db: AsyncSession, actor: Actor, visit_id: int, data: Form
    ) -> Template | Redirect:
        """Store note, feedback, next action, milestone and amount; 422 with messages."""
        target = await _editable(db, actor, visit_id)
        checked = visit_details_validate(data)
        if checked.errors:
            view = await visit_view(db, visit_id=visit_id)
            return self._details_form(request, view, data, checked.errors, status_code=422)
        await visit_update_details(
            db, actor=actor, visit=target.visit, details=checked.details, ip=client_ip(request)
        )
        customer_id = target.visit.customer_id
        await db.commit()
        if is_fragment_request(request):
            view = await visit_view(db, visit_id=visit_id)
            return Template(
                template_name="partials/visits/item.html", context={"row": _row(view, actor)}
            )
        flash(request, _("Visit details saved."))
        return Redirect(path=customer_page_url(request.app, customer_id), status_code=303)

    @post("/visits/{visit_id:int}/amount", name="visits.amount")
    async def amount(
        self, request: Request, db: AsyncSession, actor: Actor, visit_id: int, data: Form
    ) -> Template | Redirect:
        """The quick "Add amount" field of a purchase on the timeline."""
        target = await _editable(db, actor, visit_id)
        raw = data.get("amount", "")
        try:
            cents = amount_parse(raw)
        except ValueError as exc:
            view = await visit_view(db, visit_id=visit_id)
            if is_fragment_request(request):
                row = _row(view, actor, amount_value=raw, amount_error=str(exc), fresh=True)
                return Template(
                    template_name="partials/visits/item.html", context={"row": row}, status_code=422
                )
            values = _form_values(view) | {"amount": raw}
            return self._details_form(request, view, values, {"amount": str(exc)}, status_code=422)
        await visit_set_amount(
            db, actor=actor, visit=target.visit, amount_cents=cents, ip=client_ip(request)
        )
        customer_id = target.visit.customer_id
        await db.commit()
        if is_fragment_request(request):
            view = await visit_view(db, visit_id=visit_id)
            return Template(
                template_name="partials/visits/item.html",
                context={"row": _row(view, actor)},
                headers=CHANGED,
            )
        flash(request, _("Amount saved."))
        return Redirect(path=customer_page_url(request.app, customer_id), status_code=303)

    def _details_form(
        self,
        request: Request,
        view,
        values: dict[str, str],
        errors: dict[str, str],
        status_code: int = 200,
    ) -> Template:
        """Render the details form as a fragment (inline) or as a page."""
        inline = is_fragment_request(request)
        context = {
            "view": view,
            "values": values,
            "errors": errors,
            "milestones": MILESTONES,
            "inline": inline,
            "customer_url": customer_page_url(request.app, view.customer_id),
        }
        if inline:
            return Template(
                template_name="partials/visits/form.html", context=context, status_code=status_code
            )
        return Template(
            template_name="pages/visits/edit.html", context=context, status_code=status_code
        )
