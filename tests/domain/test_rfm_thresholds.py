"""The admin's member tier form: whole numbers, spending in yuan, core as demanding as key."""

import pytest

from domain.rfm import (
    DEFAULT_THRESHOLDS,
    MSG_CORE_BELOW_KEY,
    MSG_WHOLE_NUMBER,
    MSGIDS,
    RfmThresholds,
    rfm_form_values,
    rfm_threshold_names,
    rfm_thresholds_parse,
)

FORM = {
    "recency_core_days": "10",
    "recency_key_days": "60",
    "frequency_core": "6",
    "frequency_key": "3",
    "monetary_core_cents": "5000",
    "monetary_key_cents": "1000",
}


def test_a_good_form_gives_thresholds_with_spending_in_cents() -> None:
    thresholds, errors = rfm_thresholds_parse(FORM)
    assert errors == {}
    assert thresholds == RfmThresholds(
        recency_core_days=10,
        recency_key_days=60,
        frequency_core=6,
        frequency_key=3,
        monetary_core_cents=500_000,
        monetary_key_cents=100_000,
    )


def test_the_form_shows_what_was_saved() -> None:
    thresholds, _errors = rfm_thresholds_parse(FORM)
    assert rfm_form_values(thresholds) == {name: int(value) for name, value in FORM.items()}
    assert rfm_form_values(DEFAULT_THRESHOLDS)["monetary_core_cents"] == 5000


def test_the_fields_in_form_order() -> None:
    assert rfm_threshold_names() == tuple(FORM)


@pytest.mark.parametrize("raw", ["", " ", "-1", "1.5", "ten", "²", str(10**9 + 1)])
def test_only_whole_numbers_are_taken(raw) -> None:
    thresholds, errors = rfm_thresholds_parse({**FORM, "frequency_key": raw})
    assert thresholds is None
    assert errors == {"frequency_key": MSG_WHOLE_NUMBER}


def test_a_missing_field_is_an_error_beside_it() -> None:
    form = {k: v for k, v in FORM.items() if k != "recency_key_days"}
    assert rfm_thresholds_parse(form) == (None, {"recency_key_days": MSG_WHOLE_NUMBER})


def test_spaces_around_a_number_are_fine() -> None:
    thresholds, errors = rfm_thresholds_parse({**FORM, "frequency_core": " 8 "})
    assert errors == {} and thresholds.frequency_core == 8


@pytest.mark.parametrize(
    "bend",
    [
        {"recency_core_days": "61"},  # core must be a shorter wait than key
        {"frequency_core": "2"},  # core needs at least as many visits as key
        {"monetary_core_cents": "999"},  # and at least as much spending
        {"frequency_key": "0", "frequency_core": "0"},  # counts above 0
        {"monetary_key_cents": "0"},
    ],
)
def test_core_must_be_at_least_as_demanding_as_key(bend) -> None:
    assert rfm_thresholds_parse({**FORM, **bend}) == (None, {"form": MSG_CORE_BELOW_KEY})


def test_equal_core_and_key_limits_are_allowed() -> None:
    same = {**FORM, "recency_core_days": "60", "frequency_core": "3", "monetary_core_cents": "1000"}
    thresholds, errors = rfm_thresholds_parse(same)
    assert errors == {} and thresholds is not None


def test_every_message_the_form_gives_is_listed_for_translation() -> None:
    given = set()
    for bend in ({"frequency_key": "x"}, {"recency_core_days": "61"}):
        given |= set(rfm_thresholds_parse({**FORM, **bend})[1].values())
    assert given == set(MSGIDS)
