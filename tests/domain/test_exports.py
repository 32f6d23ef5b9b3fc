"""Export rules: formula neutralisation, who may export, the visits date range."""

from datetime import date

from domain.enums import Role
from domain.exports import (
    DEFAULT_EXPORT_ROLES,
    MSG_DATE_INVALID,
    MSG_RANGE_ORDER,
    MSG_RANGE_TOO_LONG,
    export_allowed,
    neutralise_cell,
    parse_range,
)

TODAY = date(2026, 11, 23)


def test_text_that_a_spreadsheet_would_run_as_a_formula_is_kept_as_text():
    assert (
        neutralise_cell('=HYPERLINK("http://evil","点我")') == '\'=HYPERLINK("http://evil","点我")'
    )
    assert neutralise_cell("+86 138") == "'+86 138"
    assert neutralise_cell("-1+2") == "'-1+2"
    assert neutralise_cell("@SUM(A1)") == "'@SUM(A1)"


def test_ordinary_values_are_unchanged():
    assert neutralise_cell("华东机械") == "华东机械"
    assert neutralise_cell(-5) == -5
    assert neutralise_cell(None) is None
    assert neutralise_cell(TODAY) == TODAY


def test_reps_and_clerks_may_not_export_by_default_admins_always_may():
    assert not export_allowed(Role.REP, DEFAULT_EXPORT_ROLES)
    assert not export_allowed(Role.CLERK, DEFAULT_EXPORT_ROLES)
    assert export_allowed(Role.MANAGER, DEFAULT_EXPORT_ROLES)
    assert export_allowed(Role.ADMIN, frozenset())
    assert export_allowed(Role.REP, {Role.REP})


def test_an_empty_range_is_the_last_30_days():
    assert parse_range("", "", today=TODAY) == ((date(2026, 10, 25), TODAY), {})


def test_a_range_includes_both_days():
    assert parse_range("2026-11-01", "2026-11-01", today=TODAY) == (
        (date(2026, 11, 1), date(2026, 11, 1)),
        {},
    )


def test_wrong_ranges_say_which_field():
    assert parse_range("1.11.2026", "", today=TODAY) == (None, {"start": MSG_DATE_INVALID})
    assert parse_range("2026-11-02", "2026-11-01", today=TODAY) == (None, {"end": MSG_RANGE_ORDER})
    assert parse_range("2025-01-01", "2026-11-01", today=TODAY) == (
        None,
        {"start": MSG_RANGE_TOO_LONG},
    )
