"""Admin: the member tier (RFM) thresholds the counter's badges use."""

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Response, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.counter import rfm_thresholds_get, rfm_thresholds_set
from domain.enums import Role
from domain.rfm import RfmThresholds
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


class RfmAdminController(Controller):
    """Admins set the member tier thresholds."""

    path = "/admin/rfm"
    guards = [require_roles(Role.ADMIN)]

    @get("/", name="rfm.admin")
    async def page(self, request: Request, db: AsyncSession) -> Template:
        """Show the thresholds form."""
        t = await rfm_thresholds_get(db)
        values = {k: getattr(t, k) for k in RFM_FIELDS}
        values["monetary_core_cents"] //= 100
        values["monetary_key_cents"] //= 100
        return render(
            request, "pages/admin/rfm.html", {"values": values, "errors": {}, "fields": RFM_FIELDS}
        )

    @post("/", name="rfm.save")
    async def save(self, request: Request, db: AsyncSession) -> Template | Redirect | Response:
        """Validate and store the thresholds."""
        form = {k: str(v).strip() for k, v in (await request.form()).items()}
        errors: dict[str, str] = {}
        numbers: dict[str, int] = {}
        for name in RFM_FIELDS:
            raw = form.get(name, "")
            if not raw.isdigit() or int(raw) > 10**9:
                errors[name] = N_("Enter a whole number of 0 or more.")
            else:
                numbers[name] = int(raw) * (100 if name.startswith("monetary") else 1)
        thresholds = None
        if not errors:
            try:
                thresholds = RfmThresholds(**numbers)
            except ValueError:
                errors["form"] = N_(
                    "Core limits must be at least as demanding as key limits, and counts above 0."
                )
        if thresholds is None:
            return render(
                request,
                "pages/admin/rfm.html",
                {"values": form, "errors": errors, "fields": RFM_FIELDS},
                status_code=422,
            )
        await rfm_thresholds_set(db, thresholds=thresholds)
        await db.commit()
        flash(request, gettext("Member tier thresholds saved."))
        return see_other(request, "/admin/rfm")
