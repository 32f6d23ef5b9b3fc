"""The navigation each role sees (stable names from PRODUCT.md §9)."""

from dataclasses import dataclass

from domain.enums import Role
from domain.users import Actor
from web.core.i18n import N_


@dataclass(frozen=True)
class NavItem:
    """One navigation link."""

    key: str
    path: str
    label: str  # English msgid; translated in the template


_ALL = {
    "today": NavItem("today", "/", N_("Today")),
    "customers": NavItem("customers", "/customers", N_("Customers")),
    "counter": NavItem("counter", "/counter", N_("Counter")),
    "team": NavItem("team", "/team", N_("Team")),
    "report": NavItem("report", "/reports/weekly", N_("Weekly report")),
    "pipeline": NavItem("pipeline", "/pipeline", N_("Pipeline")),
}

_BY_ROLE = {
    Role.REP: ("today", "customers", "pipeline"),
    Role.CLERK: ("counter", "customers", "today"),
    Role.MANAGER: ("today", "customers", "counter", "team", "report", "pipeline"),
    Role.ADMIN: ("today", "customers", "counter", "team", "report"),
}


def nav_items(actor: Actor | None) -> list[NavItem]:
    """Return the links a user's role needs, in order."""
    if actor is None:
        return []
    return [_ALL[key] for key in _BY_ROLE[actor.role]]


def home_path(actor: Actor) -> str:
    """Return where a user lands after signing in (clerks: the counter)."""
    return "/counter" if actor.role == Role.CLERK else "/"
