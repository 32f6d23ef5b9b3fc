"""Passkey rules: which verified sign-ins are refused, which enrolment links are unusable."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.passkeys import (
    LinkProblem,
    LinkState,
    SignInRefusal,
    enrolment_link_problem,
    passkey_name_clean,
    sign_count_regressed,
    signin_refusal,
)

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
HANDLE = b"h" * 32


def refusal(**bend) -> SignInRefusal | None:
    """The refusal for a sign-in that is fine except for what `bend` changes."""
    facts = {
        "user_handle": HANDLE,
        "owner_handle": HANDLE,
        "revoked": False,
        "owner_active": True,
        "stored_count": 4,
        "new_count": 5,
        **bend,
    }
    return signin_refusal(**facts)


def test_a_good_sign_in_is_let_in() -> None:
    assert refusal() is None


@pytest.mark.parametrize(
    ("bend", "expected"),
    [
        ({"user_handle": b"someone else"}, SignInRefusal.USER_HANDLE_MISMATCH),
        ({"user_handle": None}, SignInRefusal.USER_HANDLE_MISMATCH),
        ({"revoked": True}, SignInRefusal.CREDENTIAL_REVOKED),
        ({"owner_active": False}, SignInRefusal.USER_INACTIVE),
        ({"new_count": 4}, SignInRefusal.SIGN_COUNT_REGRESSED),
        ({"new_count": 0}, SignInRefusal.SIGN_COUNT_REGRESSED),
    ],
)
def test_each_refusal_rule(bend, expected) -> None:
    assert refusal(**bend) is expected


def test_rules_are_checked_in_order_handle_revoked_inactive_counter() -> None:
    everything = {"revoked": True, "owner_active": False, "new_count": 1}
    assert refusal(user_handle=b"x", **everything) is SignInRefusal.USER_HANDLE_MISMATCH
    assert refusal(**everything) is SignInRefusal.CREDENTIAL_REVOKED
    assert refusal(owner_active=False, new_count=1) is SignInRefusal.USER_INACTIVE


def test_the_reason_codes_are_what_the_audit_log_keeps() -> None:
    assert [r.value for r in SignInRefusal] == [
        "user_handle_mismatch",
        "credential_revoked",
        "user_inactive",
        "sign_count_regressed",
    ]


def test_sign_counter_must_grow_unless_the_authenticator_has_none() -> None:
    assert not sign_count_regressed(0, 0)
    assert not sign_count_regressed(0, 7)
    assert not sign_count_regressed(5, 6)
    assert sign_count_regressed(5, 5)
    assert sign_count_regressed(5, 3)
    assert sign_count_regressed(5, 0)


def link(*, used: bool = False, hours_left: float = 1, active: bool = True) -> LinkState:
    """An enrolment link that expires `hours_left` hours after NOW."""
    return LinkState(
        used_at=NOW - timedelta(minutes=5) if used else None,
        expires_at=NOW + timedelta(hours=hours_left),
        user_active=active,
    )


def test_a_fresh_link_can_be_used() -> None:
    assert enrolment_link_problem(link(), NOW) is None


@pytest.mark.parametrize(
    ("state", "expected"),
    [
        (None, LinkProblem.UNKNOWN),
        (link(used=True), LinkProblem.USED),
        (link(active=False), LinkProblem.INACTIVE),
        (link(hours_left=0), LinkProblem.EXPIRED),
        (link(hours_left=-2), LinkProblem.EXPIRED),
    ],
)
def test_unusable_links(state, expected) -> None:
    assert enrolment_link_problem(state, NOW) is expected


def test_a_used_link_says_used_even_when_it_has_also_expired() -> None:
    assert enrolment_link_problem(link(used=True, hours_left=-1), NOW) is LinkProblem.USED


def test_a_link_works_until_the_moment_it_expires() -> None:
    state = link(hours_left=1)
    assert enrolment_link_problem(state, NOW + timedelta(minutes=59, seconds=59)) is None
    assert enrolment_link_problem(state, NOW + timedelta(hours=1)) is LinkProblem.EXPIRED


def test_passkey_names_collapse_spaces_and_need_1_to_100_characters() -> None:
    assert passkey_name_clean("  Work \t phone ") == "Work phone"
    assert passkey_name_clean("工作 手机") == "工作 手机"
    assert passkey_name_clean("x" * 100) == "x" * 100
    assert passkey_name_clean("x" * 101) is None
    assert passkey_name_clean("   ") is None
    assert passkey_name_clean("") is None
