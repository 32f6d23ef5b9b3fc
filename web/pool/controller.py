"""The public pool: Claim (领取), Release to pool (退回公海), and a manager's bulk Reassign."""

from datetime import datetime

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Customer
from db.pool import pool_claim, pool_release, pool_rules_get
from db.pool_reclaim import pool_warnings
from db.sales import PendingApproval, approval_request_add, sales_rules_get
from db.visibility import customer_get_visible
from domain.enums import Role
from domain.pool import Refusal, may_release_directly, return_at, warned
from domain.sales import MSG_PENDING, ApprovalKind, pool_release_needs_approval
from domain.users import Actor
from web.core.client_ip import client_ip
from web.core.forms import Form, field, fields
from web.core.guards import require_roles
from web.core.htmx import flash, is_fragment_request, render, see_other
from web.core.i18n import fmt_datetime
from web.core.i18n import gettext as _

MAX_ID = 2**63 - 1
MAX_REASON = 500
POOL_ROLES = (Role.REP, Role.MANAGER, Role.ADMIN)


def refusal_text(refusal: Refusal) -> str:
    """The refusal's message in the user's language, naming the limit and when it frees up."""
    when = fmt_datetime(refusal.frees_at) if refusal.frees_at else ""
    return _(refusal.message, n=refusal.n, when=when)


def _pool_url(request: Request) -> str:
    """The customer list narrowed to the public pool."""
    return request.app.route_reverse("customers.list") + "?owner=pool"


class PoolController(Controller):
    """Claiming from and releasing to the team's public pool."""

    path = "/pool"
    guards = [require_roles(*POOL_ROLES)]

    async def _customer(self, db: AsyncSession, actor: Actor, customer_id: int) -> Customer:
        """The customer as stored now, or 404."""
        if not 0 < customer_id <= MAX_ID:
            raise NotFoundException()
        customer = await customer_get_visible(db, actor=actor, customer_id=customer_id)
        if customer is None:
            raise NotFoundException()
        return customer

    @post("/{customer_id:int}/claim", name="pool.claim")
    async def claim(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int, now: datetime
    ) -> Template | Redirect:
        """Claim: the actor owns the customer at once, or is told which limit stops it."""
        await self._customer(db, actor, customer_id)
        tz = request.app.state.settings.tz
        result = await pool_claim(
            db, actor=actor, customer_id=customer_id, now=now, tz=tz, ip=client_ip(request)
        )
        if result.ok:
            await db.commit()
            message = _("You now own %(name)s.", name=result.name)
        else:
            await db.rollback()
            message = refusal_text(result.refusal) if result.refusal else ""
        if is_fragment_request(request):
            context = {"customer_id": customer_id, "ok": result.ok, "message": message}
            return render(
                request,
                "pages/pool/claimed.html",
                context,
                partial="partials/pool/claim_result.html",
                status_code=200 if result.ok else 409,
            )
        flash(request, message)
        if result.ok:
            url = request.app.route_reverse("customers.detail", customer_id=customer_id)
            return see_other(request, url)
        return see_other(request, _pool_url(request))

    @get("/{customer_id:int}/release", name="pool.release_form")
    async def release_form(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int
    ) -> Template:
        """Ask for the reason before putting the customer back into the pool."""
        customer = await self._release_target(db, actor, customer_id)
        return await self._release_page(request, db, actor, customer, {}, {})

    async def _release_target(self, db: AsyncSession, actor: Actor, customer_id: int) -> Customer:
        """A customer the actor may release: their own, or any of the team for a manager."""
        customer = await self._customer(db, actor, customer_id)
        if customer.owner_id is None:
            raise NotFoundException()
        if customer.owner_id != actor.id and not may_release_directly(actor.role):
            raise NotFoundException()
        return customer

    async def _release_page(
        self, request, db, actor, customer, values, errors, status_code: int = 200
    ) -> Template:
        """The release form as a page, or its fragment for HTMX."""
        rules = await sales_rules_get(db)
        needs = not may_release_directly(actor.role) and pool_release_needs_approval(
            rules.approval_kinds
        )
        context = {
            "active": "customers",
            "c": customer,
            "needs_approval": needs,
            "values": values,
            "errors": errors,
        }
        return render(
            request,
            "pages/pool/release.html",
            context,
            partial="partials/pool/release_form.html",
            status_code=status_code,
        )

    @post("/{customer_id:int}/release", name="pool.release")
    async def release(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        customer_id: int,
        data: Form,
        now: datetime,
    ) -> Template | Redirect:
        """Release to pool: a manager at once; a rep asks a manager (unless the admin says not)."""
        customer = await self._release_target(db, actor, customer_id)
        reason = field(data, "reason")
        if errors := _reason_errors(reason):
            return await self._release_page(request, db, actor, customer, fields(data), errors, 422)
        try:
            direct, done = await _release_or_ask(
                db, actor, customer, reason, now=now, ip=client_ip(request)
            )
        except PendingApproval:
            direct, done, errors = False, False, {"reason": MSG_PENDING}
        if not done:
            await db.rollback()
            errors = errors or {"reason": _("Someone changed this customer just now.")}
            return await self._release_page(request, db, actor, customer, fields(data), errors, 409)
        await db.commit()
        flash(
            request,
            _("Back in the public pool.") if direct else _("Sent to a manager for approval."),
        )
        url = request.app.route_reverse("customers.detail", customer_id=customer_id)
        return see_other(request, url)


def _reason_errors(reason: str) -> dict[str, str]:
    """What is wrong with a release reason (it is required and at most 500 characters)."""
    if not reason:
        return {"reason": _("Say why the customer goes back to the pool.")}
    if len(reason) > MAX_REASON:
        return {"reason": _("Use at most 500 characters.")}
    return {}


async def _release_or_ask(
    db: AsyncSession, actor: Actor, customer: Customer, reason: str, *, now: datetime, ip: str
) -> tuple[bool, bool]:
    """Release at once when the actor may (or no approval is needed), else ask a manager.

    Returns (released directly, done); raises PendingApproval when a request already waits.
    """
    rules = await sales_rules_get(db)
    direct = may_release_directly(actor.role) or not pool_release_needs_approval(
        rules.approval_kinds
    )
    if direct:
        done = await pool_release(db, customer=customer, by=actor, reason=reason, now=now, ip=ip)
        return True, done
    await approval_request_add(
        db,
        kind=ApprovalKind.POOL_RELEASE,
        customer=customer,
        payload={"comment": reason},
        requested_by=actor.id,
        now=now,
        ip=ip,
    )
    return False, True


class PoolWarningController(Controller):
    """Own customers that return to the pool soon: Today loads this list from its own URL."""

    path = "/pool/warnings"
    guards = [require_roles(*POOL_ROLES)]

    @get("/", name="pool.warnings")
    async def warnings(
        self, request: Request, db: AsyncSession, actor: Actor, now: datetime
    ) -> Template:
        """The list with days left, so one visit keeps a customer (a page, or Today's fragment)."""
        tz = request.app.state.settings.tz
        rules = await pool_rules_get(db)
        items = []
        for w in await pool_warnings(db, user_id=actor.id, rules=rules, now=now):
            at = return_at(level=w.level, status=w.status, since=w.since, rules=rules)
            left = warned(at=at, now=now, tz=tz, warn_days=rules.warn_days)
            if left is not None:
                items.append((w, left))
        return render(
            request,
            "pages/pool/warnings.html",
            {"active": "today", "items": items},
            partial="partials/pool/warnings.html",
        )
