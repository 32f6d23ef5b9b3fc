"""What a user is told about existing customers that look like the one being saved."""

from domain.duplicates import (
    MSG_NAME_HIDDEN_OWNER,
    MSG_NAME_HIDDEN_TEAM,
    MSG_PHONE_HIDDEN_OWNER,
    MSG_PHONE_HIDDEN_TEAM,
    DuplicateMatch,
    duplicate_check_needed,
    duplicate_notice,
)
from domain.enums import Role
from domain.users import Actor

TEAM, OTHER = 1, 2
REP = Actor(id=10, name="陈静", role=Role.REP, team_id=TEAM)
MANAGER = Actor(id=11, name="李伟", role=Role.MANAGER, team_id=TEAM)


def match(cid: int, *, team_id=TEAM, owner_id=None, phone=True) -> DuplicateMatch:
    return DuplicateMatch(
        id=cid,
        number=f"C20261100{cid}",
        name="华东机械",
        phone="13800138000",
        team_id=team_id,
        owner_id=owner_id,
        owner_name=None,
        same_phone=phone,
        same_name=not phone,
    )


def test_matches_the_user_may_open_are_listed():
    mine, pool = match(1, owner_id=REP.id), match(2)
    notice = duplicate_notice(REP, [mine, pool])
    assert notice.visible == [mine, pool] and notice.hidden_messages == []


def test_a_hidden_match_is_only_described_never_named():
    colleagues = match(1, owner_id=99)
    elsewhere = match(2, team_id=OTHER, phone=False)
    notice = duplicate_notice(REP, [colleagues, elsewhere])
    assert notice.visible == []
    assert notice.hidden_messages == [MSG_PHONE_HIDDEN_OWNER, MSG_NAME_HIDDEN_TEAM]


def test_each_message_is_given_once():
    notice = duplicate_notice(REP, [match(1, team_id=OTHER), match(2, team_id=OTHER)])
    assert notice.hidden_messages == [MSG_PHONE_HIDDEN_TEAM]


def test_a_manager_sees_the_teams_matches_but_not_another_teams():
    colleagues, elsewhere = match(1, owner_id=99), match(2, team_id=OTHER, owner_id=98, phone=False)
    notice = duplicate_notice(MANAGER, [colleagues, elsewhere])
    assert notice.visible == [colleagues]
    assert notice.hidden_messages == [MSG_NAME_HIDDEN_TEAM]
    assert MSG_NAME_HIDDEN_OWNER not in notice.hidden_messages


def test_an_edit_looks_for_duplicates_only_when_name_or_phone_change_unconfirmed():
    assert duplicate_check_needed({"name": "新名字"}, confirmed=False)
    assert duplicate_check_needed({"phone": "13900139000", "level": "A"}, confirmed=False)
    assert not duplicate_check_needed({"level": "A", "industry": "机械"}, confirmed=False)
    assert not duplicate_check_needed({"name": "新名字"}, confirmed=True)
    assert not duplicate_check_needed({}, confirmed=False)
