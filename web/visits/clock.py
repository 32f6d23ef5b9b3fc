"""The admin's limit on how old a phone's visit time may be (shown on the cadence page)."""

from litestar import Controller, Request, Response, post
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.outcomes import cadence_get
from db.visits import visit_setting_get, visit_setting_set
from domain.enums import Level, Role
from domain.users import Actor
from domain.visits import max_age_hours_parse
from web.core.client_ip import client_ip
from web.core.forms import Form, field
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other
from web.core.i18n import gettext as _

PAGE = "pages/admin/cadence.html"


async def visit_clock_context(db: AsyncSession, raw: str | None = None, error: str = "") -> dict:
    """The device-time form's part of the cadence page: its value and its error."""
    value = raw if raw is not None else str(await visit_setting_get(db))
    return {"visit_clock": {"value": value, "error": error}}


class VisitClockController(Controller):
    """Save the device-time limit; 422 with the message beside the field."""

    guards = [require_roles(Role.ADMIN)]

    @post("/admin/cadence/device-time", name="admin.visit_clock.save")
    async def save(
        self, request: Request, db: AsyncSession, actor: Actor, data: Form
    ) -> Template | Redirect | Response:
        """Store how many hours a visit's device time may lie in the past."""
        raw = field(data, "device_max_age_hours")
        try:
            hours = max_age_hours_parse(raw)
        except ValueError as exc:
            days = await cadence_get(db)
            context = {
                "active": "",
                "values": {lvl.value: str(d) for lvl, d in days.items()},
                "errors": {},
                "levels": list(Level),
                **await visit_clock_context(db, raw, str(exc)),
            }
            return render(request, PAGE, context, status_code=422)
        if await visit_setting_set(db, device_max_age_hours=hours):
            await audit_add(
                db,
                action="visit_clock_updated",
                actor_id=actor.id,
                entity="visit_setting",
                detail={"device_max_age_hours": hours},
                ip=client_ip(request),
            )
        await db.commit()
        flash(request, _("Saved. Visits recorded offline use the phone's time up to this age."))
        return see_other(request, request.app.route_reverse("admin.cadence"))
