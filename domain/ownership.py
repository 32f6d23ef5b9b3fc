"""Who may own a customer, and who may give a customer to whom (PRODUCT.md §1, §3)."""

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
