"""Which time a visit counts at: the phone's when plausible, else the server's."""

from datetime import UTC, datetime, timedelta

import pytest

from domain.visits import (
    CLOCK_FUTURE,
    CLOCK_TOO_OLD,
    VisitClock,
    device_time_read,
    max_age_hours_parse,
    sent_later,
    visit_clock,
)

NOW = datetime(2026, 11, 20, 6, 0, tzinfo=UTC)


def test_no_device_time_counts_at_the_server_time():
    assert visit_clock(None, NOW) == VisitClock(NOW)


def test_a_visit_sent_at_once_counts_at_the_server_time():
    assert visit_clock(NOW - timedelta(seconds=40), NOW) == VisitClock(NOW)
    assert visit_clock(NOW + timedelta(minutes=3), NOW) == VisitClock(NOW)  # small skew


def test_a_visit_recorded_offline_counts_at_the_phone_time():
    then = NOW - timedelta(hours=5)
    assert visit_clock(then, NOW) == VisitClock(then)


def test_a_phone_time_in_the_future_is_corrected():
    assert visit_clock(NOW + timedelta(hours=1), NOW) == VisitClock(NOW, CLOCK_FUTURE)


def test_a_phone_time_beyond_the_limit_is_corrected():
    old = NOW - timedelta(hours=73)
    assert visit_clock(old, NOW) == VisitClock(NOW, CLOCK_TOO_OLD)
    assert visit_clock(old, NOW, max_age_hours=100) == VisitClock(old)
    assert visit_clock(NOW - timedelta(hours=2), NOW, max_age_hours=1).corrected == CLOCK_TOO_OLD


def test_device_time_read_keeps_any_zoned_time_and_drops_garbage():
    assert device_time_read("2026-11-01T08:00:00+08:00") == datetime(2026, 11, 1, 0, tzinfo=UTC)
    assert device_time_read("2026-11-25T06:00:00Z") == datetime(2026, 11, 25, 6, tzinfo=UTC)
    for raw in ("", None, "2026-11-20T06:00:00", "1970-01-01T00:00:00Z", "x" * 50, "soon"):
        assert device_time_read(raw) is None


@pytest.mark.parametrize(("raw", "hours"), [("72", 72), (" 1 ", 1), ("７２０", 720)])
def test_the_admin_limit_is_whole_hours(raw, hours):
    assert max_age_hours_parse(raw) == hours


@pytest.mark.parametrize("raw", ["", "0", "721", "1.5", "-3", "abc", None])
def test_a_bad_admin_limit_is_refused_with_a_message(raw):
    with pytest.raises(ValueError, match="between 1 and 720"):
        max_age_hours_parse(raw)


def test_sent_later_only_after_a_real_delay():
    assert sent_later(NOW - timedelta(hours=1), NOW)
    assert not sent_later(NOW - timedelta(seconds=30), NOW)
    assert not sent_later(NOW, None)
