"""Server-side sessions, request ids, locale and security headers as one ASGI middleware."""

import hashlib
import secrets
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from http.cookies import SimpleCookie

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import async_sessionmaker

from db.engine import session_scope
from db.models import Team, User
from db.sessions import session_delete, session_load, session_save
from db.types import utcnow
from domain.enums import Role
from domain.users import Actor
from web.core.i18n import pick_locale, set_locale
from web.core.settings import Settings

COOKIE = "kehu_session"
LANG_COOKIE = "kehu_lang"

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'self'; "
    "form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"DENY"),
    (b"permissions-policy", b"geolocation=(self), camera=(), microphone=()"),
]


def hash_token(token: str) -> str:
    """Hash a session id so a leaked table cannot be replayed as cookies."""
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass
class SessionState:
    """The current request's session: its data, user, and what to do at response time."""

    token: str | None = None
    data: dict = field(default_factory=dict)
    user: User | None = None
    team: Team | None = None
    dirty: bool = False
    rotate: bool = False
    ended: bool = False

    @property
    def actor(self) -> Actor | None:
        """The signed-in user as the domain rules see them."""
        if self.user is None:
            return None
        return Actor(
            id=self.user.id,
            name=self.user.name,
            role=Role(self.user.role),
            team_id=self.user.team_id,
            locale=self.user.locale,
            team_is_store=bool(self.team and self.team.is_store),
        )

    def set(self, key: str, value: object) -> None:
        """Store a value in the session."""
        self.data[key] = value
        self.dirty = True

    def pop(self, key: str, default: object = None) -> object:
        """Remove and return a value from the session."""
        if key in self.data:
            self.dirty = True
            return self.data.pop(key)
        return default

    def sign_in(self, user: User, team: Team | None) -> None:
        """Attach a user and rotate the session id (no fixation)."""
        self.user, self.team = user, team
        self.rotate = True
        self.dirty = True

    def end(self) -> None:
        """Sign out: delete the session server-side and expire the cookie."""
        self.ended = True
        self.user = None
        self.data = {}


class SessionMiddleware:
    """Loads the session before the app runs and persists it when the response starts."""

    def __init__(self, app: ASGIApp, *, sessionmaker: async_sessionmaker, settings: Settings):
        """Wrap an ASGI app."""
        self.app = app
        self.sessionmaker = sessionmaker
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cookies = _cookies(scope)
        state = SessionState()
        path = scope.get("path", "")
        if not path.startswith("/static/") and (token := cookies.get(COOKIE)):
            await self._load(state, token)
        accept = _header(scope, b"accept-language")
        locale = pick_locale(
            state.user.locale if state.user else None,
            cookies.get(LANG_COOKIE),
            accept,
            self.settings.default_locale,
        )
        set_locale(locale, self.settings.tz)
        scope.setdefault("state", {})
        scope["state"]["session"] = state
        scope["state"]["request_id"] = uuid.uuid4().hex[:12]
        scope["state"]["locale"] = locale

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                cookie = await self._persist(state)
                if cookie:
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                present = {k.lower() for k, _v in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _load(self, state: SessionState, token: str) -> None:
        """Fill the state from the stored session, if it is live."""
        async with session_scope(self.sessionmaker) as db:
            found = await session_load(db, id_hash=hash_token(token), now=utcnow())
        if found is None:
            return
        row, user, team = found
        state.token = token
        state.data = dict(row.data)
        state.user, state.team = user, team
        if row.user_id is not None and user is None:
            # The user was deactivated: the session is worthless.
            state.end()

    async def _persist(self, state: SessionState) -> str | None:
        """Save, rotate or delete the session; return a Set-Cookie value if needed."""
        if state.ended:
            if state.token:
                async with session_scope(self.sessionmaker) as db:
                    await session_delete(db, id_hash=hash_token(state.token))
                    await db.commit()
                return self._cookie("", max_age=0)
            return None
        if not state.dirty:
            return None
        old = state.token
        if state.token is None or state.rotate:
            state.token = secrets.token_urlsafe(32)
        expires = utcnow() + timedelta(days=self.settings.session_days)
        async with session_scope(self.sessionmaker) as db:
            if old and old != state.token:
                await session_delete(db, id_hash=hash_token(old))
            await session_save(
                db,
                id_hash=hash_token(state.token),
                user_id=state.user.id if state.user else None,
                data=state.data,
                expires_at=expires,
            )
            await db.commit()
        state.dirty = state.rotate = False
        if old == state.token:
            return None
        return self._cookie(state.token, max_age=self.settings.session_days * 86400)

    def _cookie(self, value: str, *, max_age: int) -> str:
        """Build the session cookie header value."""
        parts = [f"{COOKIE}={value}", "Path=/", f"Max-Age={max_age}", "HttpOnly", "SameSite=Lax"]
        if self.settings.secure_cookies:
            parts.append("Secure")
        return "; ".join(parts)


def _header(scope: Scope, name: bytes) -> str:
    """Return one request header as text."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _cookies(scope: Scope) -> dict[str, str]:
    """Parse the request cookies."""
    raw = _header(scope, b"cookie")
    if not raw:
        return {}
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:
        return {}
    return {k: m.value for k, m in jar.items()}
