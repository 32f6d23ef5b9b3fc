"""The signed-in user as the rules see it, who may see which customer, and the user form."""

from collections.abc import Collection
from dataclasses import dataclass, field

from domain.enums import Role
from domain.text import clean_name, name_too_long

MSG_NAME_MISSING = "Enter the person's name."
MSG_NAME_TOO_LONG = "The name can have at most 100 characters."
MSG_ROLE_INVALID = "Choose a role."
MSG_TEAM_BOTH = "Choose a team or type a new team name, not both."
MSG_TEAM_NAME_TOO_LONG = "A team name can have at most 100 characters."
MSG_TEAM_UNKNOWN = "Choose a team from the list."
MSG_TEAM_MISSING = "Choose a team, or type the name of a new one."

MESSAGES: tuple[str, ...] = (
    MSG_NAME_MISSING,
    MSG_NAME_TOO_LONG,
    MSG_ROLE_INVALID,
    MSG_TEAM_BOTH,
    MSG_TEAM_NAME_TOO_LONG,
    MSG_TEAM_UNKNOWN,
    MSG_TEAM_MISSING,
)


@dataclass(frozen=True)
class Actor:
    """Who is acting: enough of a user for permission rules."""

    id: int
    name: str
    role: Role
    team_id: int | None
    locale: str | None = None
    team_is_store: bool = False
    may_handle_privacy: bool = False


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


@dataclass
class UserForm:
    """The admin's create-user form: what was typed and what is wrong with it (msgids)."""

    name: str = ""
    role: str = ""
    team_id: str = ""
    new_team: str = ""
    store: bool = False
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def existing_team_id(self) -> int | None:
        """The chosen existing team (valid forms only), or None for a new team or none."""
        return int(self.team_id) if self.team_id else None


def user_form_validate(data: dict[str, str], *, team_ids: Collection[int]) -> UserForm:
    """Read and check the create-user form; `team_ids` are the teams that exist.

    Everyone but an admin belongs to a team: an existing one or a new one, never both.
    """
    form = UserForm(
        name=clean_name(data.get("name", "")),
        role=data.get("role", ""),
        team_id=data.get("team_id", ""),
        new_team=clean_name(data.get("new_team", "")),
        store=data.get("store") in ("1", "on", "true"),
    )
    if not form.name:
        form.errors["name"] = MSG_NAME_MISSING
    elif name_too_long(form.name):
        form.errors["name"] = MSG_NAME_TOO_LONG
    if form.role not in {r.value for r in Role}:
        form.errors["role"] = MSG_ROLE_INVALID
    if form.new_team and form.team_id:
        form.errors["team"] = MSG_TEAM_BOTH
    elif form.new_team and name_too_long(form.new_team):
        form.errors["team"] = MSG_TEAM_NAME_TOO_LONG
    elif form.team_id:
        if not (form.team_id.isascii() and form.team_id.isdigit()) or (
            int(form.team_id) not in team_ids
        ):
            form.errors["team"] = MSG_TEAM_UNKNOWN
    elif not form.new_team and form.role and form.role != Role.ADMIN:
        form.errors["team"] = MSG_TEAM_MISSING
    return form
