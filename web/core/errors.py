"""Error pages for full requests and an error banner fragment for HTMX requests."""

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.response import Redirect
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR

from web.core.htmx import is_fragment_request, render
from web.core.i18n import gettext as _
from web.core.i18n import pick_locale, set_locale
from web.core.sessions import LANG_COOKIE

log = logging.getLogger("kehu.errors")


class NotSignedIn(NotAuthorizedException):
    """The visitor must sign in first."""


def _messages(status: int) -> tuple[str, str]:
    """Return the translated title and explanation for a status code."""
    table = {
        400: (_("Bad request"), _("The request could not be understood. Please try again.")),
        403: (
            _("Not allowed"),
            _("You do not have permission to do this. If the page looks out of date, reload it."),
        ),
        404: (_("Not found"), _("This page does not exist, or you may not see it.")),
        405: (_("Not allowed"), _("This action is not available here.")),
        409: (_("Conflict"), _("Someone else changed this at the same time. Reload and retry.")),
        413: (_("Too large"), _("What you sent is too large.")),
        429: (
            _("Too many attempts"),
            _("Too many attempts from your network. Wait a minute and try again."),
        ),
    }
    return table.get(
        status,
        (
            _("Something went wrong"),
            _("Something went wrong on our side. Nothing you entered was saved twice."),
        ),
    )


def error_response(request: Request, status: int, detail: str | None = None) -> Response:
    """Render the error page, or the banner fragment for HTMX requests."""
    if "session" not in request.scope.get("state", {}):
        # Routing failed before our middleware ran: still answer in the visitor's language.
        settings = request.app.state.settings
        accept = request.headers.get("accept-language", "")
        set_locale(
            pick_locale(None, request.cookies.get(LANG_COOKIE), accept, settings.default_locale)
        )
    title, text = _messages(status)
    context = {
        "title": title,
        "text": detail or text,
        "status": status,
        "request_id": request.scope.get("state", {}).get("request_id", ""),
    }
    return render(
        request,
        "pages/error.html",
        context,
        partial="partials/core/error_banner.html",
        status_code=status,
        headers={"HX-Retarget": "#error-banner", "HX-Reswap": "outerHTML"}
        if is_fragment_request(request)
        else None,
    )


def http_exception_handler(request: Request, exc: HTTPException) -> Response:
    """Turn an HTTP exception into a readable page or banner."""
    if isinstance(exc, NotSignedIn):
        target = request.url.path
        if request.url.query:
            target += "?" + request.url.query
        login = request.app.route_reverse("auth.login") + "?next=" + _quote(target)
        if request.headers.get("hx-request") == "true":
            return Response(content=b"", status_code=401, headers={"HX-Redirect": login})
        return Redirect(path=login, status_code=303)
    detail = exc.detail if getattr(exc, "extra", None) == {"public": True} else None
    return error_response(request, exc.status_code, detail)


def internal_error_handler(request: Request, exc: Exception) -> Response:
    """Log an unexpected error with the request id; show no trace to the user."""
    rid = request.scope.get("state", {}).get("request_id", "")
    log.exception("unhandled error request_id=%s path=%s", rid, request.url.path)
    return error_response(request, HTTP_500_INTERNAL_SERVER_ERROR)


def _quote(path: str) -> str:
    """URL-encode a local path for the next parameter."""
    from urllib.parse import quote

    return quote(path, safe="/")


class PublicError(HTTPException):
    """An HTTP error whose detail is written for users and may be shown as is."""

    def __init__(self, status_code: int, detail: str):
        """Create the error with a user-facing message."""
        super().__init__(detail=detail, status_code=status_code, extra={"public": True})
