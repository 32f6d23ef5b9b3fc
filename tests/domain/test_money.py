"""The money rule: what a person may type as an amount in yuan, and how it reads back."""

import pytest

from domain import customers, visits
from domain.money import (
    MAX_CENTS,
    MESSAGES,
    MSG_MONEY_CENTS,
    MSG_MONEY_INVALID,
    MSG_MONEY_NEGATIVE,
    MSG_MONEY_TOO_LARGE,
    MoneyError,
    money_input_value,
    money_parse,
)


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("12000", 1_200_000),
        ("12,000.50", 1_200_050),
        ("1,234,567", 123_456_700),
        ("¥12000", 1_200_000),
        ("￥12000", 1_200_000),
        ("12000元", 1_200_000),
        ("¥ 12,000.50 元", 1_200_050),
        ("RMB 3,000", 300_000),
        ("3000 cny", 300_000),
        ("1.2万", 1_200_000),
        ("5万元", 5_000_000),
        ("0.0001万", 100),
        ("1.234567万", 1_234_567),
        ("１２０００", 1_200_000),
        ("１，２８０．５０", 128_050),
        ("0", 0),
        ("0.05", 5),
        (".5", 50),
        ("12.", 1200),
        ("12.300", 1230),
        ("100000000000", MAX_CENTS),
    ],
)
def test_money_parse_reads_what_people_type(text, cents):
    assert money_parse(text) == cents


@pytest.mark.parametrize("text", ["", "   ", "\u3000", None])
def test_money_parse_empty_is_no_amount(text):
    assert money_parse(text) is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("abc", MSG_MONEY_INVALID),
        ("¥", MSG_MONEY_INVALID),
        ("万", MSG_MONEY_INVALID),
        (".", MSG_MONEY_INVALID),
        ("12,5", MSG_MONEY_INVALID),
        ("1,2345", MSG_MONEY_INVALID),
        ("1e5", MSG_MONEY_INVALID),
        ("0x10", MSG_MONEY_INVALID),
        ("$12", MSG_MONEY_INVALID),
        ("1.2.3", MSG_MONEY_INVALID),
        ("12 000 yuan", MSG_MONEY_INVALID),
        ("--5", MSG_MONEY_INVALID),
        ("١٢", MSG_MONEY_INVALID),  # Arabic-Indic digits are not an amount here
        ("-5", MSG_MONEY_NEGATIVE),
        ("¥-5", MSG_MONEY_NEGATIVE),
        ("-1.2万", MSG_MONEY_NEGATIVE),
        ("12.345", MSG_MONEY_CENTS),
        ("1.2345678万", MSG_MONEY_CENTS),
        ("100000000000.01", MSG_MONEY_TOO_LARGE),
        ("1" * 40, MSG_MONEY_TOO_LARGE),
        ("9" * 5000, MSG_MONEY_TOO_LARGE),
        ("0." + "0" * 5000 + "1", MSG_MONEY_CENTS),
    ],
)
def test_money_parse_refuses_with_one_error_type(text, message):
    with pytest.raises(MoneyError) as caught:
        money_parse(text)
    assert caught.value.message == message
    assert str(caught.value) == message
    assert message in MESSAGES


def test_money_parse_honours_a_tighter_cap():
    assert money_parse("1000", max_cents=100_000) == 100_000
    with pytest.raises(MoneyError) as caught:
        money_parse("1000.01", max_cents=100_000)
    assert caught.value.message == MSG_MONEY_TOO_LARGE


@pytest.mark.parametrize(
    ("cents", "text"),
    [
        (None, ""),
        (0, "0"),
        (5, "0.05"),
        (9900, "99"),
        (128_050, "1280.50"),
        (1_200_050, "12000.50"),
    ],
)
def test_money_input_value_reads_back_as_the_same_amount(cents, text):
    assert money_input_value(cents) == text
    assert money_parse(text) == cents


def test_visit_amounts_and_deal_amounts_follow_the_same_rule():
    # One rule: 万 is read the same way for a purchase at a visit and a customer's deal.
    assert visits.amount_parse("1.2万") == customers.parse_amount_cents("1.2万") == 1_200_000
    assert visits.amount_parse("１，２８０.５") == customers.parse_amount_cents("１，２８０.５")
    # A single visit keeps its own, tighter cap (1 billion yuan).
    with pytest.raises(MoneyError):
        visits.amount_parse("2000000000")
    assert customers.parse_amount_cents("2000000000") == 200_000_000_000


def test_money_messages_are_translated():
    from web.core.i18n import load_catalogue

    catalogue = load_catalogue("zh_CN")
    assert [m for m in MESSAGES if m not in catalogue] == []
