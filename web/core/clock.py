"""One clock per request: handlers get `now` and `today` injected, tests set the clock."""

from datetime import date, datetime

from litestar import Request

from db.types import utcnow


def request_now(request: Request) -> datetime:
    """The request's time (aware UTC), read once so every step of a request agrees.

    Tests inject a clock through ``settings.extra["clock"]`` (a callable returning aware UTC).
    """
    state = request.scope.setdefault("state", {})
    if "now" not in state:
        clock = request.app.state.settings.extra.get("clock")
        state["now"] = clock() if clock else utcnow()
    return state["now"]


def request_today(request: Request) -> date:
    """The request's calendar day in the company's time zone."""
    return request_now(request).astimezone(request.app.state.settings.tz).date()
