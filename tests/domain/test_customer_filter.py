"""The customer list's filter rules: reading the URL, writing it back, the week and day edges."""

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from domain.customer_filter import (
    CustomerFilter,
    filter_parse,
    filter_query,
    local_day_start_utc,
    week_end,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_an_empty_url_is_the_plain_list():
    filt, errors = filter_parse({})
    assert filt == CustomerFilter() and errors == {} and filt.active == 0


def test_every_filter_is_read_and_counted():
    filt, errors = filter_parse(
        {
            "owner": "pool",
            "level": "A",
            "stage": "proposal",
            "status": "intent",
            "source": "referral",
            "tag": " VIP ",
            "due": "overdue",
            "no_visit_days": "30",
            "created_from": "2026-11-01",
            "created_to": "2026-11-30",
            "sort": "last_visit",
            "page": "3",
        }
    )
    assert errors == {}
    assert filt.owner == "pool" and filt.tag == "VIP" and filt.no_visit_days == 30
    assert filt.created_from == date(2026, 11, 1) and filt.sort == "last_visit" and filt.page == 3
    assert filt.active == 10


def test_wrong_values_are_dropped_with_a_message_by_field():
    filt, errors = filter_parse(
        {"level": "Z", "owner": "-1", "no_visit_days": "0", "created_from": "11/01/2026"}
    )
    assert set(errors) == {"level", "owner", "no_visit_days", "created_from"}
    assert filt.level == "" and filt.owner == "" and filt.no_visit_days is None
    assert filt.created_from is None


def test_a_start_after_the_end_is_refused():
    _, errors = filter_parse({"created_from": "2026-12-01", "created_to": "2026-11-01"})
    assert errors == {"created_to": "The start date is after the end date."}


def test_huge_and_odd_numbers_never_raise():
    filt, errors = filter_parse(
        {"page": str(10**40), "no_visit_days": str(2**63), "owner": "9" * 30}
    )
    assert filt.page == 1 and "no_visit_days" in errors and "owner" in errors
    assert filter_parse({"page": "0"})[0].page == 1


def test_the_query_round_trips_and_leaves_defaults_out():
    filt, _ = filter_parse({"owner": "7", "due": "week", "created_to": "2026-11-30", "page": "2"})
    query = filter_query(filt)
    assert query == {"owner": "7", "due": "week", "created_to": "2026-11-30", "page": "2"}
    assert filter_parse(query)[0] == filt
    assert filter_query(filt, page=1) == {"owner": "7", "due": "week", "created_to": "2026-11-30"}
    assert filter_query(CustomerFilter()) == {}


def test_the_week_ends_on_sunday():
    assert week_end(date(2026, 11, 23)) == date(2026, 11, 29)  # Monday
    assert week_end(date(2026, 11, 29)) == date(2026, 11, 29)  # Sunday itself


def test_a_shanghai_day_starts_at_16_utc_the_day_before():
    assert local_day_start_utc(date(2026, 11, 1), SHANGHAI) == datetime(
        2026, 10, 31, 16, tzinfo=UTC
    )
