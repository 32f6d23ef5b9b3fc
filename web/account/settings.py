"""Settings for every signed-in user: language and passkeys (list, add, rename, revoke)."""

from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.credentials import (
    credential_add,
    credential_exists,
    credential_ids,
    credential_list,
    credential_rename,
    credential_revoke,
)
from domain.enums import Role
from domain.users import Actor
from web.auth.passkeys import (
    CeremonyError,
    ceremony_error_response,
    challenge_take,
    device_name,
    json_ok,
    read_json,
    registration_options,
    registration_verify,
    transports_of,
)
from web.core.client_ip import client_ip
from web.core.clock import request_now
from web.core.forms import Form
from web.core.guards import require_user
from web.core.htmx import flash, render, session_of
from web.core.i18n import gettext as _
from web.core.settings import Settings


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
    return render(
        request,
        "pages/account/settings.html",
        {
            "active": "settings",
            "passkeys": passkeys,
            "passkey_error": error,
            "is_admin": actor.role == Role.ADMIN,
        },
        status_code=status_code,
    )


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
        user = session_of(request).user
        exclude = await credential_ids(db, user_id=actor.id)
        return registration_options(settings, request, user=user, exclude=exclude, purpose="add")

    @post("/passkeys/verify", name="settings.passkey_verify")
    async def add_verify(
        self, request: Request, db: AsyncSession, settings: Settings, actor: Actor
    ) -> Response:
        """Store the new passkey."""
        try:
            stored = challenge_take(request, "add")
            data = await read_json(request)
            if stored.get("user_id") != actor.id:
                raise CeremonyError(
                    "challenge_mismatch", _("Please reload the page and try again.")
                )
            credential = data.get("credential")
            verified = registration_verify(settings, credential, challenge=stored["challenge"])
            if await credential_exists(db, credential_id=verified.credential_id):
                raise CeremonyError(
                    "credential_exists", _("This passkey is already registered."), 409
                )
        except CeremonyError as exc:
            return ceremony_error_response(exc)
        row = await credential_add(
            db,
            user_id=actor.id,
            credential_id=verified.credential_id,
            public_key=verified.credential_public_key,
            sign_count=verified.sign_count,
            transports=transports_of(credential),
            name=device_name(request.headers.get("user-agent", "")),
            now=request_now(request),
        )
        await audit_add(
            db,
            action="passkey_added",
            actor_id=actor.id,
            entity="credential",
            entity_id=row.id,
            detail={"name": row.name, "aaguid": verified.aaguid},
            ip=client_ip(request),
        )
        await db.commit()
        flash(request, _("Passkey added: %(name)s.", name=row.name))
        return json_ok({"redirect": "/settings"})

    @post("/passkeys/{credential_pk:int}/revoke", name="settings.passkey_revoke")
    async def revoke(
        self, request: Request, db: AsyncSession, actor: Actor, credential_pk: int
    ) -> Template | Redirect:
        """Revoke one passkey, never the last active one."""
        mine = {c.id: c for c in await credential_list(db, user_id=actor.id)}
        if credential_pk not in mine:
            raise NotFoundException()
        if not await credential_revoke(
            db, credential_pk=credential_pk, user_id=actor.id, now=request_now(request)
        ):
            await db.rollback()
            return await _page(
                request,
                db,
                actor,
                error=_(
                    "This is your only passkey, so it cannot be revoked: you could not sign in "
                    "any more. Add another passkey first. If you lost the device, ask your "
                    "administrator for a new enrolment link."
                ),
                status_code=409,
            )
        await audit_add(
            db,
            action="passkey_revoked",
            actor_id=actor.id,
            entity="credential",
            entity_id=credential_pk,
            detail={"name": mine[credential_pk].name},
            ip=client_ip(request),
        )
        await db.commit()
        flash(request, _("Passkey revoked: %(name)s.", name=mine[credential_pk].name))
        return Redirect(path="/settings", status_code=303)

    @post("/passkeys/{credential_pk:int}/rename", name="settings.passkey_rename")
    async def rename(
        self, request: Request, db: AsyncSession, actor: Actor, credential_pk: int, data: Form
    ) -> Template | Redirect:
        """Give a passkey a name its owner recognises."""
        name = " ".join(data.get("name", "").split())
        if not name or len(name) > 100:
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
        return Redirect(path="/settings", status_code=303)
