"""A customer's stage and status: the confirm forms, the moves, withdrawing a pending request.

Every change goes through domain.sales (allowed moves, entry criteria, approvals) and lands in
the stage history; a customer the user may not see is a 404 on every URL here.
"""

from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Customer
from db.sales import (
    AlreadyDecided,
    PendingApproval,
    approval_get,
    approval_pending_exists,
    approval_request_add,
    approval_withdraw,
    sales_rules_get,
    stage_move,
    status_payload,
    status_set,
)
from db.visibility import customer_get_visible
from domain.enums import Role, Stage, Status
from domain.sales import (
    MAX_COMMENT,
    MSG_CHOOSE_STAGE,
    MSG_COMMENT_LONG,
    MSG_DECIDED,
    MSG_PENDING,
    approval_for_status,
    criteria_input_name,
    criteria_missing,
    parse_criteria_fields,
    parse_stage,
    parse_status,
    stage_move_problem,
    status_change,
    withdraw_problem,
)
from domain.users import Actor
from web.core import labels
from web.core.client_ip import client_ip
from web.core.forms import Form, field, fields
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other
from web.core.i18n import gettext as _

SALES_ROLES = (Role.REP, Role.MANAGER, Role.ADMIN)
MAX_ID = 2**63 - 1  # the largest row id SQLite (and PostgreSQL bigint) can hold


def require_id(*ids: int) -> None:
    """Answer 404 for a path id no row can have (it would not even fit the database)."""
    if any(not 0 < i <= MAX_ID for i in ids):
        raise NotFoundException()


def _customer_url(request: Request, customer_id: int) -> str:
    """The customer page, where every sales action returns."""
    return request.app.route_reverse("customers.detail", customer_id=customer_id)


class SalesController(Controller):
    """Stage and status changes of one customer (/customers/{id}/sales/...)."""

    path = "/customers/{customer_id:int}/sales"
    guards = [require_roles(*SALES_ROLES)]

    async def _customer(self, db: AsyncSession, actor: Actor, customer_id: int) -> Customer:
        """Return the customer as stored now, or answer 404."""
        require_id(customer_id)
        customer = await customer_get_visible(db, actor=actor, customer_id=customer_id)
        if customer is None:
            raise NotFoundException()
        return customer

    # --- stage -----------------------------------------------------------------------------

    async def _stage_context(
        self,
        db: AsyncSession,
        customer: Customer,
        *,
        target: Stage | None,
        values: dict[str, str],
        errors: dict[str, str],
    ) -> dict[str, Any]:
        """What the stage confirm form shows: from → to, the missing fields, the comment."""
        rules = await sales_rules_get(db)
        missing: list[str] = []
        if target is not None:
            missing = criteria_missing(
                rules.criteria,
                current=Stage(customer.stage),
                target=target,
                values=customer.model_dump(),
            )
        return {
            "active": "customers",
            "c": customer,
            "target": target,
            "missing": [(criteria_input_name(m), m) for m in missing],
            "values": values,
            "errors": errors,
            "labels": labels,
        }

    def _stage_form(self, request: Request, context: dict, status_code: int = 200) -> Template:
        """The stage confirm form: a page, or the fragment for HTMX."""
        return render(
            request,
            "pages/sales/stage.html",
            context,
            partial="partials/sales/stage_form.html",
            status_code=status_code,
        )

    @get("/stage", name="sales.stage_confirm")
    async def stage_confirm(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int, to: str = ""
    ) -> Template | Redirect:
        """Confirm a stage move, asking inline for the fields the new stage requires."""
        customer = await self._customer(db, actor, customer_id)
        target = parse_stage(to)
        errors: dict[str, str] = {}
        if target is None:
            errors["to"] = MSG_CHOOSE_STAGE
        else:
            problem = stage_move_problem(
                current=Stage(customer.stage), status=Status(customer.status), target=target
            )
            if problem:
                errors["to"] = problem
        if await approval_pending_exists(db, customer_id=customer.id):
            errors["to"] = MSG_PENDING
        context = await self._stage_context(db, customer, target=target, values={}, errors=errors)
        return self._stage_form(request, context, 422 if errors else 200)

    @post("/stage", name="sales.stage_change")
    async def stage_change(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        customer_id: int,
        data: Form,
        now: datetime,
    ) -> Template | Redirect | Response:
        """Move the customer; a move that misses criteria re-shows the fields it needs (422)."""
        customer = await self._customer(db, actor, customer_id)
        form = fields(data)
        target = parse_stage(field(data, "to"))
        comment = field(data, "comment")
        errors: dict[str, str] = {}
        if target is None:
            errors["to"] = MSG_CHOOSE_STAGE
        else:
            problem = stage_move_problem(
                current=Stage(customer.stage), status=Status(customer.status), target=target
            )
            if problem:
                errors["to"] = problem
        if len(comment) > MAX_COMMENT:
            errors["comment"] = MSG_COMMENT_LONG
        if await approval_pending_exists(db, customer_id=customer.id):
            errors["to"] = MSG_PENDING
        filled: dict[str, object] = {}
        if target is not None and not errors:
            rules = await sales_rules_get(db)
            missing = criteria_missing(
                rules.criteria,
                current=Stage(customer.stage),
                target=target,
                values=customer.model_dump(),
            )
            filled, field_errors = parse_criteria_fields(form, missing)
            errors.update(field_errors)
        if errors:
            context = await self._stage_context(
                db, customer, target=target, values=form, errors=errors
            )
            return self._stage_form(request, context, 422)
        assert target is not None
        try:
            saved = await stage_move(
                db,
                customer=customer,
                to_stage=target,
                fields=filled,
                comment=comment,
                user_id=actor.id,
                now=now,
                ip=client_ip(request),
            )
        except PendingApproval:
            saved = None
        if not saved:
            await db.rollback()
            fresh = await self._customer(db, actor, customer_id)
            message = MSG_PENDING if saved is None else _("Someone changed this customer just now.")
            context = await self._stage_context(
                db, fresh, target=target, values=form, errors={"to": message}
            )
            return self._stage_form(request, context, 409)
        await db.commit()
        flash(request, _("Stage changed to %(stage)s.", stage=labels.stage(target)))
        return see_other(request, _customer_url(request, customer.id), trigger="salesChanged")

    # --- status ----------------------------------------------------------------------------

    async def _status_context(
        self,
        db: AsyncSession,
        customer: Customer,
        *,
        target: str,
        values: dict[str, str],
        errors: dict[str, str],
    ) -> dict[str, Any]:
        """What the status confirm form shows: the reasons for lost, whether a manager decides."""
        rules = await sales_rules_get(db)
        to = parse_status(target)
        kind = approval_for_status(Status(customer.status), to) if to else None
        needs_approval = kind is not None and kind in rules.approval_kinds
        return {
            "active": "customers",
            "c": customer,
            "target": target,
            "needs_approval": needs_approval,
            "values": values,
            "errors": errors,
            "labels": labels,
        }

    def _status_form(self, request: Request, context: dict, status_code: int = 200) -> Template:
        """The status confirm form: a page, or the fragment for HTMX."""
        return render(
            request,
            "pages/sales/status.html",
            context,
            partial="partials/sales/status_form.html",
            status_code=status_code,
        )

    @get("/status", name="sales.status_confirm")
    async def status_confirm(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int, to: str = ""
    ) -> Template:
        """Confirm a status change (lost asks for the reason)."""
        customer = await self._customer(db, actor, customer_id)
        _change, errors = status_change(
            current_status=Status(customer.status),
            current_stage=Stage(customer.stage),
            target=to,
            reason="price",
            comment="-",
        )
        if await approval_pending_exists(db, customer_id=customer.id):
            errors = {"to": MSG_PENDING}
        context = await self._status_context(db, customer, target=to, values={}, errors=errors)
        return self._status_form(request, context, 422 if errors else 200)

    @post("/status", name="sales.status_change")
    async def status_change_save(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        customer_id: int,
        data: Form,
        now: datetime,
    ) -> Template | Redirect | Response:
        """Change the status, or ask a manager when the change needs approval."""
        customer = await self._customer(db, actor, customer_id)
        form = fields(data)
        target = field(data, "to")
        rules = await sales_rules_get(db)
        change, errors = status_change(
            current_status=Status(customer.status),
            current_stage=Stage(customer.stage),
            target=target,
            reason=field(data, "reason"),
            comment=field(data, "comment"),
            approval_kinds=rules.approval_kinds,
        )
        if await approval_pending_exists(db, customer_id=customer.id):
            change, errors = None, {"to": MSG_PENDING}
        if change is None:
            context = await self._status_context(
                db, customer, target=target, values=form, errors=errors
            )
            return self._status_form(request, context, 422)
        try:
            if change.approval is not None:
                await approval_request_add(
                    db,
                    kind=change.approval,
                    customer=customer,
                    payload=status_payload(change),
                    requested_by=actor.id,
                    now=now,
                    ip=client_ip(request),
                )
                saved = True
            else:
                saved = await status_set(
                    db,
                    customer=customer,
                    change=change,
                    user_id=actor.id,
                    now=now,
                    ip=client_ip(request),
                )
        except PendingApproval:
            saved = None
        if not saved:
            await db.rollback()
            fresh = await self._customer(db, actor, customer_id)
            message = MSG_PENDING if saved is None else _("Someone changed this customer just now.")
            context = await self._status_context(
                db, fresh, target=target, values=form, errors={"to": message}
            )
            return self._status_form(request, context, 409)
        await db.commit()
        if change.approval is not None:
            flash(request, _("Sent to a manager for approval."))
        else:
            flash(request, _("Status changed to %(status)s.", status=labels.status(target)))
        return see_other(request, _customer_url(request, customer.id), trigger="salesChanged")

    # --- withdrawing -----------------------------------------------------------------------

    @post("/requests/{request_id:int}/withdraw", name="sales.withdraw")
    async def withdraw(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        customer_id: int,
        request_id: int,
        now: datetime,
    ) -> Redirect | Response:
        """Withdraw one's own pending request; after a decision it is refused (and said so)."""
        require_id(request_id)
        customer = await self._customer(db, actor, customer_id)
        found = await approval_get(db, actor=actor, request_id=request_id)
        if found is None or found.customer_id != customer.id:
            raise NotFoundException()
        problem = withdraw_problem(
            actor_id=actor.id, requester_id=found.requested_by, state=found.state
        )
        if problem is None:
            try:
                await approval_withdraw(
                    db,
                    request=found,
                    user_id=actor.id,
                    now=now,
                    ip=client_ip(request),
                )
            except AlreadyDecided:
                problem = MSG_DECIDED
        if problem is not None:
            await db.rollback()
            flash(request, _(problem), "error")
            return see_other(request, _customer_url(request, customer_id))
        await db.commit()
        flash(request, _("Request withdrawn."))
        return see_other(request, _customer_url(request, customer_id), trigger="salesChanged")
