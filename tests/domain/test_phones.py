"""Phone numbers: canonical form, errors, search queries, last four digits and display."""

import pytest

from domain.phones import (
    MESSAGES,
    MSG_PHONE_AREA_CODE,
    MSG_PHONE_INVALID,
    MSG_PHONE_REQUIRED,
    PhoneError,
    format_phone_display,
    last4,
    normalise_phone,
    phone_digits_query,
)


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [
        ("13800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("0086 138 0013 8000", "13800138000"),
        ("１３８ ００１３ ８０００", "13800138000"),  # full-width digits from a Chinese IME
        ("  199 1234 5678 ", "19912345678"),
        ("(021) 6234 5678", "02162345678"),
        ("021-62345678", "02162345678"),
        ("+86 21 6234 5678", "02162345678"),
        ("+86 (0)21 6234 5678", "02162345678"),
        ("010-1234 5678", "01012345678"),
        ("0755-8888 8888", "075588888888"),
        ("400 810 8888", "4008108888"),
        ("+44 20 7946 0958", "+442079460958"),
        ("+1 650 253 0000", "+16502530000"),
        ("+852 2123 4567", "+85221234567"),
    ],
)
def test_normalise_phone_accepts_any_formatting(raw: str, canonical: str) -> None:
    assert normalise_phone(raw) == canonical


def test_normalise_phone_is_idempotent() -> None:
    for canonical in ("13800138000", "02162345678", "+442079460958"):
        assert normalise_phone(canonical) == canonical


def test_foreign_region_reads_numbers_without_country_code() -> None:
    assert normalise_phone("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", MSG_PHONE_REQUIRED),
        ("   ", MSG_PHONE_REQUIRED),
        ("abc", MSG_PHONE_INVALID),
        ("12345", MSG_PHONE_INVALID),
        ("1380013800", MSG_PHONE_INVALID),  # one digit short
        ("138001380001", MSG_PHONE_INVALID),  # one digit long
        ("12345678901", MSG_PHONE_INVALID),  # 12x is no mobile range
        ("13800138000a", MSG_PHONE_INVALID),
        ("021 6234 5678 转 801", MSG_PHONE_INVALID),
        ("021-6234-5678#801", MSG_PHONE_INVALID),
        ("+", MSG_PHONE_INVALID),
        ("62345678", MSG_PHONE_AREA_CODE),
        ("6234 567", MSG_PHONE_AREA_CODE),
    ],
)
def test_normalise_phone_refuses_invalid_input(raw: str, message: str) -> None:
    with pytest.raises(PhoneError) as caught:
        normalise_phone(raw)
    assert caught.value.message == message
    assert message in MESSAGES


def test_phone_error_is_a_value_error() -> None:
    with pytest.raises(ValueError, match="valid phone number"):
        normalise_phone("abc")


@pytest.mark.parametrize(
    ("q", "digits"),
    [
        ("8000", "8000"),
        ("138", "138"),
        ("138 0013", "1380013"),
        ("138-0013-8000", "13800138000"),
        ("+86 138 0013", "1380013"),
        ("0086 21 6234", "216234"),
        ("(021) 6234", "0216234"),
        ("+44 20 7946", "44207946"),
        ("１３８", "138"),
        (" 5678 ", "5678"),
    ],
)
def test_phone_digits_query_recognises_phone_fragments(q: str, digits: str) -> None:
    assert phone_digits_query(q) == digits


@pytest.mark.parametrize("q", ["", "12", "1-2", "上海", "C202611001", "shhd", "138a", "13+8"])
def test_phone_digits_query_ignores_other_queries(q: str) -> None:
    assert phone_digits_query(q) is None


def test_phone_digits_query_finds_stored_numbers_as_substrings() -> None:
    stored = [normalise_phone(p) for p in ("138 0013 8000", "021 6234 5678", "+44 20 7946 0958")]
    for q, expected in (("+86 138 0013", 0), ("021-6234", 1), ("+86 21 6234", 1), ("+44 20", 2)):
        digits = phone_digits_query(q)
        assert digits is not None
        assert [i for i, phone in enumerate(stored) if digits in phone] == [expected]


def test_last4() -> None:
    assert last4("13800138000") == "8000"
    assert last4("02162345678") == "5678"
    assert last4("+442079460958") == "0958"
    assert last4("123") == "123"
    assert last4("") == ""


@pytest.mark.parametrize(
    ("phone", "shown"),
    [
        ("13800138000", "138 0013 8000"),
        ("02162345678", "021 6234 5678"),
        ("075588888888", "0755 8888 8888"),
        ("4008108888", "400 810 8888"),
        ("+442079460958", "+44 20 7946 0958"),
        ("", ""),
        ("not a phone", "not a phone"),
        ("12345", "12345"),
    ],
)
def test_format_phone_display(phone: str, shown: str) -> None:
    assert format_phone_display(phone) == shown
