"""The one cadence rule: days per level, the next follow-up day, and the admin's form."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from domain.cadence import (
    DEFAULT_CADENCE_DAYS,
    MSG_DAYS_INVALID,
    cadence_days_of,
    cadence_validate,
    follow_up_after,
    next_follow_up,
)
from domain.enums import Level

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(("level", "due"), [("A", 4), ("B", 8), ("C", 15)])
def test_next_follow_up_counts_the_default_days_of_the_level(level, due):
    assert next_follow_up(date(2026, 11, 1), level) == date(2026, 11, due)


def test_an_admins_cadence_replaces_the_defaults_keyed_by_level_or_code():
    by_level = {Level.A: 2, Level.B: 10, Level.C: 30}
    by_code = {"A": 2, "B": 10, "C": 30}
    for cadence in (by_level, by_code):
        assert next_follow_up(date(2026, 11, 1), Level.B, cadence) == date(2026, 11, 11)
        assert next_follow_up(date(2026, 11, 1), "B", cadence) == date(2026, 11, 11)


def test_an_unknown_level_is_followed_up_like_c():
    assert cadence_days_of("Z") == DEFAULT_CADENCE_DAYS[Level.C]
    assert cadence_days_of("Z", {"A": 1, "B": 2, "C": 21}) == 21


def test_the_visit_rule_and_the_day_rule_agree_on_the_local_day():
    # 23:30 UTC is already the next morning in Shanghai: the cadence counts from that day.
    at = datetime(2026, 11, 20, 23, 30, tzinfo=UTC)
    assert follow_up_after(at, SHANGHAI, "A") == next_follow_up(date(2026, 11, 21), "A")


def test_cadence_form_cleans_every_level():
    days, errors = cadence_validate({"A": " 2 ", "B": "10", "C": "365"})
    assert errors == {}
    assert days == {Level.A: 2, Level.B: 10, Level.C: 365}


def test_cadence_form_names_each_bad_level():
    days, errors = cadence_validate({"A": "0", "B": "7"})
    assert errors == {"A": MSG_DAYS_INVALID, "C": MSG_DAYS_INVALID}
    assert days == {Level.B: 7}


def test_a_next_action_brings_the_follow_up_forward_never_back():
    from domain.cadence import follow_up_with_action

    assert follow_up_with_action(date(2026, 12, 10), date(2026, 12, 3)) == date(2026, 12, 3)
    assert follow_up_with_action(date(2026, 12, 3), date(2026, 12, 10)) == date(2026, 12, 3)
    assert follow_up_with_action(None, date(2026, 12, 3)) == date(2026, 12, 3)
    assert follow_up_with_action(date(2026, 12, 3), None) == date(2026, 12, 3)
