"""Visit rules: distance, location and device time, undo window, cadence, amounts, forms."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.cadence import MESSAGES as CADENCE_MESSAGES
from domain.cadence import MSG_DAYS_INVALID, cadence_days_parse, follow_up_after, local_date
from domain.enums import Level
from domain.visits import (
    MESSAGES,
    MSG_AMOUNT_CENTS,
    MSG_AMOUNT_INVALID,
    MSG_AMOUNT_NEGATIVE,
    MSG_AMOUNT_TOO_LARGE,
    MSG_CODE_INVALID,
    MSG_CODE_TAKEN,
    MSG_DATE_INVALID,
    MSG_LABEL_REQUIRED,
    MSG_METHOD_INVALID,
    MSG_MILESTONE_INVALID,
    MSG_POSITION_INVALID,
    MSG_TOO_LONG,
    UNDO_GRACE_SECONDS,
    UNDO_SECONDS,
    Location,
    amount_input_value,
    amount_parse,
    device_time_parse,
    distance_to_customer,
    due_entry,
    haversine_m,
    idempotency_key_valid,
    location_parse,
    outcome_validate,
    undo_allowed,
    undo_seconds_left,
    visit_details_validate,
)
from web.core.i18n import load_catalogue

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


# --- distance and location --------------------------------------------------------------


def test_haversine_one_degree_of_longitude_on_the_equator():
    assert haversine_m(0, 0, 0, 1) == pytest.approx(111_195, rel=1e-3)


def test_haversine_shanghai_to_beijing_is_about_1067_km():
    d = haversine_m(31.2304, 121.4737, 39.9042, 116.4074)
    assert d == pytest.approx(1_067_000, rel=0.01)


def test_haversine_is_symmetric_and_zero_for_the_same_point():
    a = haversine_m(31.23, 121.47, 31.24, 121.48)
    assert a == pytest.approx(haversine_m(31.24, 121.48, 31.23, 121.47))
    assert haversine_m(31.23, 121.47, 31.23, 121.47) == 0


def test_haversine_antipodes_do_not_crash():
    assert haversine_m(0, 0, 0, 180) == pytest.approx(20_015_000, rel=1e-3)


def test_distance_to_customer_in_whole_metres_when_both_are_known():
    where = Location(31.2304, 121.4737, 15)
    d = distance_to_customer(where, 31.2333, 121.4737)
    assert d == pytest.approx(322, abs=1)
    assert d == int(d)


@pytest.mark.parametrize(
    ("where", "lat", "lng"),
    [
        (None, 31.2, 121.4),
        (Location(31.2, 121.4), None, 121.4),
        (Location(31.2, 121.4), 31.2, None),
    ],
)
def test_no_distance_when_either_location_is_missing(where, lat, lng):
    assert distance_to_customer(where, lat, lng) is None


def test_location_parse_accepts_browser_values():
    assert location_parse("31.2304", "121.4737", "25.5") == Location(31.2304, 121.4737, 25.5)
    assert location_parse(31.2, 121.4, None) == Location(31.2, 121.4, None)


@pytest.mark.parametrize(
    ("lat", "lng"),
    [
        ("", ""),
        (None, None),
        ("31.2", ""),
        ("abc", "121"),
        ("91", "121"),
        ("31", "181"),
        ("nan", "121"),
        ("inf", "121"),
        ("0", "0"),
    ],
)
def test_location_parse_drops_missing_or_nonsense(lat, lng):
    assert location_parse(lat, lng, "10") is None


def test_location_parse_drops_only_a_bad_accuracy():
    assert location_parse("31.2", "121.4", "-3") == Location(31.2, 121.4, None)
    assert location_parse("31.2", "121.4", "x") == Location(31.2, 121.4, None)


def test_device_time_is_kept_when_plausible():
    assert device_time_parse("2026-11-20T05:59:58.120Z", NOW) == datetime(
        2026, 11, 20, 5, 59, 58, 120000, tzinfo=UTC
    )
    assert device_time_parse("2026-11-20T14:00:00+08:00", NOW) == NOW


@pytest.mark.parametrize(
    "raw", ["", None, "yesterday", "2026-11-20T06:00:00", "2026-11-25T06:00:00Z", "x" * 50]
)
def test_device_time_dropped_when_missing_naive_or_days_off(raw):
    assert device_time_parse(raw, NOW) is None


@pytest.mark.parametrize(
    ("key", "ok"),
    [
        ("0b6f3a5e-8b1c-4c1e-9d59-4f8f8c2d9a10", True),
        ("2c52ba9ec8454383986e09fa9b8e3682", True),
        ("short", False),
        ("x" * 65, False),
        ("has space in it", False),
        ("<script>alert(1)</script>", False),
    ],
)
def test_idempotency_key_shape(key, ok):
    assert idempotency_key_valid(key) is ok


# --- undo -------------------------------------------------------------------------------


def test_undo_shows_for_ten_seconds():
    assert UNDO_SECONDS == 10
    assert undo_seconds_left(NOW, NOW) == 10
    assert undo_seconds_left(NOW, NOW + timedelta(seconds=3.5)) == pytest.approx(6.5)
    assert undo_seconds_left(NOW, NOW + timedelta(seconds=30)) == 0


@pytest.mark.parametrize(
    ("elapsed", "allowed"),
    [(0, True), (9.9, True), (UNDO_SECONDS + UNDO_GRACE_SECONDS, True), (16, False), (3600, False)],
)
def test_server_accepts_undo_a_little_longer_than_it_is_shown(elapsed, allowed):
    assert undo_allowed(NOW, NOW + timedelta(seconds=elapsed)) is allowed


# --- cadence ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("local_visit", "level", "due"),
    [
        (datetime(2026, 11, 20, 10, 0), Level.A, date(2026, 11, 23)),
        (datetime(2026, 11, 20, 10, 0), Level.B, date(2026, 11, 27)),
        (datetime(2026, 11, 20, 10, 0), Level.C, date(2026, 12, 4)),
        # month ends
        (datetime(2026, 1, 30, 9, 0), Level.A, date(2026, 2, 2)),
        (datetime(2026, 2, 25, 9, 0), Level.B, date(2026, 3, 4)),
        (datetime(2028, 2, 20, 9, 0), Level.C, date(2028, 3, 5)),  # leap year
        (datetime(2026, 4, 28, 9, 0), Level.A, date(2026, 5, 1)),
        # year end
        (datetime(2026, 12, 30, 18, 0), Level.A, date(2027, 1, 2)),
        (datetime(2026, 12, 25, 18, 0), Level.B, date(2027, 1, 1)),
        (datetime(2026, 12, 31, 23, 59), Level.C, date(2027, 1, 14)),
        # week: a Sunday visit of a B customer is due the next Sunday
        (datetime(2026, 11, 22, 9, 0), Level.B, date(2026, 11, 29)),
        (datetime(2026, 11, 28, 9, 0), Level.A, date(2026, 12, 1)),  # Saturday → Tuesday
    ],
)
def test_follow_up_after_each_level_across_boundaries(local_visit, level, due):
    at = local_visit.replace(tzinfo=SHANGHAI).astimezone(UTC)
    assert follow_up_after(at, SHANGHAI, level) == due


def test_follow_up_counts_from_the_local_day_not_the_utc_day():
    # 01:30 on 21 Nov in Shanghai is still 20 Nov in UTC.
    at = datetime(2026, 11, 20, 17, 30, tzinfo=UTC)
    assert local_date(at, SHANGHAI) == date(2026, 11, 21)
    assert follow_up_after(at, SHANGHAI, "A") == date(2026, 11, 24)
    assert follow_up_after(at, UTC, "A") == date(2026, 11, 23)


def test_follow_up_uses_the_configured_cadence_and_falls_back_to_c():
    at = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    assert follow_up_after(at, SHANGHAI, "B", {"A": 2, "B": 10, "C": 30}) == date(2026, 11, 30)
    assert follow_up_after(at, SHANGHAI, "Z") == date(2026, 12, 4)


def test_due_entry_overdue_due_today_and_not_yet():
    today = date(2026, 11, 20)
    assert due_entry(date(2026, 11, 17), today).overdue_days == 3
    assert due_entry(date(2026, 11, 17), today).is_overdue
    entry = due_entry(today, today)
    assert entry.overdue_days == 0 and not entry.is_overdue
    assert due_entry(date(2026, 11, 21), today) is None
    assert due_entry(None, today) is None


@pytest.mark.parametrize(("raw", "days"), [("3", 3), (" 14 ", 14), ("365", 365)])
def test_cadence_days_parse(raw, days):
    assert cadence_days_parse(raw) == days


@pytest.mark.parametrize("raw", ["0", "366", "-1", "", "two", "1.5"])
def test_cadence_days_refused(raw):
    with pytest.raises(ValueError, match="days"):
        cadence_days_parse(raw)
    try:
        cadence_days_parse(raw)
    except ValueError as exc:
        assert str(exc) == MSG_DAYS_INVALID


# --- amounts and details ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "cents"),
    [
        ("1,280.50", 128050),
        ("1280", 128000),
        ("1280.5", 128050),
        ("¥1,280.50", 128050),
        ("￥ 99", 9900),
        ("35元", 3500),
        ("１，２８０.５０", 128050),  # full-width from a Chinese IME
        ("0.05", 5),
        (".5", 50),
        ("1,000,000", 100000000),
        ("12.", 1200),
        ("", None),
        ("   ", None),
        (None, None),
    ],
)
def test_amount_parse(raw, cents):
    assert amount_parse(raw) == cents


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("abc", MSG_AMOUNT_INVALID),
        ("1,28", MSG_AMOUNT_INVALID),
        ("12,34.5", MSG_AMOUNT_INVALID),
        ("1e5", MSG_AMOUNT_INVALID),
        ("1.2.3", MSG_AMOUNT_INVALID),
        ("12.345", MSG_AMOUNT_CENTS),
        ("-5", MSG_AMOUNT_NEGATIVE),
        ("99999999999999", MSG_AMOUNT_TOO_LARGE),
    ],
)
def test_amount_parse_refuses_with_a_message(raw, message):
    with pytest.raises(ValueError) as info:
        amount_parse(raw)
    assert str(info.value) == message


@pytest.mark.parametrize(
    ("cents", "text"), [(None, ""), (128050, "1280.50"), (9900, "99"), (5, "0.05")]
)
def test_amount_input_value_round_trips(cents, text):
    assert amount_input_value(cents) == text
    assert amount_parse(text) == cents


def test_details_all_optional():
    checked = visit_details_validate({})
    assert checked.errors == {}
    assert checked.details.amount_cents is None and checked.details.milestone is None


def test_details_cleaned():
    checked = visit_details_validate(
        {
            "note": "  Met the purchaser.\r\nWants a quote.  ",
            "feedback": "Price is high",
            "next_action": "Send quote",
            "next_action_due": "2026-11-30",
            "milestone": "contract_submitted",
            "amount": "1,280.50",
        }
    )
    assert checked.errors == {}
    d = checked.details
    assert d.note == "Met the purchaser.\nWants a quote."
    assert d.next_action_due == date(2026, 11, 30)
    assert d.milestone == "contract_submitted"
    assert d.amount_cents == 128050


def test_details_errors_per_field():
    checked = visit_details_validate(
        {
            "note": "x" * 2001,
            "next_action_due": "30/11/2026",
            "milestone": "party",
            "amount": "lots",
        }
    )
    assert checked.errors == {
        "note": MSG_TOO_LONG,
        "next_action_due": MSG_DATE_INVALID,
        "milestone": MSG_MILESTONE_INVALID,
        "amount": MSG_AMOUNT_INVALID,
    }


# --- outcomes ---------------------------------------------------------------------------


def test_outcome_validate_new():
    clean, errors = outcome_validate(
        {
            "code": "site_survey",
            "label_en": " Site  survey ",
            "label_zh": "现场勘察",
            "method": "field",
            "position": "75",
            "active": "1",
        },
        taken={"called"},
        new=True,
    )
    assert errors == {}
    assert clean.label_en == "Site survey" and clean.position == 75 and clean.active
    assert not clean.asks_amount


def test_outcome_validate_errors():
    _clean, errors = outcome_validate(
        {"code": "called", "label_en": "", "label_zh": "x" * 61, "method": "fax", "position": "-1"},
        taken={"called"},
        new=True,
    )
    assert errors == {
        "code": MSG_CODE_TAKEN,
        "label_en": MSG_LABEL_REQUIRED,
        "label_zh": MSG_TOO_LONG,
        "method": MSG_METHOD_INVALID,
        "position": MSG_POSITION_INVALID,
    }
    _clean, errors = outcome_validate({"code": "Bad Code"}, new=True)
    assert errors["code"] == MSG_CODE_INVALID


def test_every_message_has_a_chinese_translation():
    catalogue = load_catalogue("zh_CN")
    assert [m for m in (*MESSAGES, *CADENCE_MESSAGES) if m not in catalogue] == []
