"""Reading request headers and cookies straight from an ASGI scope (for the middlewares)."""

from http.cookies import SimpleCookie

from litestar.types import Scope


def request_header(scope: Scope, name: bytes) -> str:
    """Return one request header as text ("" when absent)."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def request_cookies(scope: Scope) -> dict[str, str]:
    """Parse the request cookies (none when the header is malformed)."""
    raw = request_header(scope, b"cookie")
    if not raw:
        return {}
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:
        return {}
    return {k: m.value for k, m in jar.items()}
