"""Admin setting: which roles may export (admins always may)."""

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.exports import export_roles_get, export_roles_save
from domain.enums import Role
from domain.users import Actor
from web.admin.users import ROLE_LABELS
from web.core.client_ip import client_ip
from web.core.forms import Form, field_list
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other
from web.core.i18n import gettext as _

# The roles an admin can switch; admins keep export so someone can always take data out.
SWITCHABLE = (Role.REP, Role.CLERK, Role.MANAGER)


class TransferSettingsController(Controller):
    """Admins choose which roles may export customers and visits."""

    path = "/admin/transfer"
    guards = [require_roles(Role.ADMIN)]

    @get("/", name="admin.transfer")
    async def page(self, request: Request, db: AsyncSession) -> Template:
        """The form with the stored choice."""
        enabled = await export_roles_get(db)
        context = {
            "active": "",
            "roles": [(r, _(ROLE_LABELS[r]), r in enabled) for r in SWITCHABLE],
        }
        return render(request, "pages/imports/settings.html", context)

    @post("/", name="admin.transfer.save")
    async def save(self, request: Request, db: AsyncSession, actor: Actor, data: Form) -> Redirect:
        """Store the roles that may export; audited."""
        chosen = {Role(v) for v in field_list(data, "export") if v in {r.value for r in SWITCHABLE}}
        await export_roles_save(db, roles=chosen)
        detail = {"export": sorted(r.value for r in chosen)}
        await audit_add(
            db, action="settings.transfer", actor_id=actor.id, detail=detail, ip=client_ip(request)
        )
        await db.commit()
        flash(request, _("Export settings saved."))
        return see_other(request, request.app.route_reverse("admin.transfer"))
