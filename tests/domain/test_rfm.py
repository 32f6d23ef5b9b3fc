"""Store member tiers from recency, frequency and monetary value."""

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.rfm import (
    DEFAULT_THRESHOLDS,
    MESSAGES,
    RfmScore,
    RfmThresholds,
    Tier,
    days_since,
    rfm_score,
    rfm_tier,
    tier_for_score,
)

TODAY = date(2026, 11, 23)
T = DEFAULT_THRESHOLDS


def ago(days: int) -> date:
    """The day `days` before TODAY."""
    return TODAY - timedelta(days=days)


def test_default_thresholds() -> None:
    assert (T.recency_core_days, T.recency_key_days) == (30, 90)
    assert (T.frequency_core, T.frequency_key) == (6, 3)
    assert (T.monetary_core_cents, T.monetary_key_cents) == (500_000, 100_000)


@pytest.mark.parametrize(("days", "score"), [(0, 2), (30, 2), (31, 1), (90, 1), (91, 0), (400, 0)])
def test_recency_boundaries(days: int, score: int) -> None:
    assert rfm_score(ago(days), 0, 0, TODAY).recency == score


def test_never_visited_scores_no_recency() -> None:
    assert rfm_score(None, 0, 0, TODAY) == RfmScore(0, 0, 0)


def test_a_future_visit_counts_as_today() -> None:
    assert rfm_score(TODAY + timedelta(days=1), 0, 0, TODAY).recency == 2


@pytest.mark.parametrize(("visits", "score"), [(0, 0), (2, 0), (3, 1), (5, 1), (6, 2), (50, 2)])
def test_frequency_boundaries(visits: int, score: int) -> None:
    assert rfm_score(None, visits, 0, TODAY).frequency == score


@pytest.mark.parametrize(
    ("cents", "score"),
    [(0, 0), (99_999, 0), (100_000, 1), (499_999, 1), (500_000, 2), (10**9, 2)],
)
def test_monetary_boundaries(cents: int, score: int) -> None:
    assert rfm_score(None, 0, cents, TODAY).monetary == score


@pytest.mark.parametrize(
    ("total", "tier"),
    [
        (6, Tier.CORE),
        (5, Tier.CORE),
        (4, Tier.KEY),
        (3, Tier.KEY),
        (2, Tier.REGULAR),
        (0, Tier.REGULAR),
    ],
)
def test_tier_for_score(total: int, tier: Tier) -> None:
    assert tier_for_score(total) is tier


def test_core_member_exactly_at_every_core_threshold() -> None:
    assert rfm_tier(ago(30), 6, 500_000, TODAY, T) is Tier.CORE


def test_core_needs_two_top_measures_and_the_third_at_key() -> None:
    assert rfm_tier(ago(30), 6, 100_000, TODAY) is Tier.CORE
    assert rfm_tier(ago(30), 6, 99_999, TODAY) is Tier.KEY


def test_key_member_exactly_at_every_key_threshold() -> None:
    assert rfm_tier(ago(90), 3, 100_000, TODAY) is Tier.KEY


def test_one_day_past_the_key_recency_drops_to_regular() -> None:
    assert rfm_tier(ago(91), 3, 99_999, TODAY) is Tier.REGULAR
    assert rfm_tier(ago(90), 3, 99_999, TODAY) is Tier.REGULAR  # 1 + 1 + 0


def test_recent_frequent_shopper_who_spent_nothing_is_key() -> None:
    assert rfm_tier(ago(1), 10, 0, TODAY) is Tier.KEY


def test_big_spender_long_gone_is_key_not_core() -> None:
    assert rfm_tier(ago(200), 8, 2_000_000, TODAY) is Tier.KEY


def test_new_walk_in_is_regular() -> None:
    assert rfm_tier(TODAY, 1, 5_000, TODAY) is Tier.REGULAR


def test_custom_thresholds_change_the_tier() -> None:
    strict = RfmThresholds(
        recency_core_days=7,
        recency_key_days=30,
        frequency_core=12,
        frequency_key=6,
        monetary_core_cents=1_000_000,
        monetary_key_cents=500_000,
    )
    assert rfm_tier(ago(30), 6, 500_000, TODAY) is Tier.CORE
    assert rfm_tier(ago(30), 6, 500_000, TODAY, strict) is Tier.KEY


def test_datetime_last_visit_uses_its_own_day() -> None:
    visit = datetime(2026, 10, 24, 23, 30, tzinfo=UTC)
    assert days_since(visit, TODAY) == 30
    assert rfm_tier(visit, 6, 500_000, TODAY) is Tier.CORE


@pytest.mark.parametrize(
    "kwargs",
    [
        {"recency_core_days": 100, "recency_key_days": 90},
        {"recency_core_days": -1},
        {"frequency_core": 2, "frequency_key": 3},
        {"frequency_key": 0},
        {"monetary_core_cents": 50_000, "monetary_key_cents": 100_000},
    ],
)
def test_thresholds_refuse_core_easier_than_key(kwargs: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        RfmThresholds(**kwargs)


def test_tier_values_and_labels() -> None:
    assert [t.value for t in Tier] == ["core", "key", "regular"]
    assert [t.label for t in Tier] == ["Core", "Key", "Regular"]
    assert MESSAGES == ("Core", "Key", "Regular")
