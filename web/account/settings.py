"""Settings for every signed-in user: language and passkeys (list, add, rename, revoke)."""

from datetime import datetime

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.credentials import credential_list, credential_rename, credential_revoke
from db.privacy import privacy_settings_get
from db.users import user_get
from domain.enums import Role
from domain.passkeys import passkey_name_clean
from domain.privacy import can_handle_requests
from domain.users import Actor
from web.auth.passkeys import (
    CeremonyError,
    ceremony_error_response,
    json_ok,
    registration_finish,
    registration_options,
)
from web.core.client_ip import client_ip
from web.core.forms import Form, field
from web.core.guards import require_user
from web.core.htmx import flash, render, see_other
from web.core.i18n import N_
from web.core.i18n import gettext as _
from web.core.settings import Settings

LAST_PASSKEY = N_(
    "This is your only passkey, so it cannot be revoked: you could not sign in "
    "any more. Add another passkey first. If you lost the device, ask your "
    "administrator for a new enrolment link."
)


async def _page(
    request: Request,
    db: AsyncSession,
    actor: Actor,
    *,
    error: str | None = None,
    status_code: int = 200,
) -> Template:
    """Render the settings page."""
    passkeys = await credential_list(db, user_id=actor.id)
    is_admin = actor.role == Role.ADMIN
    # Admins see the privacy periods here (the issue: "the retention is shown on the
    # settings page"); the form that changes them stays on the Privacy requests page.
    periods = await privacy_settings_get(db) if is_admin else None
    return render(
        request,
        "pages/account/settings.html",
        {
            "active": "settings",
            "passkeys": passkeys,
            "passkey_error": error,
            "is_admin": is_admin,
            "is_manager": actor.role == Role.MANAGER,
            "privacy_periods": periods,
            "privacy_handler": not is_admin and can_handle_requests(actor),
        },
        status_code=status_code,
    )


def _back(request: Request) -> Response:
    """Back to the settings page after a change."""
    return see_other(request, request.app.route_reverse("settings.page"))


class SettingsController(Controller):
    """The signed-in user's own settings."""

    path = "/settings"
    guards = [require_user]

    @get("/", name="settings.page")
    async def page(self, request: Request, db: AsyncSession, actor: Actor) -> Template:
        """Show language choice and the user's passkeys."""
        return await _page(request, db, actor)

    @post("/passkeys/options", name="settings.passkey_options")
    async def add_options(
        self, request: Request, db: AsyncSession, settings: Settings, actor: Actor
    ) -> Response:
        """Start registering one more passkey for the signed-in user."""
        # The session carries plain values only; the ceremony needs the row (its handle).
        found = await user_get(db, user_id=actor.id)
        if found is None:
            raise NotFoundException()
        return await registration_options(request, db, settings, user=found[0], purpose="add")

    @post("/passkeys/verify", name="settings.passkey_verify")
    async def add_verify(
        self, request: Request, db: AsyncSession, settings: Settings, actor: Actor, now: datetime
    ) -> Response:
        """Store the new passkey."""
        try:
            row = await registration_finish(
                request,
                db,
                settings,
                purpose="add",
                user_id=actor.id,
                audit_action="passkey_added",
                now=now,
            )
        except CeremonyError as exc:
            return ceremony_error_response(exc)
        await db.commit()
        flash(request, _("Passkey added: %(name)s.", name=row.name))
        return json_ok({"redirect": request.app.route_reverse("settings.page")})

    @post("/passkeys/{credential_pk:int}/revoke", name="settings.passkey_revoke")
    async def revoke(
        self, request: Request, db: AsyncSession, actor: Actor, now: datetime, credential_pk: int
    ) -> Template | Redirect | Response:
        """Revoke one passkey, never the last active one."""
        mine = {c.id: c for c in await credential_list(db, user_id=actor.id)}
        if credential_pk not in mine:
            raise NotFoundException()
        if not await credential_revoke(db, credential_pk=credential_pk, user_id=actor.id, now=now):
            await db.rollback()
            return await _page(
                request,
                db,
                actor,
                error=_(LAST_PASSKEY),
                status_code=409,
            )
        name = mine[credential_pk].name
        await audit_add(
            db,
            action="passkey_revoked",
            actor_id=actor.id,
            entity="credential",
            entity_id=credential_pk,
            detail={"name": name},
            ip=client_ip(request),
        )
        await db.commit()
        flash(request, _("Passkey revoked: %(name)s.", name=name))
        return _back(request)

    @post("/passkeys/{credential_pk:int}/rename", name="settings.passkey_rename")
    async def rename(
        self, request: Request, db: AsyncSession, actor: Actor, credential_pk: int, data: Form
    ) -> Template | Redirect | Response:
        """Give a passkey a name its owner recognises."""
        name = passkey_name_clean(field(data, "name"))
        if name is None:
            return await _page(
                request,
                db,
                actor,
                error=_("A passkey name needs 1 to 100 characters."),
                status_code=422,
            )
        if not await credential_rename(
            db, credential_pk=credential_pk, user_id=actor.id, name=name
        ):
            raise NotFoundException()
        await db.commit()
        flash(request, _("Passkey renamed."))
        return _back(request)
