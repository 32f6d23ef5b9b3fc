"""Enrolment: a one-time link lets a new user create their first passkey and signs them in."""

from datetime import datetime

from litestar import Controller, Request, Response, get, post
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.credentials import (
    credential_add,
    credential_exists,
    credential_ids,
    credential_record_use,
)
from db.enrolment import enrolment_find, enrolment_use
from db.models import EnrolmentToken, Team, User
from web.auth.passkeys import (
    CeremonyError,
    ceremony_error_response,
    challenge_take,
    device_name,
    json_error,
    json_ok,
    read_json,
    registration_options,
    registration_verify,
    too_many,
    transports_of,
)
from web.core.client_ip import client_ip
from web.core.clock import request_now
from web.core.errors import PublicError
from web.core.htmx import flash, render, session_of
from web.core.i18n import gettext as _
from web.core.i18n import set_locale
from web.core.nav import home_path
from web.core.ratelimit import throttle
from web.core.settings import Settings


def link_problem(
    found: tuple[EnrolmentToken, User] | None, now: datetime
) -> tuple[int, str] | None:
    """Say why a link cannot be used (status and plain words), or None when it can."""
    if found is None:
        return 404, _("This link is not valid. Ask your administrator for a new one.")
    link, user = found
    if link.used_at is not None:
        return 410, _("This link has already been used. Ask your administrator for a new one.")
    if not user.active:
        return 410, _("This link is not valid. Ask your administrator for a new one.")
    if link.expires_at <= now:
        return 410, _("This link has expired. Ask your administrator for a new one.")
    return None


class EnrolController(Controller):
    """The enrolment page and its registration ceremony."""

    path = "/enroll"

    @get("/{token:str}", name="enroll.page")
    async def page(self, request: Request, db: AsyncSession, token: str) -> Template:
        """Show who the link is for and the Create passkey button, or why it cannot be used."""
        if throttled := await throttle(request, link=token):
            raise PublicError(429, throttled.message)
        found = await enrolment_find(db, token=token)
        problem = link_problem(found, request_now(request))
        if problem:
            status, message = problem
            context = {
                "problem": message,
                "user": None,
                "signed_in": session_of(request).actor is not None,
            }
            return render(request, "pages/auth/enrol.html", context, status_code=status)
        return render(
            request,
            "pages/auth/enrol.html",
            {"problem": None, "user": found[1], "token": token},
            headers={"Cache-Control": "no-store"},
        )

    @post("/{token:str}/options", name="enroll.options")
    async def options(
        self, request: Request, db: AsyncSession, settings: Settings, token: str
    ) -> Response:
        """Start the registration ceremony for the link's user."""
        if limited := await too_many(request, link=token):
            return limited
        found = await enrolment_find(db, token=token)
        if problem := link_problem(found, request_now(request)):
            return json_error(problem[1], problem[0])
        link, user = found
        exclude = await credential_ids(db, user_id=user.id)
        return registration_options(
            settings, request, user=user, exclude=exclude, purpose="enrol", link_id=link.id
        )

    @post("/{token:str}/verify", name="enroll.verify")
    async def verify(
        self, request: Request, db: AsyncSession, settings: Settings, token: str
    ) -> Response:
        """Store the new passkey and use up the link in one transaction, then sign in."""
        if limited := await too_many(request, link=token):
            return limited
        now = request_now(request)
        try:
            stored = challenge_take(request, "enrol")
            data = await read_json(request)
            found = await enrolment_find(db, token=token)
            if problem := link_problem(found, now):
                raise CeremonyError("link_unusable", problem[1], problem[0])
            link, user = found
            if stored.get("link_id") != link.id or stored.get("user_id") != user.id:
                raise CeremonyError(
                    "challenge_mismatch", _("Please reload the page and try again.")
                )
            credential = data.get("credential")
            verified = registration_verify(settings, credential, challenge=stored["challenge"])
            if await credential_exists(db, credential_id=verified.credential_id):
                raise CeremonyError(
                    "credential_exists", _("This passkey is already registered."), 409
                )
            row = await credential_add(
                db,
                user_id=user.id,
                credential_id=verified.credential_id,
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                transports=transports_of(credential),
                name=device_name(request.headers.get("user-agent", "")),
                now=now,
            )
            # Enrolling signs the person in: that counts as the passkey's first use.
            await credential_record_use(
                db, credential_pk=row.id, sign_count=verified.sign_count, now=now
            )
            if not await enrolment_use(db, token_id=link.id, now=now):
                await db.rollback()
                raise CeremonyError(
                    "link_used",
                    _("This link has already been used. Ask your administrator for a new one."),
                    410,
                )
        except CeremonyError as exc:
            return ceremony_error_response(exc)
        await audit_add(
            db,
            action="passkey_enrolled",
            actor_id=user.id,
            entity="credential",
            entity_id=row.id,
            detail={"name": row.name, "aaguid": verified.aaguid},
            ip=client_ip(request),
        )
        team = await db.get(Team, user.team_id) if user.team_id else None
        await db.commit()
        state = session_of(request)
        state.sign_in(user, team)
        if user.locale:
            set_locale(user.locale)
        flash(request, _("Your passkey is ready. Welcome, %(name)s!", name=user.name))
        return json_ok({"redirect": home_path(state.actor)})
