"""Request ids and security headers, as one thin ASGI wrapper around the whole app.

It sits outside Litestar's routing, so 404s of unknown paths and errors raised by
middleware get the headers too. Responses to a signed-in visitor (and to signing in or
out) are never stored by a cache: phones are shared at the counter and in the field.
"""

import uuid

from litestar.types import ASGIApp, Message, Receive, Scope, Send

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
# Two years; no includeSubDomains: sibling hosts on the company's domain are not ours.
HSTS = (b"strict-transport-security", b"max-age=63072000")
NO_STORE = (b"cache-control", b"no-store")


def _personal(scope: Scope) -> bool:
    """Whether the response belongs to one person's session (signed in, in or out)."""
    session = scope.get("state", {}).get("session")
    if session is None:
        return False
    return session.user is not None or session.ended


class SecurityHeaders:
    """Give each request an id and each response the security headers it lacks."""

    def __init__(self, app: ASGIApp, *, https: bool):
        """Wrap an ASGI app; `https` adds HSTS."""
        self.app = app
        self.extra = [*SECURITY_HEADERS, HSTS] if https else list(SECURITY_HEADERS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope.setdefault("state", {})["request_id"] = uuid.uuid4().hex[:12]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                personal = _personal(scope)
                headers = [
                    (k, v)
                    for k, v in message.get("headers", [])
                    if not (personal and k.lower() == b"cache-control")
                ]
                present = {k.lower() for k, _v in headers}
                headers.extend(h for h in self.extra if h[0] not in present)
                if personal:
                    headers.append(NO_STORE)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)
