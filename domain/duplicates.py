"""Likely duplicates of a customer being saved, and what the user may be told about them."""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from domain.users import Actor, can_view

# Constant English sentences, used as gettext msgids by the web layer.
MSG_PHONE_HIDDEN_TEAM = (
    "A customer with this phone already exists in another team; ask your manager."
)
MSG_PHONE_HIDDEN_OWNER = (
    "A customer with this phone already exists and belongs to a colleague; ask your manager."
)
MSG_NAME_HIDDEN_TEAM = "A customer with this name already exists in another team; ask your manager."
MSG_NAME_HIDDEN_OWNER = (
    "A customer with this name already exists and belongs to a colleague; ask your manager."
)
MESSAGES: tuple[str, ...] = (
    MSG_PHONE_HIDDEN_TEAM,
    MSG_PHONE_HIDDEN_OWNER,
    MSG_NAME_HIDDEN_TEAM,
    MSG_NAME_HIDDEN_OWNER,
)

# Changing one of these fields on an edit can turn the customer into a duplicate.
IDENTITY_FIELDS: frozenset[str] = frozenset({"name", "phone"})


@dataclass(frozen=True)
class DuplicateMatch:
    """An existing customer that looks like the one being saved."""

    id: int
    number: str
    name: str
    phone: str
    team_id: int
    owner_id: int | None
    owner_name: str | None
    same_phone: bool
    same_name: bool


@dataclass(frozen=True)
class DuplicateNotice:
    """What the duplicate warning shows: visible matches, and messages for hidden ones."""

    visible: list[DuplicateMatch]
    hidden_messages: list[str]


def duplicate_notice(actor: Actor, matches: Iterable[DuplicateMatch]) -> DuplicateNotice:
    """Split matches into what the user may open and what they may only be told about.

    A match the user may not see is named by neither number nor name: they learn only
    that it exists and where (another team, or a colleague's), once per kind of message.
    """
    visible: list[DuplicateMatch] = []
    hidden: list[str] = []
    for m in matches:
        if can_view(actor, owner_id=m.owner_id, team_id=m.team_id):
            visible.append(m)
            continue
        other_team = m.team_id != actor.team_id
        if m.same_phone:
            msg = MSG_PHONE_HIDDEN_TEAM if other_team else MSG_PHONE_HIDDEN_OWNER
        else:
            msg = MSG_NAME_HIDDEN_TEAM if other_team else MSG_NAME_HIDDEN_OWNER
        if msg not in hidden:
            hidden.append(msg)
    return DuplicateNotice(visible=visible, hidden_messages=hidden)


def duplicate_check_needed(changes: Mapping[str, object], *, confirmed: bool) -> bool:
    """Return whether an edit must look for duplicates before saving.

    Only a changed name or phone can make a duplicate, and the user may confirm that the
    customer is a different one after seeing the warning.
    """
    return not confirmed and not IDENTITY_FIELDS.isdisjoint(changes)
