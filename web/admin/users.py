"""The admin's Users page: create users, show their enrolment link and QR code, (de)activate."""

import base64
import hashlib
from dataclasses import dataclass, field

import segno
from cryptography.fernet import Fernet, InvalidToken
from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from markupsafe import Markup
from sqlmodel.ext.asyncio.session import AsyncSession

from db.accounts import team_get, team_list, user_get, user_overview, user_set_active
from db.audit import audit_add
from db.enrolment import enrolment_create
from db.models import User
from db.sessions import session_delete_for_user
from db.users import team_get_or_create, user_add
from domain.enums import Role
from domain.text import clean_name, name_too_long
from domain.users import Actor
from web.cli.users import enrol_url
from web.core.client_ip import client_ip
from web.core.clock import request_now
from web.core.forms import Form
from web.core.guards import require_roles
from web.core.htmx import flash, render, session_of
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


def stash_link(request: Request, settings: Settings, *, user_id: int, token: str) -> None:
    """Keep a new link for the page the admin is redirected to, encrypted (never stored raw)."""
    sealed = _fernet(settings).encrypt(token.encode()).decode()
    session_of(request).set(LINK_KEY, {"user_id": user_id, "sealed": sealed})


def take_link(request: Request, settings: Settings, *, user_id: int) -> str | None:
    """Return the stashed link token for this user once, or None."""
    stashed = session_of(request).pop(LINK_KEY)
    if not isinstance(stashed, dict) or stashed.get("user_id") != user_id:
        return None
    try:
        return _fernet(settings).decrypt(stashed["sealed"], ttl=LINK_SHOWN_SECONDS).decode()
    except (InvalidToken, KeyError, TypeError):
        return None


def qr_svg(url: str) -> Markup:
    """Render a QR code of the URL as inline SVG (segno writes only path data, no text)."""
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


@dataclass
class UserForm:
    """The create-user form: what was typed and what is wrong with it."""

    name: str = ""
    role: str = ""
    team_id: str = ""
    new_team: str = ""
    store: bool = False
    errors: dict[str, str] = field(default_factory=dict)


async def _validate(db: AsyncSession, data: dict[str, str]) -> UserForm:
    """Read and check the create-user form."""
    form = UserForm(
        name=clean_name(data.get("name", "")),
        role=data.get("role", ""),
        team_id=data.get("team_id", ""),
        new_team=clean_name(data.get("new_team", "")),
        store=data.get("store") in ("1", "on", "true"),
    )
    if not form.name:
        form.errors["name"] = _("Enter the person's name.")
    elif name_too_long(form.name):
        form.errors["name"] = _("The name can have at most 100 characters.")
    if form.role not in {r.value for r in Role}:
        form.errors["role"] = _("Choose a role.")
    if form.new_team and form.team_id:
        form.errors["team"] = _("Choose a team or type a new team name, not both.")
    elif form.new_team and name_too_long(form.new_team):
        form.errors["team"] = _("A team name can have at most 100 characters.")
    elif form.team_id:
        team = await team_get(db, team_id=int(form.team_id)) if form.team_id.isdigit() else None
        if team is None:
            form.errors["team"] = _("Choose a team from the list.")
    elif not form.new_team and form.role and form.role != Role.ADMIN:
        form.errors["team"] = _("Choose a team, or type the name of a new one.")
    return form


class AdminUsersController(Controller):
    """Users, for admins only."""

    path = "/admin/users"
    guards = [require_roles(Role.ADMIN)]

    async def _list(
        self, request: Request, db: AsyncSession, form: UserForm, status_code: int = 200
    ) -> Template:
        """Render the Users page with the create form."""
        return render(
            request,
            "pages/admin/users.html",
            {
                "active": "settings",
                "users": await user_overview(db),
                "teams": await team_list(db),
                "form": form,
                "roles": ROLE_LABELS,
                "self_id": session_of(request).user.id,
            },
            status_code=status_code,
        )

    @get("/", name="admin_users.list")
    async def index(self, request: Request, db: AsyncSession) -> Template:
        """List users and offer the create form."""
        return await self._list(request, db, UserForm(role=Role.REP))

    @post("/", name="admin_users.create")
    async def create(
        self, request: Request, db: AsyncSession, settings: Settings, actor: Actor, data: Form
    ) -> Template | Redirect:
        """Create a user and an enrolment link; show the link on the next page."""
        form = await _validate(db, data)
        if form.errors:
            return await self._list(request, db, form, status_code=422)
        team_id = int(form.team_id) if form.team_id else None
        if form.new_team:
            team_id = (await team_get_or_create(db, name=form.new_team, is_store=form.store)).id
        user = await user_add(db, name=form.name, role=form.role, team_id=team_id)
        token = await enrolment_create(
            db,
            user_id=user.id,
            created_by=actor.id,
            ttl_hours=settings.enrol_ttl_hours,
            now=request_now(request),
        )
        await audit_add(
            db,
            action="user_created",
            actor_id=actor.id,
            entity="user",
            entity_id=user.id,
            detail={"name": user.name, "role": user.role, "team_id": team_id},
            ip=client_ip(request),
        )
        await db.commit()
        stash_link(request, settings, user_id=user.id, token=token)
        return Redirect(path=f"/admin/users/{user.id}/link", status_code=303)

    @get("/{user_id:int}/link", name="admin_users.link")
    async def link(
        self, request: Request, db: AsyncSession, settings: Settings, user_id: int
    ) -> Template:
        """Show a freshly made enrolment link and its QR code (once)."""
        user = await _user_or_404(db, user_id)
        token = take_link(request, settings, user_id=user_id)
        url = enrol_url(settings, token) if token else None
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
        self, request: Request, db: AsyncSession, settings: Settings, actor: Actor, user_id: int
    ) -> Redirect:
        """Make a new enrolment link (a lost phone); older unused links stop working."""
        await _user_or_404(db, user_id)
        token = await enrolment_create(
            db,
            user_id=user_id,
            created_by=actor.id,
            ttl_hours=settings.enrol_ttl_hours,
            now=request_now(request),
        )
        await audit_add(
            db,
            action="enrolment_link_reissued",
            actor_id=actor.id,
            entity="user",
            entity_id=user_id,
            ip=client_ip(request),
        )
        await db.commit()
        stash_link(request, settings, user_id=user_id, token=token)
        return Redirect(path=f"/admin/users/{user_id}/link", status_code=303)

    @post("/{user_id:int}/deactivate", name="admin_users.deactivate")
    async def deactivate(
        self, request: Request, db: AsyncSession, actor: Actor, user_id: int
    ) -> Redirect:
        """Deactivate a user and end all their sessions at once."""
        user = await _user_or_404(db, user_id)
        if user_id == actor.id:
            flash(request, _("You cannot deactivate yourself."), "error")
            return Redirect(path="/admin/users", status_code=303)
        if await user_set_active(db, user_id=user_id, active=False):
            ended = await session_delete_for_user(db, user_id=user_id)
            await audit_add(
                db,
                action="user_deactivated",
                actor_id=actor.id,
                entity="user",
                entity_id=user_id,
                detail={"sessions_ended": ended},
                ip=client_ip(request),
            )
            await db.commit()
        flash(request, _("%(name)s is deactivated and signed out everywhere.", name=user.name))
        return Redirect(path="/admin/users", status_code=303)

    @post("/{user_id:int}/reactivate", name="admin_users.reactivate")
    async def reactivate(
        self, request: Request, db: AsyncSession, actor: Actor, user_id: int
    ) -> Redirect:
        """Let a deactivated user sign in again with their passkeys."""
        user = await _user_or_404(db, user_id)
        if await user_set_active(db, user_id=user_id, active=True):
            await audit_add(
                db,
                action="user_reactivated",
                actor_id=actor.id,
                entity="user",
                entity_id=user_id,
                ip=client_ip(request),
            )
            await db.commit()
        flash(request, _("%(name)s can sign in again.", name=user.name))
        return Redirect(path="/admin/users", status_code=303)
