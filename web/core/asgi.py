"""Reading request headers and cookies straight from an ASGI scope (for the middlewares)."""

from litestar.types import Scope

# The parsed cookies, kept in the scope: the session and the language middleware both read
# them, and http.cookies.SimpleCookie cost ~5 % of a signed-in no-op request (issue 17).
_COOKIES = "kehu.cookies"


def request_header(scope: Scope, name: bytes) -> str:
    """Return one request header as text ("" when absent)."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def parse_cookies(raw: str) -> dict[str, str]:
    """Parse a Cookie header: `name=value` pairs split on `;` (a later name wins).

    Values are taken as sent, without surrounding double quotes; a part without `=` or
    without a name is skipped. Kehu's own cookies are plain tokens, and the callers check
    each value they use (the session id against its pattern, the language against a list).
    """
    cookies: dict[str, str] = {}
    for part in raw.split(";"):
        name, sep, value = part.partition("=")
        name = name.strip()
        if sep and name:
            value = value.strip()
            if len(value) > 1 and value[0] == value[-1] == '"':
                value = value[1:-1]
            cookies[name] = value
    return cookies


def request_cookies(scope: Scope) -> dict[str, str]:
    """The request's cookies, parsed once per request (none without a Cookie header)."""
    cookies = scope.get(_COOKIES)
    if cookies is None:
        raw = request_header(scope, b"cookie")
        cookies = scope[_COOKIES] = parse_cookies(raw) if raw else {}  # type: ignore[typeddict-unknown-key]
    return cookies
