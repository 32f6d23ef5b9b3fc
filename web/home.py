"""The start page ("Today"); the visits feature fills it with due follow-ups."""

from litestar import Controller, Request, get
from litestar.response import Template

from domain.users import Actor
from web.guards import require_user
from web.htmx import render


class HomeController(Controller):
    """The signed-in user's home page."""

    guards = [require_user]

    @get("/", name="home")
    async def today(self, request: Request, actor: Actor) -> Template:
        """Show the Today page."""
        return render(request, "today.html", {"active": "today"})
