"""Enrolment: a one-time link lets a new user create their first passkey and signs them in."""

from datetime import datetime

from litestar import Controller, Litestar, Request, Response, get, post
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.credentials import credential_record_use
from db.enrolment import enrolment_find, enrolment_use
from db.models import EnrolmentToken, Team, User
from domain.passkeys import LinkProblem, LinkState, enrolment_link_problem
from web.auth.passkeys import (
    CeremonyError,
    ceremony_error_response,
    json_ok,
    registration_finish,
    registration_options,
    too_many,
)
from web.core.errors import PublicError
from web.core.htmx import flash, render, session_of
from web.core.i18n import N_, set_locale
from web.core.i18n import gettext as _
from web.core.nav import home_path
from web.core.ratelimit import throttle
from web.core.settings import Settings

# What the page (or the ceremony's JSON) says about an unusable link, with its status.
LINK_PROBLEMS: dict[LinkProblem, tuple[int, str]] = {
    LinkProblem.UNKNOWN: (404, N_("This link is not valid. Ask your administrator for a new one.")),
    LinkProblem.INACTIVE: (
        410,
        N_("This link is not valid. Ask your administrator for a new one."),
    ),
    LinkProblem.USED: (
        410,
        N_("This link has already been used. Ask your administrator for a new one."),
    ),
    LinkProblem.EXPIRED: (
        410,
        N_("This link has expired. Ask your administrator for a new one."),
    ),
}


def enrol_url(app: Litestar, origin: str, token: str) -> str:
    """The public URL of an enrolment link (`app` may be one holding only EnrolController)."""
    return origin + app.route_reverse("enroll.page", token=token)


def link_refusal(problem: LinkProblem) -> CeremonyError:
    """The refusal for an unusable link, in plain words."""
    status, message = LINK_PROBLEMS[problem]
    return CeremonyError(f"link_{problem}", _(message), status)


async def usable_link(db: AsyncSession, token: str, now: datetime) -> tuple[EnrolmentToken, User]:
    """Return the link and its user, or raise a `CeremonyError` saying why it cannot be used."""
    found = await enrolment_find(db, token=token)
    state = LinkState(found[0].used_at, found[0].expires_at, found[1].active) if found else None
    if problem := enrolment_link_problem(state, now):
        raise link_refusal(problem)
    return found


class EnrolController(Controller):
    """The enrolment page and its registration ceremony."""

    path = "/enroll"

    @get("/{token:str}", name="enroll.page")
    async def page(self, request: Request, db: AsyncSession, now: datetime, token: str) -> Template:
        """Show who the link is for and the Create passkey button, or why it cannot be used."""
        if throttled := await throttle(request, link=token):
            raise PublicError(429, throttled.message)
        try:
            _link, user = await usable_link(db, token, now)
        except CeremonyError as exc:
            signed_in = session_of(request).actor is not None
            context = {"problem": exc.message, "user": None, "signed_in": signed_in}
            return render(request, "pages/auth/enrol.html", context, status_code=exc.status)
        return render(
            request,
            "pages/auth/enrol.html",
            {"problem": None, "user": user, "token": token},
            headers={"Cache-Control": "no-store"},
        )

    @post("/{token:str}/options", name="enroll.options")
    async def options(
        self, request: Request, db: AsyncSession, settings: Settings, now: datetime, token: str
    ) -> Response:
        """Start the registration ceremony for the link's user."""
        if limited := await too_many(request, link=token):
            return limited
        try:
            link, user = await usable_link(db, token, now)
        except CeremonyError as exc:
            return ceremony_error_response(exc)
        return await registration_options(
            request, db, settings, user=user, purpose="enrol", link_id=link.id
        )

    @post("/{token:str}/verify", name="enroll.verify")
    async def verify(
        self, request: Request, db: AsyncSession, settings: Settings, now: datetime, token: str
    ) -> Response:
        """Store the new passkey and use up the link in one transaction, then sign in."""
        if limited := await too_many(request, link=token):
            return limited
        try:
            user = await _redeem(request, db, settings, token, now)
        except CeremonyError as exc:
            return ceremony_error_response(exc)
        team = await db.get(Team, user.team_id) if user.team_id else None
        await db.commit()
        state = session_of(request)
        state.sign_in(user, team)
        if user.locale:
            set_locale(user.locale)
        flash(request, _("Your passkey is ready. Welcome, %(name)s!", name=user.name))
        return json_ok({"redirect": home_path(request.app, state.actor)})


async def _redeem(
    request: Request, db: AsyncSession, settings: Settings, token: str, now: datetime
) -> User:
    """Register the link's passkey and use the link up (caller commits); return its user."""
    link, user = await usable_link(db, token, now)
    row = await registration_finish(
        request,
        db,
        settings,
        purpose="enrol",
        user_id=user.id,
        audit_action="passkey_enrolled",
        now=now,
        link_id=link.id,
    )
    # Enrolling signs the person in: that counts as the passkey's first use.
    await credential_record_use(db, credential_pk=row.id, sign_count=row.sign_count, now=now)
    if not await enrolment_use(db, token_id=link.id, now=now):
        await db.rollback()
        raise link_refusal(LinkProblem.USED)
    return user
