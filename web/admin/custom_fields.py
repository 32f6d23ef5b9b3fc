"""Admin: define the custom customer fields (key, labels, kind, required, choices)."""

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.custom_fields import (
    custom_field_add,
    custom_field_get,
    custom_field_key_taken,
    custom_field_list,
    custom_field_missing,
    custom_field_retire,
    custom_field_update,
)
from db.models import CustomFieldDefinition
from domain.custom_fields import MSG_KEY_TAKEN, validate_custom_field
from domain.enums import Role
from domain.users import Actor
from web.core import labels
from web.core.client_ip import client_ip
from web.core.forms import Form, fields
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other
from web.core.i18n import gettext as _


def _values(row: CustomFieldDefinition) -> dict[str, str]:
    """Return a stored definition as form values."""
    return {
        "key": row.key,
        "label_en": row.label_en,
        "label_zh": row.label_zh,
        "kind": row.kind,
        "required": "1" if row.required else "",
        "choices": "\n".join(row.choices or []),
    }


def _edit_page(
    request: Request,
    row: CustomFieldDefinition,
    values: dict[str, str],
    *,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    """The form changing one field: the page, or the form alone for HTMX."""
    context = {
        "active": "",
        "editing": row,
        "values": values,
        "errors": errors or {},
        "labels": labels,
    }
    return render(
        request,
        "pages/admin/custom_field_edit.html",
        context,
        partial="partials/admin/custom_field_form.html",
        status_code=status_code,
    )


async def _flash_missing(request: Request, db: AsyncSession, key: str) -> None:
    """Tell the admin how many customers still lack a field just made required."""
    count = (await custom_field_missing(db, keys=[key], limit=0))[key].count
    if count:
        flash(
            request,
            _(
                "%(n)s existing customers have no value yet: their next full edit asks for it; "
                "visits, stage moves and follow-ups are not blocked.",
                n=count,
            ),
        )


class CustomFieldController(Controller):
    """The admin page for custom customer fields."""

    path = "/admin/custom-fields"
    guards = [require_roles(Role.ADMIN)]

    async def _page(
        self,
        request: Request,
        db: AsyncSession,
        *,
        values: dict[str, str] | None = None,
        errors: dict[str, str] | None = None,
        status_code: int = 200,
    ) -> Template:
        """Render the list with the add form."""
        rows = await custom_field_list(db, include_retired=True)
        required = [r.key for r in rows if r.active and r.required]
        context = {
            "active": "",
            "rows": rows,
            "missing": await custom_field_missing(db, keys=required),
            "values": values or {"kind": "text"},
            "errors": errors or {},
            "labels": labels,
            "editing": None,
        }
        return render(
            request,
            "pages/admin/custom_fields.html",
            context,
            partial="partials/admin/custom_field_form.html",
            status_code=status_code,
        )

    @get("/", name="custom_fields.list")
    async def index(self, request: Request, db: AsyncSession) -> Template:
        """List the fields and offer to add one."""
        return await self._page(request, db)

    @post("/", name="custom_fields.create")
    async def create(
        self, request: Request, db: AsyncSession, actor: Actor, data: Form
    ) -> Template | Redirect | Response:
        """Define a new field."""
        form = fields(data)
        definition, errors = validate_custom_field(form)
        if definition is not None and await custom_field_key_taken(db, key=definition.key):
            definition, errors = None, {"key": MSG_KEY_TAKEN}
        if definition is None:
            return await self._page(request, db, values=form, errors=errors, status_code=422)
        await custom_field_add(db, definition=definition, user_id=actor.id, ip=client_ip(request))
        await db.commit()
        flash(request, _("Field added."))
        if definition.required:
            await _flash_missing(request, db, definition.key)
        return see_other(request, request.app.route_reverse("custom_fields.list"))

    async def _row(self, db: AsyncSession, field_id: int) -> CustomFieldDefinition:
        """Return one definition or answer 404."""
        row = await custom_field_get(db, field_id=field_id)
        if row is None:
            raise NotFoundException()
        return row

    @get("/{field_id:int}/edit", name="custom_fields.edit")
    async def edit(self, request: Request, db: AsyncSession, field_id: int) -> Template:
        """The form to change a field (its key stays: stored values are kept under it)."""
        row = await self._row(db, field_id)
        return _edit_page(request, row, _values(row))

    @post("/{field_id:int}/edit", name="custom_fields.update")
    async def update(
        self, request: Request, db: AsyncSession, actor: Actor, field_id: int, data: Form
    ) -> Template | Redirect | Response:
        """Save a changed field."""
        row = await self._row(db, field_id)
        form = fields(data)
        definition, errors = validate_custom_field(form, key_fixed=row.key)
        if definition is None:
            values = {**form, "key": row.key}
            return _edit_page(request, row, values, errors=errors, status_code=422)
        await custom_field_update(
            db, row=row, definition=definition, user_id=actor.id, ip=client_ip(request)
        )
        await db.commit()
        flash(request, _("Field saved."))
        if definition.required:
            await _flash_missing(request, db, row.key)
        return see_other(request, request.app.route_reverse("custom_fields.list"))

    @post("/{field_id:int}/retire", name="custom_fields.retire")
    async def retire(
        self, request: Request, db: AsyncSession, actor: Actor, field_id: int
    ) -> Redirect | Response:
        """Hide a field from forms and pages (values stay stored)."""
        row = await self._row(db, field_id)
        await custom_field_retire(db, row=row, user_id=actor.id, ip=client_ip(request))
        await db.commit()
        flash(request, _("Field removed from the customer form."))
        return see_other(request, request.app.route_reverse("custom_fields.list"))
