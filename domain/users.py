"""The signed-in user as the rules see it, and who may see which customer."""

from dataclasses import dataclass

from domain.enums import Role


@dataclass(frozen=True)
class Actor:
    """Who is acting: enough of a user for permission rules."""

    id: int
    name: str
    role: Role
    team_id: int | None
    locale: str | None = None
    team_is_store: bool = False


def can_view(actor: Actor, *, owner_id: int | None, team_id: int | None) -> bool:
    """Return whether the actor may see a customer with this owner and team."""
    if actor.role == Role.ADMIN:
        return True
    if team_id is None or team_id != actor.team_id:
        return False
    if actor.role in (Role.MANAGER, Role.CLERK):
        return True
    return owner_id is None or owner_id == actor.id


def can_manage_team(actor: Actor, team_id: int | None) -> bool:
    """Return whether the actor may see a team's numbers and reports."""
    if actor.role == Role.ADMIN:
        return True
    return actor.role == Role.MANAGER and team_id is not None and team_id == actor.team_id
