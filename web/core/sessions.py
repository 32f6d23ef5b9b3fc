"""Server-side sessions as one ASGI middleware: load the row, persist it, set the cookie.

The cookie holds a random id; the database holds its hash, the user and the data. A
visitor who is not signed in gets an id too (a browser-session cookie, no row) as soon as
something needs one, such as the CSRF token of the sign-in page; a row is written for them
only when there is data to keep (a passkey challenge), and it lives no longer than the
challenge does. Signing in or out always starts a new id.
"""

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import timedelta

from litestar.types import ASGIApp, Message, Receive, Scope, Send
from sqlalchemy.ext.asyncio import async_sessionmaker

from db.engine import session_scope
from db.models import Team, User
from db.sessions import SessionUser, session_delete, session_load, session_save, session_user
from db.types import utcnow
from domain.enums import Role
from domain.users import Actor
from web.core.asgi import request_cookies
from web.core.settings import Settings

COOKIE = "kehu_session"
# A row of a visitor who is not signed in (a sign-in or enrolment challenge) lives as long
# as the challenge it carries (web.auth.passkeys.CHALLENGE_TTL) and no longer.
ANONYMOUS_TTL = timedelta(minutes=5)
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{43}")


def cookie_name(settings: Settings) -> str:
    """The session cookie's name: `__Host-` on https, so no sub-domain can plant one."""
    return f"__Host-{COOKIE}" if settings.is_https else COOKIE


def hash_token(token: str) -> str:
    """Hash a session id so a leaked table cannot be replayed as cookies."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random session id (43 URL-safe characters)."""
    return secrets.token_urlsafe(32)


@dataclass
class SessionState:
    """The current request's session: its data, user, and what to do at response time."""

    token: str | None = None
    data: dict = field(default_factory=dict)
    # Plain values loaded by one Core query (db.sessions.session_load), never an ORM row.
    user: SessionUser | None = None
    dirty: bool = False
    rotate: bool = False
    ended: bool = False
    # The id the browser sent (None: no usable cookie); a different `token` means a new cookie.
    presented: str | None = None
    # The Actor of `user`, built once per request (the guards and handlers all ask for it).
    _actor: Actor | None = field(default=None, repr=False)

    @property
    def actor(self) -> Actor | None:
        """The signed-in user as the domain rules see them."""
        user = self.user
        if user is None:
            return None
        actor = self._actor
        if actor is None or actor.id != user.id:
            actor = self._actor = Actor(
                id=user.id,
                name=user.name,
                role=Role(user.role),
                team_id=user.team_id,
                locale=user.locale,
                team_is_store=user.team_is_store,
                may_handle_privacy=user.may_handle_privacy,
            )
        return actor

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

    def ensure_token(self) -> str:
        """Return the session id, giving the visitor one if they have none yet."""
        if self.token is None:
            self.token = new_token()
        return self.token

    def sign_in(self, user: User, team: Team | None) -> None:
        """Attach a user and rotate the session id (no fixation)."""
        self.user, self._actor = session_user(user, team), None
        self.token = new_token()
        self.rotate = True
        self.dirty = True

    def end(self) -> None:
        """Sign out: delete the session server-side and expire the cookie."""
        self.ended = True
        self.user = self._actor = None
        self.data = {}


class SessionMiddleware:
    """Loads the session before the app runs and persists it when the response starts."""

    def __init__(self, app: ASGIApp, *, sessionmaker: async_sessionmaker, settings: Settings):
        """Wrap an ASGI app."""
        self.app = app
        self.sessionmaker = sessionmaker
        # The lookup on every request needs no ORM session: a pooled connection will do.
        self.engine = sessionmaker.kw["bind"]
        self.settings = settings
        self.cookie = cookie_name(settings)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        state = SessionState()
        token = request_cookies(scope).get(self.cookie)
        if token and _TOKEN_RE.fullmatch(token):
            state.presented = state.token = token
            await self._load(state, token)
        scope.setdefault("state", {})
        scope["state"]["session"] = state

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                cookie = await self._persist(state)
                if cookie:
                    headers = list(message.get("headers", []))
                    headers.append((b"set-cookie", cookie.encode("latin-1")))
                    message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)

    async def _load(self, state: SessionState, token: str) -> None:
        """Fill the state from the stored session, if it is live.

        Without a live row the id is kept as a visitor's id (the CSRF token of their sign-in
        page is bound to it); any user it once had is gone with the row.
        """
        async with self.engine.connect() as conn:
            found = await session_load(conn, id_hash=hash_token(token), now=utcnow())
        if found is None:
            return
        state.data = found.data
        state.user = found.user
        if found.user_id is not None and found.user is None:
            # The user was deactivated: the session is worthless.
            state.end()

    async def _persist(self, state: SessionState) -> str | None:
        """Save, rotate or delete the session; return a Set-Cookie value if needed."""
        if state.ended:
            if state.presented:
                async with session_scope(self.sessionmaker) as db:
                    await session_delete(db, id_hash=hash_token(state.presented))
                    await db.commit()
                return self._cookie("", max_age=0)
            return None
        if state.dirty:
            await self._save(state)
        if state.token is None or state.token == state.presented:
            return None
        if state.user is None:
            return self._cookie(state.token, max_age=None)  # until the browser closes
        return self._cookie(state.token, max_age=self.settings.session_days * 86400)

    async def _save(self, state: SessionState) -> None:
        """Write the session row (a new id's row replaces the old one)."""
        token = state.ensure_token()
        if state.user is None:
            expires = utcnow() + ANONYMOUS_TTL
        else:
            expires = utcnow() + timedelta(days=self.settings.session_days)
        async with session_scope(self.sessionmaker) as db:
            if state.presented and state.presented != token:
                await session_delete(db, id_hash=hash_token(state.presented))
            await session_save(
                db,
                id_hash=hash_token(token),
                user_id=state.user.id if state.user else None,
                data=state.data,
                expires_at=expires,
            )
            await db.commit()
        state.dirty = state.rotate = False

    def _cookie(self, value: str, *, max_age: int | None) -> str:
        """Build the session cookie header value."""
        parts = [f"{self.cookie}={value}", "Path=/"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        parts += ["HttpOnly", "SameSite=Lax"]
        if self.settings.secure_cookies:
            parts.append("Secure")
        return "; ".join(parts)
