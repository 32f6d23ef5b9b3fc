"""Error pages for full requests and an error banner fragment for HTMX requests."""

import logging
from urllib.parse import quote, urlsplit

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE

from db.engine import WriteGateTimeout
from web.core.csrf import SignInExpired
from web.core.htmx import VARY, is_fragment_request, render
from web.core.i18n import N_, pick_locale, set_locale
from web.core.i18n import gettext as _
from web.core.locale import LANG_COOKIE
from web.core.redirects import safe_next

log = logging.getLogger("kehu.errors")

# Title and explanation msgids per status code, translated when shown.
_MESSAGES: dict[int, tuple[str, str]] = {
    400: (N_("Bad request"), N_("The request could not be understood. Please try again.")),
    403: (
        N_("Not allowed"),
        N_("You do not have permission to do this. If the page looks out of date, reload it."),
    ),
    404: (N_("Not found"), N_("This page does not exist, or you may not see it.")),
    405: (N_("Not allowed"), N_("This action is not available here.")),
    409: (N_("Conflict"), N_("Someone else changed this at the same time. Reload and retry.")),
    413: (N_("Too large"), N_("What you sent is too large.")),
    429: (
        N_("Too many attempts"),
        N_("Too many attempts from your network. Wait a minute and try again."),
    ),
    503: (
        N_("Busy"),
        N_("The server is busy saving other changes, so this was not saved. Try again."),
    ),
}
# Seconds a client is asked to wait before it retries a write refused as busy.
BUSY_RETRY_AFTER = "2"
_UNEXPECTED = (
    N_("Something went wrong"),
    N_("Something went wrong on our side. Nothing you entered was saved twice."),
)


class NotSignedIn(NotAuthorizedException):
    """The visitor must sign in first."""


class PublicError(HTTPException):
    """An HTTP error whose detail is written for users and may be shown as is."""

    def __init__(self, status_code: int, detail: str):
        """Create the error with a user-facing message."""
        super().__init__(detail=detail, status_code=status_code)


def error_response(
    request: Request, status: int, detail: str | None = None, *, title: str | None = None,
    sign_in_url: str = "",
) -> Response:  # fmt: skip
    """Render the error page, or the banner fragment for HTMX requests."""
    if "session" not in request.scope.get("state", {}):
        # Routing failed before our middleware ran: still answer in the visitor's language.
        settings = request.app.state.settings
        accept = request.headers.get("accept-language", "")
        set_locale(
            pick_locale(None, request.cookies.get(LANG_COOKIE), accept, settings.default_locale)
        )
    default_title, text = _MESSAGES.get(status, _UNEXPECTED)
    context = {
        "title": title or _(default_title),
        "text": detail or _(text),
        "sign_in_url": sign_in_url,
        "status": status,
        "request_id": request.scope.get("state", {}).get("request_id", ""),
    }
    # The banner replaces the page's empty #error-banner, wherever the request aimed.
    retarget = {"HX-Retarget": "#error-banner", "HX-Reswap": "outerHTML"}
    return render(
        request,
        "pages/error.html",
        context,
        partial="partials/core/error_banner.html",
        status_code=status,
        headers=retarget if is_fragment_request(request) else None,
    )


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    """Turn an HTTP exception into a readable page or banner; send signed-out users to sign in."""
    if isinstance(exc, NotSignedIn):
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        login = request.app.route_reverse("auth.login") + "?next=" + quote(target, safe="/")
        if request.headers.get("hx-request") == "true":
            # A swap cannot show the sign-in page: ask htmx for a full navigation.
            return Response(content=b"", status_code=401, headers={"HX-Redirect": login, **VARY})
        return Redirect(path=login, status_code=303, headers=VARY)
    if isinstance(exc, SignInExpired):
        return _sign_in_expired(request)
    detail = exc.detail if isinstance(exc, PublicError) else None
    return error_response(request, exc.status_code, detail)


def _sign_in_expired(request: Request) -> Response:
    """A form from an expired session: say so and offer to sign in again (back to its page)."""
    back = urlsplit(request.headers.get("referer", ""))
    page = safe_next(back.path + ("?" + back.query if back.query else "")) if back.path else "/"
    login = request.app.route_reverse("auth.login") + "?next=" + quote(page, safe="/")
    return error_response(
        request,
        403,
        _("Your sign-in has expired, so this was not saved. Sign in again, then repeat it."),
        title=_("Sign-in expired"),
        sign_in_url=login,
    )


def busy_handler(request: Request, exc: Exception) -> Response:
    """A write that waited past the busy timeout for another one: 503, nothing was saved.

    The write's transaction was rolled back, so the same request (the same idempotency
    key for a visit) can simply be sent again.
    """
    if not is_busy(exc):
        return internal_error_handler(request, exc)
    log.warning("database busy path=%s", request.url.path)
    response = error_response(request, HTTP_503_SERVICE_UNAVAILABLE)
    response.headers["Retry-After"] = BUSY_RETRY_AFTER
    return response


def is_busy(exc: Exception) -> bool:
    """Whether an error is SQLite's writer lock held too long by another transaction."""
    return isinstance(exc, WriteGateTimeout) or "database is locked" in str(exc)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    """Log an unexpected error with the request id; show no trace to the user."""
    rid = request.scope.get("state", {}).get("request_id", "")
    log.exception("unhandled error request_id=%s path=%s", rid, request.url.path)
    return error_response(request, HTTP_500_INTERNAL_SERVER_ERROR)
