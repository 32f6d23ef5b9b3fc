"""Personal data rules: due dates, who may, redaction, validation."""

from datetime import UTC, date, datetime

from domain.enums import Role
from domain.privacy import (
    ERASED,
    can_handle_requests,
    can_read_audit,
    days_validate,
    due_on,
    erasure_refusal,
    is_overdue,
    needles,
    reason_validate,
    redact,
    request_validate,
    retention_cutoff,
)
from domain.users import Actor

TODAY = date(2026, 11, 20)


def _actor(role: Role) -> Actor:
    return Actor(id=1, name="x", role=role, team_id=1)


def test_who_may():
    assert can_handle_requests(_actor(Role.ADMIN))
    assert not any(can_handle_requests(_actor(r)) for r in (Role.REP, Role.CLERK, Role.MANAGER))
    assert can_read_audit(_actor(Role.MANAGER)) and can_read_audit(_actor(Role.ADMIN))
    assert not can_read_audit(_actor(Role.REP)) and not can_read_audit(_actor(Role.CLERK))


def test_the_privacy_permission_lets_any_role_handle_requests():
    for role in (Role.REP, Role.CLERK, Role.MANAGER):
        granted = Actor(id=1, name="x", role=role, team_id=1, may_handle_privacy=True)
        assert can_handle_requests(granted)
        assert not can_read_audit(granted) or role == Role.MANAGER


def test_due_and_overdue():
    assert due_on(TODAY, 15) == date(2026, 12, 5)
    assert is_overdue(date(2026, 11, 19), "open", TODAY)
    assert not is_overdue(TODAY, "open", TODAY)
    assert not is_overdue(date(2026, 1, 1), "answered", TODAY)


def test_retention_and_hold():
    assert retention_cutoff(datetime(2026, 11, 20, tzinfo=UTC), 180) == datetime(
        2026, 5, 24, tzinfo=UTC
    )
    assert erasure_refusal("合同未结清") == "合同未结清"
    assert erasure_refusal(None) is None


def test_redaction_finds_values_in_any_spelling():
    found = needles(["张伟龙井", "+86 139 1234 5678", "ab", ""])
    assert "13912345678" in found and "ab" not in found
    detail = {"after": {"phone": "139-1234-5678", "level": "A"}, "names": ["张伟龙井贸易"], "n": 3}
    assert redact(detail, found) == {
        "after": {"phone": ERASED, "level": "A"},
        "names": [ERASED],
        "n": 3,
    }


def test_request_validation():
    ok, errors = request_validate(
        {"requester": "张伟", "subject": "139", "channel": "phone", "kind": "copy"},
        today=TODAY,
        due_days=15,
    )
    assert not errors and ok.received_on == TODAY and ok.due_on == date(2026, 12, 5)
    bad, errors = request_validate(
        {"channel": "fax", "kind": "x", "received_on": "2027-01-01", "due_on": "nope"},
        today=TODAY,
        due_days=15,
    )
    assert bad is None
    assert set(errors) == {"requester", "subject", "channel", "kind", "received_on", "due_on"}
    assert reason_validate("  ") == (None, "State the reason.")
    assert reason_validate(" 已提供 ") == ("已提供", None)
    assert days_validate("15", upper=365) == 15
    assert days_validate("0", upper=365) is None and days_validate("x", upper=365) is None
