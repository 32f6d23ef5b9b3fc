"""The navigation each role sees (stable names from PRODUCT.md §9), linked by route name."""

from dataclasses import dataclass

from jinja2 import pass_context
from litestar import Litestar

from domain.enums import Role
from domain.users import Actor
from web.core.i18n import N_


@dataclass(frozen=True)
class NavItem:
    """One navigation link, its URL reversed from the route name."""

    key: str
    path: str
    label: str  # English msgid; translated in the template


# key -> (route name, label msgid)
_ALL = {
    "today": ("home", N_("Today")),
    "customers": ("customers.list", N_("Customers")),
    "counter": ("counter.page", N_("Counter")),
    "team": ("team.page", N_("Team")),
    "report": ("report.weekly", N_("Weekly report")),
    "pipeline": ("pipeline.board", N_("Pipeline")),
}

_BY_ROLE = {
    Role.REP: ("today", "customers", "pipeline"),
    Role.CLERK: ("counter", "customers", "today"),
    Role.MANAGER: ("today", "customers", "counter", "team", "report", "pipeline"),
    Role.ADMIN: ("today", "customers", "counter", "team", "report"),
}


@pass_context
def nav_items(context, actor: Actor | None) -> list[NavItem]:
    """Return the links a user's role needs, in order (a template global)."""
    if actor is None:
        return []
    app = context["request"].app
    return [
        NavItem(key, app.route_reverse(_ALL[key][0]), _ALL[key][1]) for key in _BY_ROLE[actor.role]
    ]


def home_path(app: Litestar, actor: Actor) -> str:
    """Return where a user lands after signing in (clerks: the counter)."""
    return app.route_reverse("counter.page" if actor.role == Role.CLERK else "home")


@pass_context
def home_url(context, actor: Actor | None) -> str:
    """The brand link's target: the user's home page (a template global)."""
    app = context["request"].app
    return app.route_reverse("home") if actor is None else home_path(app, actor)
