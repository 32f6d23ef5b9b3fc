"""The admin's pool settings: claim limits, cooling-off, the return rule, and its preview."""

from datetime import datetime

from litestar import Controller, Request, get, post
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.pool import pool_rules_get, pool_rules_set
from db.pool_reclaim import pool_reclaim_count
from domain.enums import Role
from domain.pool import rules_parse, rules_values
from domain.users import Actor
from web.core import labels
from web.core.client_ip import client_ip
from web.core.forms import Form, field, fields
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other
from web.core.i18n import gettext as _


class PoolSettingsController(Controller):
    """Settings → Public pool (admins)."""

    path = "/admin/pool"
    guards = [require_roles(Role.ADMIN)]

    def _page(self, request, values, errors, would_return=None, status_code=200) -> Template:
        """The settings form as a page, or its fragment."""
        return render(
            request,
            "pages/pool/settings.html",
            {
                "active": "settings",
                "labels": labels,
                "values": values,
                "errors": errors,
                "would_return": would_return,
            },
            partial="partials/pool/settings_form.html",
            status_code=status_code,
        )

    @get("/", name="pool.settings")
    async def show(self, request: Request, db: AsyncSession, now: datetime) -> Template:
        """The stored rules, with how many customers they return now."""
        rules = await pool_rules_get(db)
        count = await pool_reclaim_count(db, rules=rules, now=now)
        return self._page(request, rules_values(rules), {}, count)

    @post("/", name="pool.settings_save")
    async def save(
        self, request: Request, db: AsyncSession, actor: Actor, data: Form, now: datetime
    ) -> Template | Redirect:
        """Preview (how many the new rule would return now) or save the rules."""
        rules, errors = rules_parse(fields(data))
        if rules is None:
            return self._page(request, fields(data), errors, None, 422)
        if field(data, "action") == "preview":
            count = await pool_reclaim_count(db, rules=rules, now=now)
            return self._page(request, fields(data), {}, count)
        await pool_rules_set(db, rules=rules)
        await audit_add(
            db,
            action="pool_settings_saved",
            actor_id=actor.id,
            entity="pool_setting",
            entity_id=1,
            detail=rules_values(rules),
            ip=client_ip(request),
        )
        await db.commit()
        flash(request, _("Pool settings saved."))
        return see_other(request, request.app.route_reverse("pool.settings"))
