"""Admin settings of visits: the outcome list and the follow-up cadence per level."""

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.outcomes import (
    cadence_get,
    cadence_set,
    outcome_add,
    outcome_codes,
    outcome_list,
    outcome_update,
)
from domain.cadence import cadence_validate
from domain.enums import Level, Role
from domain.labels import METHODS
from domain.users import Actor
from domain.visits import outcome_validate
from web.core.client_ip import client_ip
from web.core.forms import Form, field
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other
from web.core.i18n import gettext as _
from web.visits.clock import visit_clock_context

# The inputs of an outcome form: a re-rendered form shows each one, sent or not.
FORM_FIELDS = ("code", "label_zh", "label_en", "method", "position", "asks_amount", "active")


def _typed(data: dict) -> dict[str, str]:
    """What the user sent, as text, with every input of the form present ('' if missing)."""
    return {name: field(data, name) for name in FORM_FIELDS}


class OutcomeAdminController(Controller):
    """Edit the outcome list and the cadence without a code change (admins only)."""

    guards = [require_roles(Role.ADMIN)]

    async def _outcomes_page(
        self,
        request: Request,
        db: AsyncSession,
        *,
        errors: dict[str, dict[str, str]] | None = None,
        values: dict[str, dict[str, str]] | None = None,
        status_code: int = 200,
    ) -> Template:
        """Render the outcome list; `errors`/`values` are keyed by code ("" = the new one)."""
        context = {
            "active": "",
            "outcomes": await outcome_list(db, active_only=False),
            "methods": METHODS,
            "errors": errors or {},
            "values": values or {},
        }
        return render(request, "pages/admin/outcomes.html", context, status_code=status_code)

    @get("/admin/outcomes", name="admin.outcomes")
    async def outcomes(self, request: Request, db: AsyncSession) -> Template:
        """List the outcomes with a form for each, and one to add a new outcome."""
        return await self._outcomes_page(request, db)

    @post("/admin/outcomes", name="admin.outcomes.add")
    async def outcome_create(
        self, request: Request, db: AsyncSession, actor: Actor, data: Form
    ) -> Template | Redirect:
        """Add an outcome."""
        values = _typed(data)
        clean, errors = outcome_validate(values, taken=await outcome_codes(db), new=True)
        if errors:
            return await self._outcomes_page(
                request, db, errors={"": errors}, values={"": values}, status_code=422
            )
        await outcome_add(db, data=clean)
        await audit_add(
            db,
            action="outcome_added",
            actor_id=actor.id,
            entity="outcome",
            detail={"code": clean.code},
            ip=client_ip(request),
        )
        await db.commit()
        flash(request, _("Outcome added."))
        return see_other(request, request.app.route_reverse("admin.outcomes"))

    @post("/admin/outcomes/{code:str}", name="admin.outcomes.update")
    async def outcome_change(
        self, request: Request, db: AsyncSession, actor: Actor, code: str, data: Form
    ) -> Template | Redirect:
        """Change an outcome (codes stay: old visits keep pointing at them)."""
        if code not in await outcome_codes(db):
            raise NotFoundException()
        values = _typed(data)
        clean, errors = outcome_validate(values)
        if errors:
            return await self._outcomes_page(
                request, db, errors={code: errors}, values={code: values}, status_code=422
            )
        await outcome_update(db, code=code, data=clean)
        await audit_add(
            db,
            action="outcome_updated",
            actor_id=actor.id,
            entity="outcome",
            detail={"code": code, "active": clean.active, "position": clean.position},
            ip=client_ip(request),
        )
        await db.commit()
        flash(request, _("Outcome saved."))
        return see_other(request, request.app.route_reverse("admin.outcomes"))

    @get("/admin/cadence", name="admin.cadence")
    async def cadence(self, request: Request, db: AsyncSession) -> Template:
        """Show the days between follow-ups per level."""
        days = await cadence_get(db)
        values = {lvl.value: str(d) for lvl, d in days.items()}
        return _cadence_page(request, values, {}, extra=await visit_clock_context(db))

    @post("/admin/cadence", name="admin.cadence.save")
    async def cadence_save(
        self, request: Request, db: AsyncSession, actor: Actor, data: Form
    ) -> Template | Redirect | Response:
        """Store the cadence; 422 with a message beside a bad number."""
        values = {lvl.value: field(data, f"days_{lvl.value}") for lvl in Level}
        days, errors = cadence_validate(values)
        if errors:
            clock = await visit_clock_context(db)
            return _cadence_page(request, values, errors, status_code=422, extra=clock)
        changed = await cadence_set(db, days=days)
        if changed:
            await audit_add(
                db,
                action="cadence_updated",
                actor_id=actor.id,
                entity="cadence",
                detail={k: list(v) for k, v in changed.items()},
                ip=client_ip(request),
            )
        await db.commit()
        flash(request, _("Follow-up cadence saved. It applies to visits recorded from now on."))
        return see_other(request, request.app.route_reverse("admin.cadence"))


def _cadence_page(
    request: Request,
    values: dict[str, str],
    errors: dict[str, str],
    status_code: int = 200,
    extra: dict | None = None,
) -> Template:
    """Render the cadence form (and, below it, the device-time limit of web/visits/clock.py)."""
    context = {"active": "", "values": values, "errors": errors, "levels": list(Level)}
    context |= extra or {}
    return render(request, "pages/admin/cadence.html", context, status_code=status_code)
