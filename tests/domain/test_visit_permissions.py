"""Who may add details to, correct and undo a visit, and whose follow-ups Today lists."""

import pytest

from domain.enums import Role
from domain.users import Actor
from domain.visits import can_edit_visit, can_undo_visit, follow_ups_by_rep

AUTHOR_ID = 7


def actor(role: Role, user_id: int = 1) -> Actor:
    return Actor(id=user_id, name="x", role=role, team_id=1)


@pytest.mark.parametrize("role", list(Role))
def test_the_author_may_edit_and_undo_their_own_visit(role):
    author = actor(role, AUTHOR_ID)
    assert can_edit_visit(author, author_id=AUTHOR_ID)
    assert can_undo_visit(author, author_id=AUTHOR_ID)


@pytest.mark.parametrize(
    ("role", "may_edit"),
    [(Role.REP, False), (Role.CLERK, False), (Role.MANAGER, True), (Role.ADMIN, True)],
)
def test_only_managers_and_admins_correct_someone_elses_visit(role, may_edit):
    assert can_edit_visit(actor(role), author_id=AUTHOR_ID) is may_edit


@pytest.mark.parametrize("role", list(Role))
def test_nobody_undoes_someone_elses_visit(role):
    assert not can_undo_visit(actor(role), author_id=AUTHOR_ID)


@pytest.mark.parametrize(
    ("role", "by_rep"),
    [(Role.REP, False), (Role.CLERK, False), (Role.MANAGER, True), (Role.ADMIN, True)],
)
def test_managers_and_admins_see_follow_ups_grouped_by_rep(role, by_rep):
    assert follow_ups_by_rep(actor(role)) is by_rep
