"""The request's language as a small ASGI middleware (after the session: users' choice wins)."""

from litestar.types import ASGIApp, Receive, Scope, Send

from web.core.asgi import request_cookies, request_header
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
                request_cookies(scope).get(LANG_COOKIE),
                request_header(scope, b"accept-language"),
                self.settings.default_locale,
            )
            set_locale(locale, self.settings.tz)
            state["locale"] = locale
        await self.app(scope, receive, send)
