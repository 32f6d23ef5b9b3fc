"""The admin's create-user form: what is kept and what is refused, in plain words."""

import pytest

from domain.users import (
    MESSAGES,
    MSG_NAME_MISSING,
    MSG_NAME_TOO_LONG,
    MSG_ROLE_INVALID,
    MSG_TEAM_BOTH,
    MSG_TEAM_MISSING,
    MSG_TEAM_NAME_TOO_LONG,
    MSG_TEAM_UNKNOWN,
    user_form_validate,
)

TEAMS = {1, 2}


def test_a_rep_in_an_existing_team() -> None:
    form = user_form_validate({"name": " 李  伟 ", "role": "rep", "team_id": "2"}, team_ids=TEAMS)
    assert form.errors == {}
    assert form.name == "李 伟"
    assert form.existing_team_id == 2
    assert form.new_team == ""


def test_a_clerk_in_a_new_store() -> None:
    data = {"name": "周敏", "role": "clerk", "new_team": " 徐汇  门店 ", "store": "1"}
    form = user_form_validate(data, team_ids=TEAMS)
    assert form.errors == {}
    assert form.new_team == "徐汇 门店"
    assert form.store is True
    assert form.existing_team_id is None


def test_an_admin_needs_no_team() -> None:
    form = user_form_validate({"name": "Second Admin", "role": "admin"}, team_ids=set())
    assert form.errors == {}
    assert form.existing_team_id is None


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "", "role": "rep", "new_team": "一组"}, "name", MSG_NAME_MISSING),
        ({"name": "   ", "role": "rep", "new_team": "一组"}, "name", MSG_NAME_MISSING),
        ({"name": "x" * 101, "role": "rep", "new_team": "一组"}, "name", MSG_NAME_TOO_LONG),
        ({"name": "陈静", "role": "boss", "new_team": "一组"}, "role", MSG_ROLE_INVALID),
        ({"name": "陈静", "role": "rep"}, "team", MSG_TEAM_MISSING),
        ({"name": "陈静", "role": "rep", "team_id": "999"}, "team", MSG_TEAM_UNKNOWN),
        ({"name": "陈静", "role": "rep", "team_id": "one"}, "team", MSG_TEAM_UNKNOWN),
        ({"name": "陈静", "role": "rep", "team_id": "²"}, "team", MSG_TEAM_UNKNOWN),
        (
            {"name": "陈静", "role": "rep", "team_id": "1", "new_team": "二组"},
            "team",
            MSG_TEAM_BOTH,
        ),
        ({"name": "陈静", "role": "rep", "new_team": "y" * 101}, "team", MSG_TEAM_NAME_TOO_LONG),
    ],
)
def test_refusals_name_the_field(data, field, message) -> None:
    form = user_form_validate(data, team_ids=TEAMS)
    assert form.errors == {field: message}
    assert form.name == " ".join(data["name"].split())


def test_every_problem_is_reported_at_once() -> None:
    form = user_form_validate({"name": "", "role": "", "team_id": "7"}, team_ids=TEAMS)
    assert set(form.errors) == {"name", "role", "team"}


def test_messages_are_sentences_listed_once_for_translation() -> None:
    assert len(set(MESSAGES)) == len(MESSAGES) == 7
    assert all(m.endswith(".") and "%" not in m for m in MESSAGES)
