"""Who may own a customer, and who may give a customer to whom (PRODUCT.md §1, §3)."""

from collections.abc import Collection
from dataclasses import dataclass

from domain.enums import Role
from domain.users import Actor

# Roles that can be a customer's owner.
OWNER_ROLES: frozenset[Role] = frozenset({Role.REP, Role.MANAGER, Role.CLERK})


@dataclass(frozen=True)
class Candidate:
    """A user who might own a customer."""

    id: int
    role: Role
    team_id: int | None


def may_choose_owner(actor: Actor) -> bool:
    """Return whether the actor picks the owner on the customer form (else it is implied)."""
    return actor.role in (Role.MANAGER, Role.ADMIN, Role.CLERK)


def may_reassign(actor: Actor) -> bool:
    """Return whether the actor may change the owner of an existing customer."""
    return actor.role in (Role.MANAGER, Role.ADMIN)


def owner_allowed(actor: Actor, *, team_id: int, owner: Candidate | None) -> bool:
    """Return whether the actor may give a customer of `team_id` to `owner` (None = pool).

    Reps own what they create. Clerks create customers of their store, owned by the store
    (None) or by themselves. Managers give customers to the pool (None) or to a member of
    their own team; admins do the same within the customer's team.
    """
    if actor.role == Role.REP:
        return owner is not None and owner.id == actor.id and team_id == actor.team_id
    if actor.role == Role.CLERK:
        return team_id == actor.team_id and (owner is None or owner.id == actor.id)
    if actor.role == Role.MANAGER and team_id != actor.team_id:
        return False
    if owner is None:
        return True
    return owner.team_id == team_id and owner.role in OWNER_ROLES


def default_owner_id(actor: Actor) -> int | None:
    """Return the owner a new customer gets when the actor does not choose one."""
    return actor.id if actor.role == Role.REP else None


# --- The customer form: which team and owner a customer gets ---------------------------

# Constant English sentences, used as gettext msgids by the web layer.
MSG_OWNER = "Choose an owner from the list."
MSG_TEAM = "Choose a team."
MESSAGES: tuple[str, ...] = (MSG_OWNER, MSG_TEAM)


def may_choose_team(actor: Actor) -> bool:
    """Return whether the actor picks the team of a new customer (everyone else uses theirs)."""
    return actor.role == Role.ADMIN


def may_create(actor: Actor) -> bool:
    """Return whether the actor may create customers: admins, and users who have a team."""
    return actor.role == Role.ADMIN or actor.team_id is not None


@dataclass(frozen=True)
class OwnerField:
    """What the owner field of the customer form offers the actor."""

    shown: bool  # the form lets the actor choose the owner
    self_only: bool  # the only person offered is the actor (a clerk: "me" or the store)
    all_teams: bool  # users of every team are offered, next to a team choice


def owner_field(actor: Actor, *, new: bool) -> OwnerField:
    """Return the owner choice the actor gets on the new (or the edit) customer form."""
    shown = may_choose_owner(actor) if new else may_reassign(actor)
    return OwnerField(
        shown=shown,
        self_only=actor.role == Role.CLERK,
        all_teams=new and may_choose_team(actor),
    )


@dataclass(frozen=True)
class Placement:
    """Where a new customer goes: its team and owner, or the errors to show on the form."""

    team_id: int | None
    owner_id: int | None
    errors: dict[str, str]


def place_new_customer(
    actor: Actor,
    *,
    team_id: int | None,
    owner_id: int | None,
    owner: Candidate | None,
    team_ids: Collection[int] = (),
) -> Placement:
    """Decide a new customer's team and owner from the actor's role and what the form asked.

    `team_id` and `owner_id` are what the form asked for (None when left empty or not a
    number); `owner` is that user as found among the users who may own customers (None
    when there is no such user); `team_ids` are the teams an admin may choose from.
    """
    if may_choose_team(actor):
        if team_id not in team_ids:
            return Placement(None, None, {"team_id": MSG_TEAM})
    else:
        team_id = actor.team_id
    if not may_choose_owner(actor):
        return Placement(team_id, default_owner_id(actor), {})
    if owner_id is not None and (owner is None or owner.id != owner_id):
        return Placement(team_id, None, {"owner_id": MSG_OWNER})
    if team_id is None or not owner_allowed(actor, team_id=team_id, owner=owner):
        return Placement(team_id, owner_id, {"owner_id": MSG_OWNER})
    return Placement(team_id, owner_id, {})


def reassignment(
    actor: Actor,
    *,
    team_id: int,
    current_owner_id: int | None,
    owner_id: int | None,
    owner: Candidate | None,
) -> tuple[int | None, str | None]:
    """Return the owner an edit leaves a customer with, and an error if it is not allowed.

    `owner_id` is what the form asked for; `owner` that user among the users who may own
    customers (None when there is no such user). Users who may not reassign keep the owner.
    """
    if not may_reassign(actor) or owner_id == current_owner_id:
        return current_owner_id, None
    if owner_id is not None and (owner is None or owner.id != owner_id):
        return owner_id, MSG_OWNER
    if not owner_allowed(actor, team_id=team_id, owner=owner):
        return owner_id, MSG_OWNER
    return owner_id, None


# --- The counter: walk-in customers belong to the store ---------------------------------


def counter_placement(actor: Actor) -> tuple[int, int | None] | None:
    """Return (team, owner) of a customer added at the counter; None if the actor has no store.

    A clerk owns the walk-ins they add; a store manager's go to the store (no owner).
    """
    if not actor.team_is_store or actor.team_id is None:
        return None
    return actor.team_id, actor.id if actor.role == Role.CLERK else None
