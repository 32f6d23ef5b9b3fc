"""The request's language as a small ASGI middleware (after the session: users' choice wins)."""

from http.cookies import SimpleCookie

from litestar.types import ASGIApp, Receive, Scope, Send

from web.core.i18n import pick_locale, set_locale
from web.core.settings import Settings

LANG_COOKIE = "kehu_lang"


class LocaleMiddleware:
    """Pick the locale from the user, the language cookie, the browser, then the default."""

    def __init__(self, app: ASGIApp, *, settings: Settings):
        """Wrap an ASGI app."""
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Set the locale (and time zone) for this request, then run the app."""
        if scope["type"] == "http":
            state = scope.setdefault("state", {})
            session = state.get("session")
            user = getattr(session, "user", None)
            locale = pick_locale(
                user.locale if user else None,
                _cookie(scope, LANG_COOKIE),
                _header(scope, b"accept-language"),
                self.settings.default_locale,
            )
            set_locale(locale, self.settings.tz)
            state["locale"] = locale
        await self.app(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str:
    """Return one request header as text."""
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin-1")
    return ""


def _cookie(scope: Scope, name: str) -> str | None:
    """Return one request cookie."""
    raw = _header(scope, b"cookie")
    if not raw:
        return None
    jar = SimpleCookie()
    try:
        jar.load(raw)
    except Exception:
        return None
    morsel = jar.get(name)
    return morsel.value if morsel else None
