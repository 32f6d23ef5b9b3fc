"""Sign-in with a passkey (usernameless, with autofill where supported) and sign-out."""

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.credentials import credential_find, credential_record_use
from web.auth.passkeys import (
    CeremonyError,
    authentication_options,
    authentication_verify,
    ceremony_error_response,
    challenge_take,
    credential_id_of,
    invalid_message,
    json_ok,
    read_json,
    signin_too_many,
    too_many,
    user_handle_of,
)
from web.core.client_ip import client_ip
from web.core.clock import request_now
from web.core.htmx import render, session_of
from web.core.i18n import gettext as _
from web.core.nav import home_path
from web.core.redirects import safe_next
from web.core.settings import Settings


class AuthController(Controller):
    """Sign in and sign out."""

    @get("/login", name="auth.login")
    async def login(self, request: Request, next: str | None = None) -> Template | Redirect:
        """Show the sign-in page (or go on when already signed in)."""
        if session_of(request).actor is not None:
            return Redirect(path=safe_next(next), status_code=303)
        return render(request, "pages/auth/login.html", {"next": safe_next(next)})

    @post("/login/options", name="auth.options")
    async def options(self, request: Request, settings: Settings) -> Response:
        """Start a sign-in ceremony: a fresh challenge kept in this visitor's session."""
        # The autofill request of every sign-in page load: only the address flood guard.
        if limited := await too_many(request):
            return limited
        return authentication_options(settings, request)

    @post("/login/verify", name="auth.verify")
    async def verify(self, request: Request, db: AsyncSession, settings: Settings) -> Response:
        """Check the passkey's answer and sign the owner in (the session id is rotated)."""
        if limited := await signin_too_many(request):
            return limited
        state = session_of(request)
        owner_id: int | None = None
        try:
            stored = challenge_take(request, "signin")
            data = await read_json(request)
            credential = data.get("credential")
            found = await credential_find(db, credential_id=credential_id_of(credential))
            if found is None:
                raise CeremonyError(
                    "unknown_credential",
                    _(
                        "This passkey is not registered with Kehu. "
                        "Ask your administrator for an enrolment link."
                    ),
                )
            row, user, team = found
            owner_id = user.id
            new_count = authentication_verify(
                settings, credential, challenge=stored["challenge"], public_key=row.public_key
            )
            if user_handle_of(credential) != user.webauthn_handle:
                raise CeremonyError("user_handle_mismatch", invalid_message(), status=403)
            if row.revoked_at is not None:
                raise CeremonyError(
                    "credential_revoked",
                    _(
                        "This passkey was revoked. Use another passkey, "
                        "or ask your administrator for a new enrolment link."
                    ),
                    status=403,
                )
            if not user.active:
                raise CeremonyError(
                    "user_inactive",
                    _("Your account is deactivated. Ask your administrator."),
                    status=403,
                )
            if row.sign_count != 0 and new_count <= row.sign_count:
                raise CeremonyError(
                    "sign_count_regressed",
                    _(
                        "This passkey may have been copied, so it was refused. "
                        "Tell your administrator."
                    ),
                    status=403,
                    detail=f"stored={row.sign_count} got={new_count}",
                )
        except CeremonyError as exc:
            detail = {"reason": exc.reason}
            if exc.detail:
                detail["detail"] = exc.detail
            await audit_add(
                db,
                action="signin_failed",
                actor_id=owner_id,
                entity="user" if owner_id else "",
                entity_id=owner_id,
                detail=detail,
                ip=client_ip(request),
            )
            await db.commit()
            return ceremony_error_response(exc)
        now = request_now(request)
        await credential_record_use(db, credential_pk=row.id, sign_count=new_count, now=now)
        await audit_add(
            db,
            action="signin",
            actor_id=user.id,
            entity="credential",
            entity_id=row.id,
            ip=client_ip(request),
        )
        await db.commit()
        state.sign_in(user, team)
        target = safe_next(data.get("next") if isinstance(data.get("next"), str) else None)
        if target == "/":
            target = home_path(state.actor)
        return json_ok({"redirect": target})

    @post("/logout", name="auth.logout")
    async def logout(self, request: Request) -> Redirect:
        """End the session server-side and go to the sign-in page."""
        session_of(request).end()
        return Redirect(path="/login", status_code=303)
