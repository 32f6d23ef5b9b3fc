"""The admin's Users page: create users, show their enrolment link and QR code, (de)activate."""

import base64
import hashlib
from datetime import datetime

from cryptography.fernet import Fernet, InvalidToken
from litestar import Controller, Request, Response, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.enrolment import enrolment_create
from db.models import Team, User
from db.pool import pool_owned_count
from db.sessions import session_delete_for_user
from db.users import (
    team_get_or_create,
    team_list,
    user_add,
    user_get,
    user_overview,
    user_set_active,
    user_set_privacy,
)
from domain.enums import Role
from domain.users import Actor, UserForm, user_form_validate
from web.auth.enrol import enrol_url
from web.core.client_ip import client_ip
from web.core.forms import Form, field, fields
from web.core.guards import require_roles
from web.core.htmx import flash, render, see_other, session_of
from web.core.i18n import N_
from web.core.i18n import gettext as _
from web.core.settings import Settings

ROLE_LABELS = {
    Role.REP: N_("Sales rep"),
    Role.CLERK: N_("Store clerk"),
    Role.MANAGER: N_("Manager"),
    Role.ADMIN: N_("Administrator"),
}
LINK_KEY = "admin:enrol_link"
LINK_SHOWN_SECONDS = 600


def _fernet(settings: Settings) -> Fernet:
    """A key derived from the app secret, used only to carry a new link across one redirect."""
    digest = hashlib.sha256(("kehu-enrolment-link:" + settings.secret_key).encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def stash_link(
    request: Request, settings: Settings, *, user_id: int, token: str, now: datetime
) -> None:
    """Keep a new link for the page the admin is redirected to, encrypted (never stored raw)."""
    sealed = _fernet(settings).encrypt_at_time(token.encode(), int(now.timestamp())).decode()
    session_of(request).set(LINK_KEY, {"user_id": user_id, "sealed": sealed})


def take_link(request: Request, settings: Settings, *, user_id: int, now: datetime) -> str | None:
    """Return the stashed link token for this user once (within minutes of making it), or None."""
    stashed = session_of(request).pop(LINK_KEY)
    if not isinstance(stashed, dict) or stashed.get("user_id") != user_id:
        return None
    try:
        sealed = stashed["sealed"]
        at = int(now.timestamp())
        return _fernet(settings).decrypt_at_time(sealed, LINK_SHOWN_SECONDS, at).decode()
    except (InvalidToken, KeyError, TypeError):
        return None


def qr_svg(url: str) -> Markup:
    """Render a QR code of the URL as inline SVG (segno writes only path data, no text)."""
    import segno  # here: only the admin's Users page needs it, not every worker

    svg = segno.make(url, error="m").svg_inline(
        scale=1, border=2, omitsize=True, dark="#000", light="#fff", svgclass="qr-code"
    )
    return Markup(svg)  # noqa: S704 - generated markup, no user input inside


async def _user_or_404(db: AsyncSession, user_id: int) -> User:
    """Return the user, or answer 404."""
    found = await user_get(db, user_id=user_id)
    if found is None:
        raise NotFoundException()
    return found[0]


async def _audit(
    request: Request,
    db: AsyncSession,
    actor: Actor,
    action: str,
    user_id: int,
    detail: dict | None = None,
) -> None:
    """Audit what the admin did to a user."""
    await audit_add(
        db,
        action=action,
        actor_id=actor.id,
        entity="user",
        entity_id=user_id,
        detail=detail,
        ip=client_ip(request),
    )


async def _users_page(
    request: Request,
    db: AsyncSession,
    actor: Actor,
    form: UserForm,
    *,
    teams: list[Team] | None = None,
    status_code: int = 200,
) -> Template:
    """Render the Users page with the create form (its errors are msgids)."""
    context = {
        "active": "settings",
        "users": await user_overview(db),
        "teams": teams if teams is not None else await team_list(db),
        "form": form,
        "roles": ROLE_LABELS,
        "self_id": actor.id,
    }
    return render(request, "pages/admin/users.html", context, status_code=status_code)


async def _new_link(
    request: Request,
    db: AsyncSession,
    settings: Settings,
    actor: Actor,
    now: datetime,
    *,
    user_id: int,
    action: str,
    detail: dict | None = None,
) -> Response:
    """Make a fresh enrolment link, audit why, commit, and show the link on the next page."""
    token = await enrolment_create(
        db, user_id=user_id, created_by=actor.id, ttl_hours=settings.enrol_ttl_hours, now=now
    )
    await _audit(request, db, actor, action, user_id, detail)
    await db.commit()
    stash_link(request, settings, user_id=user_id, token=token, now=now)
    return see_other(request, request.app.route_reverse("admin_users.link", user_id=user_id))


def _to_list(request: Request) -> Response:
    """Back to the Users page after a change."""
    return see_other(request, request.app.route_reverse("admin_users.list"))


class AdminUsersController(Controller):
    """Users, for admins only."""

    path = "/admin/users"
    guards = [require_roles(Role.ADMIN)]

    @get("/", name="admin_users.list")
    async def index(self, request: Request, db: AsyncSession, actor: Actor) -> Template:
        """List users and offer the create form."""
        return await _users_page(request, db, actor, UserForm(role=Role.REP))

    @post("/", name="admin_users.create")
    async def create(
        self,
        request: Request,
        db: AsyncSession,
        settings: Settings,
        actor: Actor,
        now: datetime,
        data: Form,
    ) -> Template | Redirect | Response:
        """Create a user and an enrolment link; show the link on the next page."""
        teams = await team_list(db)
        form = user_form_validate(fields(data), team_ids={t.id for t in teams})
        if form.errors:
            return await _users_page(request, db, actor, form, teams=teams, status_code=422)
        team_id = form.existing_team_id
        if form.new_team:
            team_id = (await team_get_or_create(db, name=form.new_team, is_store=form.store)).id
        user = await user_add(db, name=form.name, role=form.role, team_id=team_id)
        detail = {"name": user.name, "role": user.role, "team_id": team_id}
        return await _new_link(
            request, db, settings, actor, now, user_id=user.id, action="user_created", detail=detail
        )

    @get("/{user_id:int}/link", name="admin_users.link")
    async def link(
        self, request: Request, db: AsyncSession, settings: Settings, now: datetime, user_id: int
    ) -> Template:
        """Show a freshly made enrolment link and its QR code (once)."""
        user = await _user_or_404(db, user_id)
        token = take_link(request, settings, user_id=user_id, now=now)
        url = enrol_url(request.app, settings.origin, token) if token else None
        return render(
            request,
            "pages/admin/user_link.html",
            {
                "active": "settings",
                "user": user,
                "url": url,
                "qr": qr_svg(url) if url else None,
                "hours": settings.enrol_ttl_hours,
            },
            headers={"Cache-Control": "no-store"},
        )

    @post("/{user_id:int}/reissue", name="admin_users.reissue")
    async def reissue(
        self,
        request: Request,
        db: AsyncSession,
        settings: Settings,
        actor: Actor,
        now: datetime,
        user_id: int,
    ) -> Redirect | Response:
        """Make a new enrolment link (a lost phone); older unused links stop working."""
        await _user_or_404(db, user_id)
        return await _new_link(
            request, db, settings, actor, now, user_id=user_id, action="enrolment_link_reissued"
        )

    @post("/{user_id:int}/deactivate", name="admin_users.deactivate")
    async def deactivate(
        self, request: Request, db: AsyncSession, actor: Actor, user_id: int
    ) -> Redirect | Response:
        """Deactivate a user and end all their sessions at once."""
        user = await _user_or_404(db, user_id)
        if user_id == actor.id:
            flash(request, _("You cannot deactivate yourself."), "error")
            return _to_list(request)
        if user.active and await pool_owned_count(db, user_id=user_id):
            # Their customers must go somewhere first: the handover page asks where.
            return see_other(request, request.app.route_reverse("pool.handover", user_id=user_id))
        if await user_set_active(db, user_id=user_id, active=False):
            ended = await session_delete_for_user(db, user_id=user_id)
            await _audit(request, db, actor, "user_deactivated", user_id, {"sessions_ended": ended})
            await db.commit()
        flash(request, _("%(name)s is deactivated and signed out everywhere.", name=user.name))
        return _to_list(request)

    @post("/{user_id:int}/reactivate", name="admin_users.reactivate")
    async def reactivate(
        self, request: Request, db: AsyncSession, actor: Actor, user_id: int
    ) -> Redirect | Response:
        """Let a deactivated user sign in again with their passkeys."""
        user = await _user_or_404(db, user_id)
        if await user_set_active(db, user_id=user_id, active=True):
            await _audit(request, db, actor, "user_reactivated", user_id)
            await db.commit()
        flash(request, _("%(name)s can sign in again.", name=user.name))
        return _to_list(request)

    @post("/{user_id:int}/privacy", name="admin_users.privacy")
    async def privacy(
        self, request: Request, db: AsyncSession, actor: Actor, user_id: int, data: Form
    ) -> Redirect | Response:
        """Grant (box ticked) or revoke the permission to handle privacy requests."""
        user = await _user_or_404(db, user_id)
        allowed = field(data, "may_handle_privacy") == "yes"
        if await user_set_privacy(db, user_id=user_id, allowed=allowed):
            action = "privacy_permission_granted" if allowed else "privacy_permission_revoked"
            await _audit(request, db, actor, action, user_id, {"name": user.name})
            await db.commit()
        if allowed:
            flash(request, _("%(name)s may handle privacy requests.", name=user.name))
        else:
            flash(request, _("%(name)s no longer handles privacy requests.", name=user.name))
        return _to_list(request)
