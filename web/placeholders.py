"""Pages whose features are still being built: they exist so navigation never 404s."""

from litestar import Controller, Request, get
from litestar.response import Template

from web.guards import require_user
from web.htmx import render


class PlaceholderController(Controller):
    """Temporary pages for features not built yet."""

    guards = [require_user]

    @get(["/customers", "/counter", "/team", "/reports/weekly", "/settings"], name="placeholder")
    async def page(self, request: Request) -> Template:
        """Say the feature is coming soon."""
        key = request.url.path.strip("/").split("/")[0]
        return render(request, "coming_soon.html", {"active": key})
