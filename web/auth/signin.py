"""Sign-in with a passkey (usernameless, with autofill where supported) and sign-out."""

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.credentials import credential_find, credential_record_use
from db.models import Credential, Team, User
from domain.passkeys import SignInRefusal, signin_refusal
from web.auth.passkeys import (
    CeremonyError,
    authentication_options,
    authentication_verify,
    ceremony_error_response,
    challenge_take,
    credential_id_of,
    json_ok,
    read_json,
    signin_too_many,
    too_many,
    user_handle_of,
)
from web.core.client_ip import client_ip
from web.core.htmx import render, see_other, session_of
from web.core.i18n import N_
from web.core.i18n import gettext as _
from web.core.nav import home_path
from web.core.redirects import safe_next
from web.core.settings import Settings

# What a refused sign-in tells the person (all answer 403).
REFUSAL_MESSAGES: dict[SignInRefusal, str] = {
    SignInRefusal.USER_HANDLE_MISMATCH: N_("Your passkey could not be checked. Please try again."),
    SignInRefusal.CREDENTIAL_REVOKED: N_(
        "This passkey was revoked. Use another passkey, "
        "or ask your administrator for a new enrolment link."
    ),
    SignInRefusal.USER_INACTIVE: N_("Your account is deactivated. Ask your administrator."),
    SignInRefusal.SIGN_COUNT_REGRESSED: N_(
        "This passkey may have been copied, so it was refused. Tell your administrator."
    ),
}


@dataclass(frozen=True)
class SignInAttempt:
    """A sign-in answer that passed every check: whose passkey, and its new counter."""

    data: dict[str, Any]
    credential: Credential
    user: User
    team: Team | None
    sign_count: int


async def checked_sign_in(request: Request, db: AsyncSession, settings: Settings) -> SignInAttempt:
    """Check a sign-in answer against the session's challenge and the refusal rules.

    Raises `CeremonyError` naming the reason (and the passkey's owner once known).
    """
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
    try:
        new_count = authentication_verify(
            settings, credential, challenge=stored["challenge"], public_key=row.public_key
        )
    except CeremonyError as exc:
        exc.user_id = user.id
        raise
    refusal = signin_refusal(
        user_handle=user_handle_of(credential),
        owner_handle=user.webauthn_handle,
        revoked=row.revoked_at is not None,
        owner_active=user.active,
        stored_count=row.sign_count,
        new_count=new_count,
    )
    if refusal is not None:
        counts = f"stored={row.sign_count} got={new_count}"
        detail = counts if refusal is SignInRefusal.SIGN_COUNT_REGRESSED else ""
        raise CeremonyError(
            refusal.value, _(REFUSAL_MESSAGES[refusal]), status=403, detail=detail, user_id=user.id
        )
    return SignInAttempt(data, row, user, team, new_count)


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
    async def verify(
        self, request: Request, db: AsyncSession, settings: Settings, now: datetime
    ) -> Response:
        """Check the passkey's answer and sign the owner in (the session id is rotated)."""
        if limited := await signin_too_many(request):
            return limited
        try:
            attempt = await checked_sign_in(request, db, settings)
        except CeremonyError as exc:
            await _audit(request, db, "signin_failed", exc.user_id, detail=exc.audit_detail)
            await db.commit()
            return ceremony_error_response(exc)
        row, data = attempt.credential, attempt.data
        await credential_record_use(
            db, credential_pk=row.id, sign_count=attempt.sign_count, now=now
        )
        await _audit(request, db, "signin", attempt.user.id, credential_id=row.id)
        await db.commit()
        state = session_of(request)
        state.sign_in(attempt.user, attempt.team)
        target = safe_next(data.get("next") if isinstance(data.get("next"), str) else None)
        if target == "/":
            target = home_path(request.app, state.actor)
        return json_ok({"redirect": target})

    @post("/logout", name="auth.logout")
    async def logout(self, request: Request) -> Response:
        """End the session server-side and go to the sign-in page."""
        session_of(request).end()
        return see_other(request, request.app.route_reverse("auth.login"))


async def _audit(
    request: Request,
    db: AsyncSession,
    action: str,
    user_id: int | None,
    *,
    credential_id: int | None = None,
    detail: dict[str, str] | None = None,
) -> None:
    """Audit a sign-in or a refused one: the passkey used, else its owner when known."""
    if credential_id is not None:
        entity, entity_id = "credential", credential_id
    else:
        entity, entity_id = ("user" if user_id else ""), user_id
    await audit_add(
        db,
        action=action,
        actor_id=user_id,
        entity=entity,
        entity_id=entity_id,
        detail=detail,
        ip=client_ip(request),
    )
