"""Admin sales settings: stage entry criteria, stuck limits, changes that need approval."""

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.sales import sales_rules_get, sales_rules_save
from domain.enums import STAGE_ORDER, Role
from domain.sales import CRITERIA_FIELDS, ApprovalKind, parse_stuck_days
from domain.users import Actor
from web.core import labels
from web.core.client_ip import client_ip
from web.core.forms import Form, field, field_list
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other
from web.core.i18n import gettext as _


class SalesSettingsController(Controller):
    """Admins set what each stage requires and which changes a manager approves."""

    path = "/admin/sales"
    guards = [require_roles(Role.ADMIN)]

    def _page(self, request: Request, context: dict, status_code: int = 200) -> Template:
        """The settings page."""
        return render(
            request,
            "pages/admin/sales.html",
            {
                "active": "",
                "labels": labels,
                "stages": STAGE_ORDER,
                "criteria_fields": CRITERIA_FIELDS,
                "kinds": list(ApprovalKind),
                **context,
            },
            status_code=status_code,
        )

    @get("/", name="admin.sales")
    async def page(self, request: Request, db: AsyncSession) -> Template:
        """Show the settings form with the stored values."""
        rules = await sales_rules_get(db)
        stuck = {s: "" if d is None else str(d) for s, d in rules.stuck_days.items()}
        return self._page(
            request,
            {
                "criteria": rules.criteria,
                "stuck": stuck,
                "approval_kinds": rules.approval_kinds,
                "errors": {},
            },
        )

    @post("/", name="admin.sales.save")
    async def save(
        self, request: Request, db: AsyncSession, actor: Actor, data: Form
    ) -> Template | Redirect | Response:
        """Save the settings; a wrong number of days re-shows the form beside that field (422)."""
        criteria = {
            s: tuple(f for f in field_list(data, f"required_{s}") if f in CRITERIA_FIELDS)
            for s in STAGE_ORDER
        }
        kinds = {k for k in field_list(data, "approval") if k in set(ApprovalKind)}
        stuck: dict[str, int | None] = {}
        errors: dict[str, str] = {}
        for s in STAGE_ORDER:
            days, error = parse_stuck_days(field(data, f"stuck_{s}"))
            stuck[s] = days
            if error:
                errors[f"stuck_{s}"] = error
        if errors:
            raw = {s: field(data, f"stuck_{s}") for s in STAGE_ORDER}
            return self._page(
                request,
                {"criteria": criteria, "stuck": raw, "approval_kinds": kinds, "errors": errors},
                422,
            )
        await sales_rules_save(
            db,
            criteria=criteria,
            stuck_days=stuck,
            approval_kinds=kinds,
            actor_id=actor.id,
            ip=client_ip(request),
        )
        await db.commit()
        flash(request, _("Sales settings saved."))
        return see_other(request, request.app.route_reverse("admin.sales"))
