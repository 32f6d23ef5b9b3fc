"""Admin setting: which roles may export and which may import (admins always may)."""

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.exports import export_roles_get, transfer_roles_save
from db.imports import import_max_upload_mb_get, import_max_upload_mb_set, import_roles_get
from domain.enums import Role
from domain.imports import MAX_UPLOAD_MB, upload_limit_parse
from domain.users import Actor
from web.admin.users import ROLE_LABELS
from web.core.client_ip import client_ip
from web.core.forms import Form, field, field_list, fields
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other
from web.core.i18n import N_
from web.core.i18n import gettext as _

MSG_UPLOAD_LIMIT = N_("Enter a whole number of MB from 1 to %(max)s.")
MESSAGES = (MSG_UPLOAD_LIMIT,)

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

    async def _page(
        self,
        request: Request,
        db: AsyncSession,
        *,
        values: dict,
        errors: dict,
        typed: tuple[set[Role], set[Role]] | None = None,
        status: int = 200,
    ) -> Template:
        """The form with the stored choice (or what was typed, beside its error)."""
        exports, imports = typed or (await export_roles_get(db), await import_roles_get(db))
        rows = [(r, _(ROLE_LABELS[r]), r in exports, r in imports) for r in SWITCHABLE]
        context = {"active": "", "roles": rows, "values": values, "errors": errors,
                   "max_upload_mb": MAX_UPLOAD_MB}  # fmt: skip
        return render(request, "pages/imports/settings.html", context, status_code=status)

    @get("/", name="admin.transfer")
    async def page(self, request: Request, db: AsyncSession) -> Template:
        """The form with the stored choice."""
        values = {"max_upload_mb": str(await import_max_upload_mb_get(db))}
        return await self._page(request, db, values=values, errors={})

    @post("/", name="admin.transfer.save")
    async def save(
        self, request: Request, db: AsyncSession, actor: Actor, data: Form
    ) -> Template | Redirect:
        """Store the roles that may export and import and the upload size limit; audited."""
        # A form without the field (an older page) leaves the stored limit as it is.
        raw = field(data, "max_upload_mb") if "max_upload_mb" in data else None
        limit = await import_max_upload_mb_get(db) if raw is None else upload_limit_parse(raw)
        if limit is None:
            errors = {"max_upload_mb": _(MSG_UPLOAD_LIMIT, max=MAX_UPLOAD_MB)}
            typed = (_chosen(data, "export"), _chosen(data, "import"))
            return await self._page(
                request, db, values=fields(data), errors=errors, typed=typed, status=422
            )
        exports, imports = _chosen(data, "export"), _chosen(data, "import")
        await transfer_roles_save(db, export_roles=exports, import_roles=imports)
        await import_max_upload_mb_set(db, mb=limit)
        detail = {
            "export": sorted(r.value for r in exports),
            "import": sorted(r.value for r in imports),
            "max_upload_mb": limit,
        }
        await audit_add(
            db, action="settings.transfer", actor_id=actor.id, detail=detail, ip=client_ip(request)
        )
        await db.commit()
        flash(request, _("Import and export settings saved."))
        return see_other(request, request.app.route_reverse("admin.transfer"))
