"""CSRF protection bound to the server-side session, plus Origin / Sec-Fetch-Site checks.

The token is an HMAC of the session id under the secret key: it changes whenever the
session id does (sign-in, sign-out), needs no cookie of its own that another sub-domain or
a plain-http attacker could plant, and costs no database write. Unsafe requests must also
come from our own origin when the browser says where they come from.
"""

import base64
import hashlib
import hmac
from urllib.parse import urlsplit

from litestar.enums import RequestEncodingType
from litestar.exceptions import PermissionDeniedException
from litestar.types import ASGIApp, Receive, Scope, Send
from litestar.utils.scope.state import ScopeState

from web.core.settings import Settings

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class SignInExpired(PermissionDeniedException):
    """A form sent from a session that no longer exists: the user must sign in again."""


HEADER = "x-csrftoken"
FIELD = "_csrf_token"
EXCLUDE_OPT = "exclude_from_csrf"


def csrf_token_for(secret: str, session_id: str) -> str:
    """The CSRF token of one session id."""
    mac = hmac.new(secret.encode(), b"kehu-csrf:" + session_id.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode()


def _origin(value: str) -> str:
    """Normalise an origin for comparison (scheme://host[:port], lower case)."""
    parts = urlsplit(value.strip())
    if not parts.scheme or not parts.netloc:
        return ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}"


def same_origin_request(headers: dict[str, str], origin: str) -> bool:
    """Whether the browser's own headers allow an unsafe request from `origin`.

    `Origin` (sent by every current browser on POST) must be ours. Without it,
    `Sec-Fetch-Site` must say same-origin; a client that sends neither (an old browser, a
    script) is judged by the token alone.
    """
    sent = headers.get("origin")
    if sent is not None:
        return _origin(sent) == _origin(origin) != ""
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin"
    return True


class CsrfMiddleware:
    """Put the session's token in the template context; check it on unsafe methods."""

    def __init__(self, app: ASGIApp, *, settings: Settings):
        """Wrap an ASGI app (it must run inside the session middleware)."""
        self.app = app
        self.secret = settings.secret_key
        self.origin = settings.origin

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http" or self._excluded(scope):
            await self.app(scope, receive, send)
            return
        session = scope["state"]["session"]
        if scope["method"] in SAFE_METHODS:
            ScopeState.from_scope(scope).csrf_token = csrf_token_for(
                self.secret, session.ensure_token()
            )
            await self.app(scope, receive, send)
            return
        request = scope["litestar_app"].request_class(scope=scope, receive=receive)
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not same_origin_request(headers, self.origin):
            raise PermissionDeniedException("cross-origin request refused")
        sent = headers.get(HEADER)
        content_type, _params = request.content_type
        if not sent and content_type in (
            RequestEncodingType.URL_ENCODED,
            RequestEncodingType.MULTI_PART,
        ):
            value = (await request.form()).get(FIELD)
            sent = value if isinstance(value, str) else None
        expected = csrf_token_for(self.secret, session.token) if session.token else None
        if (
            not sent
            or expected is None
            or not hmac.compare_digest(sent.encode("utf-8", "replace"), expected.encode())
        ):
            if session.user is None:  # the session (or the sign-in) behind the form is gone
                raise SignInExpired("CSRF token verification failed: no signed-in session")
            raise PermissionDeniedException("CSRF token verification failed")
        ScopeState.from_scope(scope).csrf_token = expected
        await self.app(scope, receive, send)

    def _excluded(self, scope: Scope) -> bool:
        """Whether the route opted out (health checks)."""
        handler = scope.get("route_handler")
        return bool(handler is not None and handler.opt.get(EXCLUDE_OPT))
