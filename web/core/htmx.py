"""One URL serves page and fragment: the helpers that decide which, and flash messages."""

from typing import Any

from litestar import Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.response import Redirect, Template

from web.core.sessions import SessionState


def is_fragment_request(request: Request) -> bool:
    """Return True for an HTMX request that wants a fragment, not a full page."""
    headers = request.headers
    return (
        headers.get("hx-request") == "true"
        and headers.get("hx-boosted") != "true"
        and headers.get("hx-history-restore-request") != "true"
    )


def session_of(request: Request) -> SessionState:
    """Return the request's session state."""
    return request.scope["state"]["session"]


def flash(request: Request, message: str, category: str = "info") -> None:
    """Queue a message for the next page the user sees."""
    state = session_of(request)
    state.set("flash", [*state.data.get("flash", []), [category, message]])


def render(
    request: Request,
    page: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    background: BackgroundTask | None = None,
) -> Template:
    """Render the full page, or only `partial` when HTMX asks for a fragment."""
    name = partial if partial and is_fragment_request(request) else page
    return Template(
        template_name=name,
        context=context,
        status_code=status_code,
        headers=headers or {},
        background=background,
    )


def see_other(request: Request, url: str) -> Redirect | Response:
    """Redirect after a POST: 303 for a plain form, HX-Location for HTMX (no double fetch)."""
    if request.headers.get("hx-request") == "true":
        return Response(content=b"", status_code=200, headers={"HX-Location": url})
    return Redirect(path=url, status_code=303)
