"""Admin: the member tier (RFM) thresholds the counter's badges use."""

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.counter import rfm_thresholds_get, rfm_thresholds_set
from domain.enums import Role
from domain.rfm import rfm_form_values, rfm_thresholds_parse
from web.core.forms import Form, fields
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other
from web.core.i18n import N_, gettext

RFM_FIELDS = {
    "recency_core_days": N_("Core: last store visit within (days)"),
    "recency_key_days": N_("Key: last store visit within (days)"),
    "frequency_core": N_("Core: store visits in a year, at least"),
    "frequency_key": N_("Key: store visits in a year, at least"),
    "monetary_core_cents": N_("Core: spend in a year, at least (yuan)"),
    "monetary_key_cents": N_("Key: spend in a year, at least (yuan)"),
}


def _page(
    request: Request, values: dict, errors: dict[str, str], status_code: int = 200
) -> Template:
    """Render the thresholds form (errors are msgids, translated in the template)."""
    context = {"values": values, "errors": errors, "fields": RFM_FIELDS}
    return render(request, "pages/admin/rfm.html", context, status_code=status_code)


class RfmAdminController(Controller):
    """Admins set the member tier thresholds."""

    path = "/admin/rfm"
    guards = [require_roles(Role.ADMIN)]

    @get("/", name="rfm.admin")
    async def page(self, request: Request, db: AsyncSession) -> Template:
        """Show the thresholds form."""
        return _page(request, rfm_form_values(await rfm_thresholds_get(db)), {})

    @post("/", name="rfm.save")
    async def save(
        self, request: Request, db: AsyncSession, data: Form
    ) -> Template | Redirect | Response:
        """Validate and store the thresholds."""
        typed = fields(data)
        thresholds, errors = rfm_thresholds_parse(typed)
        if thresholds is None:
            return _page(request, typed, errors, status_code=422)
        await rfm_thresholds_set(db, thresholds=thresholds)
        await db.commit()
        flash(request, gettext("Member tier thresholds saved."))
        return see_other(request, request.app.route_reverse("rfm.admin"))
