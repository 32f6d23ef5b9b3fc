"""Approvals: the managers' list of pending requests and the one-tap decision."""

from datetime import datetime

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import ApprovalRequest
from db.sales import AlreadyDecided, approval_decide, approval_get, approvals_pending_list
from domain.enums import Role
from domain.sales import MAX_COMMENT, MSG_DECIDED, decide_problem, may_decide
from domain.users import Actor
from web.core import labels
from web.core.client_ip import client_ip
from web.core.forms import Form, field
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other
from web.core.i18n import gettext as _
from web.sales.context import sales_decisions_context
from web.sales.stages import SALES_ROLES, require_id

# Where a decision returns: the page it was made on (route names, never a typed URL).
RETURN_TO = {"today": "home", "list": "approvals.list"}


class ApprovalController(Controller):
    """Everything under /approvals: managers of the team and admins decide."""

    path = "/approvals"
    guards = [require_roles(Role.MANAGER, Role.ADMIN)]

    @get("/", name="approvals.list")
    async def index(self, request: Request, db: AsyncSession, actor: Actor) -> Template:
        """The requests waiting for this user's decision, each with the customer's recent visits."""
        items = await approvals_pending_list(db, actor=actor)
        return render(
            request,
            "pages/sales/approvals.html",
            {"active": "today", "items": items, "labels": labels, "back": "list"},
            partial="partials/sales/approval_list.html",
        )

    @post("/{request_id:int}/decide", name="approvals.decide")
    async def decide(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        request_id: int,
        data: Form,
        now: datetime,
    ) -> Redirect | Response:
        """Approve or reject with one tap; the slower of two deciders is told it is decided."""
        require_id(request_id)
        back = request.app.route_reverse(RETURN_TO.get(field(data, "back"), "approvals.list"))
        found = await _decidable(db, actor, request_id)
        decision = field(data, "decision")
        if decision not in ("approve", "reject"):
            flash(request, _("Choose Approve or Reject."), "error")
            return see_other(request, back)
        problem = decide_problem(found.state)
        if problem is None:
            problem = await _decide(request, db, actor, found, data, now)
        if problem is not None:
            await db.rollback()
            flash(request, _(problem), "error")
            return see_other(request, back)
        await db.commit()
        flash(request, _("Approved.") if decision == "approve" else _("Rejected."))
        return see_other(request, back, trigger="salesChanged")


async def _decidable(db: AsyncSession, actor: Actor, request_id: int) -> ApprovalRequest:
    """The request the actor may decide, or 404: another team's or one's own does not exist."""
    found = await approval_get(db, actor=actor, request_id=request_id)
    if found is None or not may_decide(
        role=actor.role,
        actor_id=actor.id,
        actor_team_id=actor.team_id,
        requester_id=found.requested_by,
        team_id=found.team_id,
    ):
        raise NotFoundException()
    return found


async def _decide(
    request: Request,
    db: AsyncSession,
    actor: Actor,
    found: ApprovalRequest,
    data: Form,
    now: datetime,
) -> str | None:
    """Record the form's decision; return why it could not be (a faster decider), or None."""
    try:
        await approval_decide(
            db,
            request=found,
            approve=field(data, "decision") == "approve",
            decided_by=actor.id,
            comment=field(data, "comment")[:MAX_COMMENT],
            now=now,
            ip=client_ip(request),
        )
    except AlreadyDecided:
        return MSG_DECIDED
    return None


class DecisionController(Controller):
    """What managers decided on the signed-in user's own requests (/decisions)."""

    path = "/decisions"
    guards = [require_roles(*SALES_ROLES)]

    @get("/", name="sales.decisions")
    async def index(
        self, request: Request, db: AsyncSession, actor: Actor, now: datetime
    ) -> Template:
        """The last days' decisions: a page, or the fragment the Today page loads."""
        context = await sales_decisions_context(db, actor=actor, now=now)
        return render(
            request,
            "pages/sales/decisions.html",
            {"active": "today", **context},
            partial="partials/sales/decisions.html",
        )
