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
    MSG_DECIDED,
    MSG_PENDING,
    StatusChange,
    approval_for_status,
    criteria_input_name,
    criteria_missing,
    parse_criteria_fields,
    parse_stage,
    parse_status,
    stage_move_errors,
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
        missing = await _criteria_missing(db, customer, target) if target is not None else []
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
        errors = await _stage_errors(db, customer, target, comment="")
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
        errors = await _stage_errors(db, customer, target, comment=comment)
        filled: dict[str, object] = {}
        if target is not None and not errors:
            missing = await _criteria_missing(db, customer, target)
            filled, errors = parse_criteria_fields(form, missing)
        if errors:
            return await self._stage_again(request, db, customer, target, form, errors, 422)
        assert target is not None
        moved = await _stage_apply(request, db, actor, customer, target, filled, comment, now)
        if not moved:
            await db.rollback()
            fresh = await self._customer(db, actor, customer_id)
            errors = {"to": _refused_message(moved)}
            return await self._stage_again(request, db, fresh, target, form, errors, 409)
        await db.commit()
        flash(request, _("Stage changed to %(stage)s.", stage=labels.stage(target)))
        return see_other(request, _customer_url(request, customer.id), trigger="salesChanged")

    async def _stage_again(
        self,
        request: Request,
        db: AsyncSession,
        customer: Customer,
        target: Stage | None,
        form: dict[str, str],
        errors: dict[str, str],
        status_code: int,
    ) -> Template:
        """Show the stage form again with the input kept and the errors beside the fields."""
        context = await self._stage_context(db, customer, target=target, values=form, errors=errors)
        return self._stage_form(request, context, status_code)

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
        change, errors = await _status_check(db, customer, form)
        if change is None:
            return await self._status_again(request, db, customer, target, form, errors, 422)
        saved = await _status_apply(request, db, actor, customer, change, now)
        if not saved:
            await db.rollback()
            fresh = await self._customer(db, actor, customer_id)
            errors = {"to": _refused_message(saved)}
            return await self._status_again(request, db, fresh, target, form, errors, 409)
        await db.commit()
        flash(request, _status_done(change, target))
        return see_other(request, _customer_url(request, customer.id), trigger="salesChanged")

    async def _status_again(
        self,
        request: Request,
        db: AsyncSession,
        customer: Customer,
        target: str,
        form: dict[str, str],
        errors: dict[str, str],
        status_code: int,
    ) -> Template:
        """Show the status form again with the input kept and the errors beside the fields."""
        context = await self._status_context(
            db, customer, target=target, values=form, errors=errors
        )
        return self._status_form(request, context, status_code)

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


async def _criteria_missing(db: AsyncSession, customer: Customer, target: Stage) -> list[str]:
    """The fields the entry criteria ask for before the customer may move to `target`."""
    rules = await sales_rules_get(db)
    return criteria_missing(
        rules.criteria,
        current=Stage(customer.stage),
        target=target,
        values=customer.model_dump(),
    )


async def _stage_errors(
    db: AsyncSession, customer: Customer, target: Stage | None, *, comment: str
) -> dict[str, str]:
    """A stage move's errors by field before its criteria; a pending request blocks any move."""
    errors = stage_move_errors(
        current=Stage(customer.stage),
        status=Status(customer.status),
        target=target,
        comment=comment,
    )
    if await approval_pending_exists(db, customer_id=customer.id):
        errors["to"] = MSG_PENDING
    return errors


async def _status_check(
    db: AsyncSession, customer: Customer, form: dict[str, str]
) -> tuple[StatusChange | None, dict[str, str]]:
    """The status change a form asks for, or (None, errors by field)."""
    rules = await sales_rules_get(db)
    change, errors = status_change(
        current_status=Status(customer.status),
        current_stage=Stage(customer.stage),
        target=form.get("to", ""),
        reason=form.get("reason", ""),
        comment=form.get("comment", ""),
        approval_kinds=rules.approval_kinds,
    )
    if await approval_pending_exists(db, customer_id=customer.id):
        return None, {"to": MSG_PENDING}
    return change, errors


async def _status_apply(
    request: Request,
    db: AsyncSession,
    actor: Actor,
    customer: Customer,
    change: StatusChange,
    now: datetime,
) -> bool | None:
    """Store the change, or the request a manager decides; None when one is pending already."""
    ip = client_ip(request)
    try:
        if change.approval is None:
            return await status_set(
                db, customer=customer, change=change, user_id=actor.id, now=now, ip=ip
            )
        await approval_request_add(
            db,
            kind=change.approval,
            customer=customer,
            payload=status_payload(change),
            requested_by=actor.id,
            now=now,
            ip=ip,
        )
        return True
    except PendingApproval:
        return None


async def _stage_apply(
    request: Request,
    db: AsyncSession,
    actor: Actor,
    customer: Customer,
    target: Stage,
    filled: dict[str, object],
    comment: str,
    now: datetime,
) -> bool | None:
    """Move the stage with the criteria fields; None when a request got there first."""
    try:
        return await stage_move(
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
        return None


def _refused_message(saved: bool | None) -> str:
    """Why a checked change was not stored: a request is pending, or someone else saved."""
    return MSG_PENDING if saved is None else _("Someone changed this customer just now.")


def _status_done(change: StatusChange, target: str) -> str:
    """The flash after a status change: sent for approval, or changed."""
    if change.approval is not None:
        return _("Sent to a manager for approval.")
    return _("Status changed to %(status)s.", status=labels.status(target))
