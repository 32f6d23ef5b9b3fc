"""One URL serves page and fragment: the one seam that decides which, events and flash."""

import json
from typing import Any

from litestar import Request, Response
from litestar.background_tasks import BackgroundTask
from litestar.response import Redirect, Template

from web.core.sessions import SessionState

VARY = {"Vary": "HX-Request"}

# Client-side events to fire after the swap: one name, several, or names with details.
Trigger = str | list[str] | dict[str, Any] | None


def is_fragment_request(request: Request) -> bool:
    """Return True for an HTMX request that wants a fragment, not a full page.

    Boosted navigation and history restores want the whole page, like a plain GET.
    """
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


def take_flashes(request: Request) -> list[list[str]]:
    """Remove and return the queued messages (read once per page, before rendering)."""
    state = session_of(request)
    messages = state.data.get("flash") or []
    if messages:
        state.set("flash", [])
    return messages


def trigger_header(events: Trigger) -> dict[str, str]:
    """The HX-Trigger header for client-side events fired after the swap."""
    if not events:
        return {}
    if isinstance(events, str):
        return {"HX-Trigger": events}
    if isinstance(events, list):
        return {"HX-Trigger": ", ".join(events)}
    return {"HX-Trigger": json.dumps(events, ensure_ascii=True)}


def render(
    request: Request,
    page: str,
    context: dict[str, Any],
    *,
    partial: str | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
    trigger: Trigger = None,
    background: BackgroundTask | None = None,
) -> Template:
    """Render the full page, or only `partial` when HTMX asks for a fragment.

    Always sends ``Vary: HX-Request`` (page and fragment share the URL) and the
    ``HX-Trigger`` events given.
    """
    fragment = partial is not None and is_fragment_request(request)
    if not fragment and "session" in request.scope.get("state", {}):
        context = {**context, "flashes": take_flashes(request)}
    return Template(
        template_name=partial if fragment else page,
        context=context,
        status_code=status_code,
        headers={**VARY, **trigger_header(trigger), **(headers or {})},
        background=background,
    )


def fragment_or_redirect(
    request: Request,
    partial: str,
    context: dict[str, Any],
    *,
    page_url: str,
    trigger: Trigger = None,
    background: BackgroundTask | None = None,
) -> Template | Redirect:
    """Answer an HTMX request with the fragment; send a plain GET to the page it belongs to."""
    if not is_fragment_request(request):
        return Redirect(path=page_url, status_code=303, headers=VARY)
    return render(
        request, partial, context, partial=partial, trigger=trigger, background=background
    )


def see_other(request: Request, url: str, *, trigger: Trigger = None) -> Redirect | Response:
    """Redirect after a POST: 303 for a plain form, HX-Location for HTMX (no double fetch)."""
    if request.headers.get("hx-request") == "true":
        return Response(
            content=b"",
            status_code=200,
            headers={"HX-Location": url, **VARY, **trigger_header(trigger)},
        )
    return Redirect(path=url, status_code=303, headers=VARY)
