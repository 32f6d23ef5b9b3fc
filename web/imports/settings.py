"""Admin setting: which roles may export and which may import (admins always may)."""

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.exports import export_roles_get, transfer_roles_save
from db.imports import import_roles_get
from domain.enums import Role
from domain.users import Actor
from web.admin.users import ROLE_LABELS
from web.core.client_ip import client_ip
from web.core.forms import Form, field_list
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other
from web.core.i18n import gettext as _

# The roles an admin can switch; admins keep both so someone can always move data.
SWITCHABLE = (Role.REP, Role.CLERK, Role.MANAGER)


def _chosen(data: Form, name: str) -> set[Role]:
    """The switchable roles ticked in one group of checkboxes."""
    allowed = {r.value for r in SWITCHABLE}
    return {Role(v) for v in field_list(data, name) if v in allowed}


class TransferSettingsController(Controller):
    """Admins choose which roles may export customers and visits, and import customers."""

    path = "/admin/transfer"
    guards = [require_roles(Role.ADMIN)]

    @get("/", name="admin.transfer")
    async def page(self, request: Request, db: AsyncSession) -> Template:
        """The form with the stored choice."""
        exports, imports = await export_roles_get(db), await import_roles_get(db)
        rows = [(r, _(ROLE_LABELS[r]), r in exports, r in imports) for r in SWITCHABLE]
        return render(request, "pages/imports/settings.html", {"active": "", "roles": rows})

    @post("/", name="admin.transfer.save")
    async def save(self, request: Request, db: AsyncSession, actor: Actor, data: Form) -> Redirect:
        """Store the roles that may export and import; audited."""
        exports, imports = _chosen(data, "export"), _chosen(data, "import")
        await transfer_roles_save(db, export_roles=exports, import_roles=imports)
        detail = {
            "export": sorted(r.value for r in exports),
            "import": sorted(r.value for r in imports),
        }
        await audit_add(
            db, action="settings.transfer", actor_id=actor.id, detail=detail, ip=client_ip(request)
        )
        await db.commit()
        flash(request, _("Import and export settings saved."))
        return see_other(request, request.app.route_reverse("admin.transfer"))
