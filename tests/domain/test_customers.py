"""Customer rules: numbers, form validation, custom fields, completeness, conflicts, messages."""

from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from domain import customers, names, phones, rfm
from domain.customers import (
    MSG_AMOUNT,
    MSG_AMOUNT_TOO_LARGE,
    MSG_CHOICE,
    MSG_DATE,
    MSG_EMAIL,
    MSG_KIND,
    MSG_LAT,
    MSG_LEVEL,
    MSG_LNG,
    MSG_LOCATION_PAIR,
    MSG_LOSS_REASON,
    MSG_NAME_REQUIRED,
    MSG_NUMBER,
    MSG_REQUIRED,
    MSG_SOURCE,
    MSG_STAGE,
    MSG_STATUS,
    MSG_TAG_TOO_LONG,
    MSG_TOO_MANY_TAGS,
    RECOMMENDED_FIELDS,
    CustomerInput,
    CustomerNumber,
    CustomFieldDef,
    CustomFieldKind,
    FieldError,
    changed_fields,
    completeness,
    customer_number,
    derived_fields,
    detect_conflicts,
    missing_recommended,
    parse_amount_cents,
    parse_custom_value,
    parse_customer_number,
    parse_email,
    parse_tags,
    validate_customer,
)
from domain.enums import Kind, Level, LossReason, Source, Stage, Status
from domain.phones import MSG_PHONE_INVALID, MSG_PHONE_REQUIRED

PO_FILE = Path(__file__).resolve().parents[2] / "locale/zh_CN/LC_MESSAGES/customers_domain.po"

VALID = {
    "name": "上海华东机械有限公司",
    "phone": "138 0013 8000",
    "level": "A",
    "source": "referral",
}

SIZE = CustomFieldDef("size", "Employees", "员工人数", CustomFieldKind.NUMBER)
FOUNDED = CustomFieldDef("founded", "Founded", "成立日期", CustomFieldKind.DATE, required=True)
CHANNEL = CustomFieldDef(
    "channel", "Channel", "渠道", CustomFieldKind.CHOICE, choices=("Online", "线下")
)
NOTE = CustomFieldDef("note", "Note", "备注")


def form(**changes: str) -> dict[str, str]:
    """A valid form with some fields changed."""
    return {**VALID, **changes}


def errors_of(**changes: str) -> dict[str, str]:
    """The errors of a form with some fields changed."""
    result, errors = validate_customer(form(**changes), [])
    assert result is None
    return errors


def valid(**changes: str) -> CustomerInput:
    """The validated input of a form that must be valid."""
    result, errors = validate_customer(form(**changes), [])
    assert errors == {}
    assert result is not None
    return result


# --- numbers --------------------------------------------------------------------------


def test_customer_number_pads_to_three_digits_and_grows_past_999() -> None:
    assert customer_number(2026, 11, 1) == "C202611001"
    assert customer_number(2026, 1, 42) == "C202601042"
    assert customer_number(2026, 11, 999) == "C202611999"
    assert customer_number(2026, 11, 1000) == "C2026111000"


@pytest.mark.parametrize(
    ("year", "month", "seq"), [(2026, 0, 1), (2026, 13, 1), (2026, 1, 0), (26, 1, 1)]
)
def test_customer_number_refuses_impossible_parts(year: int, month: int, seq: int) -> None:
    with pytest.raises(ValueError):
        customer_number(year, month, seq)


@pytest.mark.parametrize(
    ("q", "parsed"),
    [
        ("C202611001", CustomerNumber(2026, 11, 1)),
        (" c202611001 ", CustomerNumber(2026, 11, 1)),
        ("Ｃ２０２６１１００１", CustomerNumber(2026, 11, 1)),
        ("C2026111000", CustomerNumber(2026, 11, 1000)),
    ],
)
def test_parse_customer_number(q: str, parsed: CustomerNumber) -> None:
    assert parse_customer_number(q) == parsed
    assert parsed.text == customer_number(*parsed)


@pytest.mark.parametrize(
    "q", ["", "C2026", "C20261100", "C202613001", "C202611000", "C2026110001", "D202611001", "上海"]
)
def test_parse_customer_number_refuses_other_queries(q: str) -> None:
    assert parse_customer_number(q) is None


# --- the form -------------------------------------------------------------------------


def test_minimal_valid_form_gets_defaults() -> None:
    result = valid()
    assert result.name == "上海华东机械有限公司"
    assert result.phone == "13800138000"
    assert result.kind is Kind.COMPANY
    assert result.level is Level.A
    assert result.source is Source.REFERRAL
    assert result.status is Status.POTENTIAL
    assert result.stage is Stage.LEAD
    assert result.loss_reason is None
    assert (result.contact_name, result.email, result.needs, result.address) == ("", "", "", "")
    assert (result.lat, result.lng, result.expected_amount_cents) == (None, None, None)
    assert result.tags == []
    assert result.custom == {}


def test_full_valid_form() -> None:
    result = valid(
        name="  Smith   & Sons Ltd. ",
        kind="person",
        phone="+44 20 7946 0958",
        level="c",
        source="walk_in",
        contact_name=" John Smith ",
        email=" john@smith.co.uk ",
        industry="Machinery",
        needs="Two lathes by March.",
        address="1 High Street, London",
        lat="51.5",
        lng="-0.12",
        expected_amount="12,000.50",
        status="intent",
        stage="proposal",
        tags="VIP, export",
    )
    assert result.name == "Smith & Sons Ltd."
    assert result.kind is Kind.PERSON
    assert result.phone == "+442079460958"
    assert result.level is Level.C
    assert result.source is Source.WALK_IN
    assert result.contact_name == "John Smith"
    assert result.email == "john@smith.co.uk"
    assert (result.lat, result.lng) == (51.5, -0.12)
    assert result.expected_amount_cents == 1_200_050
    assert result.status is Status.INTENT
    assert result.stage is Stage.PROPOSAL
    assert result.tags == ["VIP", "export"]


def test_empty_form_lists_every_required_field() -> None:
    result, errors = validate_customer({}, [])
    assert result is None
    assert errors == {
        "name": MSG_NAME_REQUIRED,
        "phone": MSG_PHONE_REQUIRED,
        "level": MSG_LEVEL,
        "source": MSG_SOURCE,
    }


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "   ", MSG_NAME_REQUIRED),
        ("name", "x" * 201, "Use at most 200 characters."),
        ("phone", "12345", MSG_PHONE_INVALID),
        ("kind", "robot", MSG_KIND),
        ("level", "D", MSG_LEVEL),
        ("source", "newspaper", MSG_SOURCE),
        ("status", "maybe", MSG_STATUS),
        ("stage", "done", MSG_STAGE),
        ("email", "not-an-email", MSG_EMAIL),
        ("contact_name", "x" * 101, "Use at most 100 characters."),
        ("address", "x" * 301, "Use at most 300 characters."),
        ("needs", "x" * 5001, "Use at most 5000 characters."),
        ("expected_amount", "-100", MSG_AMOUNT),
        ("expected_amount", "lots", MSG_AMOUNT),
        ("expected_amount", "1" * 20, MSG_AMOUNT_TOO_LARGE),
        ("tags", ",".join(f"t{i}" for i in range(11)), MSG_TOO_MANY_TAGS),
        ("tags", "x" * 21, MSG_TAG_TOO_LONG),
    ],
)
def test_invalid_field_gets_its_message(field: str, value: str, message: str) -> None:
    assert errors_of(**{field: value}) == {field: message}


def test_name_at_the_length_limit_is_valid() -> None:
    assert len(valid(name="x" * 200).name) == 200


def test_lost_needs_a_reason() -> None:
    assert errors_of(status="lost") == {"loss_reason": MSG_LOSS_REASON}
    assert errors_of(status="lost", loss_reason="bored") == {"loss_reason": MSG_LOSS_REASON}
    assert valid(status="lost", loss_reason="competitor").loss_reason is LossReason.COMPETITOR


def test_loss_reason_is_cleared_unless_lost() -> None:
    assert valid(status="won", loss_reason="price").loss_reason is None


@pytest.mark.parametrize(
    ("lat", "lng", "errors"),
    [
        ("31.2", "", {"lng": MSG_LOCATION_PAIR}),
        ("", "121.5", {"lat": MSG_LOCATION_PAIR}),
        ("90.1", "121.5", {"lat": MSG_LAT}),
        ("31.2", "-180.5", {"lng": MSG_LNG}),
        ("north", "121.5", {"lat": MSG_LAT}),
        ("nan", "121.5", {"lat": MSG_LAT}),
    ],
)
def test_location_errors(lat: str, lng: str, errors: dict[str, str]) -> None:
    assert errors_of(lat=lat, lng=lng) == errors


def test_location_at_the_limits_is_valid() -> None:
    result = valid(lat="-90", lng="180")
    assert (result.lat, result.lng) == (-90.0, 180.0)


# --- value parsers --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "cents"),
    [
        ("", None),
        ("  ", None),
        ("0", 0),
        ("12000", 1_200_000),
        ("12000.5", 1_200_050),
        ("12,000.50", 1_200_050),
        ("1,234,567", 123_456_700),
        ("¥12000", 1_200_000),
        ("￥12,000", 1_200_000),
        ("¥ 12,000.50 元", 1_200_050),
        ("RMB 3,000", 300_000),
        ("12000元", 1_200_000),
        ("１２０００", 1_200_000),
        ("1.2万", 1_200_000),
        ("5万元", 5_000_000),
        ("100000000000", 10**13),
    ],
)
def test_parse_amount_cents(text: str, cents: int | None) -> None:
    assert parse_amount_cents(text) == cents


@pytest.mark.parametrize(
    "text", ["-5", "12.345", "12,5", "1,2345", "1e5", "¥", "万", "12 000 yuan", "0x10", "$12"]
)
def test_parse_amount_cents_refuses(text: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_amount_cents(text)
    assert caught.value.message == MSG_AMOUNT


def test_parse_amount_cents_refuses_past_the_cap() -> None:
    with pytest.raises(FieldError) as caught:
        parse_amount_cents("100000000000.01")
    assert caught.value.message == MSG_AMOUNT_TOO_LARGE


@pytest.mark.parametrize(
    "email", ["a@b.cn", "li.lei+crm@example.com.cn", "张三@例子.中国", "ＡＢＣ＠example.com"]
)
def test_parse_email_accepts(email: str) -> None:
    assert "@" in parse_email(email)


def test_parse_email_folds_full_width() -> None:
    assert parse_email(" ＡＢＣ＠example.com ") == "ABC@example.com"
    assert parse_email("") == ""


@pytest.mark.parametrize(
    "email", ["abc", "a@b", "a@b.c", "@example.com", "a b@example.com", "a@@example.com", "a@.com"]
)
def test_parse_email_refuses(email: str) -> None:
    with pytest.raises(FieldError):
        parse_email(email)


def test_parse_tags_splits_on_chinese_and_latin_separators() -> None:
    assert parse_tags("VIP, 老客户、重点，华东 ; 机械  展会") == [
        "VIP",
        "老客户",
        "重点",
        "华东",
        "机械",
        "展会",
    ]


def test_parse_tags_trims_dedupes_and_drops_hashes() -> None:
    assert parse_tags(" #VIP, vip,VIP ,, #export ") == ["VIP", "export"]
    assert parse_tags("") == []


def test_parse_tags_boundaries() -> None:
    assert len(parse_tags(" ".join(f"t{i}" for i in range(10)))) == 10
    assert parse_tags("x" * 20) == ["x" * 20]
    # Duplicates do not count against the limit.
    assert len(parse_tags(" ".join(f"t{i % 10}" for i in range(30)))) == 10


# --- custom fields --------------------------------------------------------------------


def test_custom_fields_are_normalised_by_kind() -> None:
    result, errors = validate_customer(
        form(
            custom_size="1,200.50",
            custom_founded="2001年3月5日",
            custom_channel="online",
            custom_note="  met at expo ",
        ),
        [SIZE, FOUNDED, CHANNEL, NOTE],
    )
    assert errors == {}
    assert result is not None
    assert result.custom == {
        "size": "1200.5",
        "founded": "2001-03-05",
        "channel": "Online",
        "note": "met at expo",
    }


def test_empty_optional_custom_fields_are_left_out() -> None:
    result, errors = validate_customer(form(custom_founded="2001-03-05"), [SIZE, FOUNDED, NOTE])
    assert errors == {}
    assert result is not None
    assert result.custom == {"founded": "2001-03-05"}


def test_custom_field_errors_are_keyed_by_input_name() -> None:
    result, errors = validate_customer(
        form(custom_size="a dozen", custom_channel="fax", custom_note="x" * 501),
        [SIZE, FOUNDED, CHANNEL, NOTE],
    )
    assert result is None
    assert errors == {
        "custom_size": MSG_NUMBER,
        "custom_founded": MSG_REQUIRED,
        "custom_channel": MSG_CHOICE,
        "custom_note": "Use at most 500 characters.",
    }


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("42", "42"),
        ("007", "7"),
        ("-3.50", "-3.5"),
        ("+2", "2"),
        (".5", "0.5"),
        ("1000", "1000"),
        ("1,000,000", "1000000"),
        ("-0", "0"),
        ("０.２５", "0.25"),
    ],
)
def test_number_custom_field(raw: str, value: str) -> None:
    assert parse_custom_value(SIZE, raw) == value


@pytest.mark.parametrize("raw", ["1e3", "1.2.3", "12,5", "nan", "inf", "--1", "1 2 3,4"])
def test_number_custom_field_refuses(raw: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_custom_value(SIZE, raw)
    assert caught.value.message == MSG_NUMBER


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        ("2026-11-23", "2026-11-23"),
        ("2026/1/5", "2026-01-05"),
        ("2026.01.05", "2026-01-05"),
        ("2026年1月5日", "2026-01-05"),
        ("２０２６－１１－２３", "2026-11-23"),
        ("2024-02-29", "2024-02-29"),
    ],
)
def test_date_custom_field(raw: str, value: str) -> None:
    assert parse_custom_value(FOUNDED, raw) == value


@pytest.mark.parametrize("raw", ["2025-02-29", "2026-13-01", "23/11/2026", "tomorrow", "2026-11"])
def test_date_custom_field_refuses(raw: str) -> None:
    with pytest.raises(FieldError) as caught:
        parse_custom_value(FOUNDED, raw)
    assert caught.value.message == MSG_DATE


def test_choice_custom_field_returns_the_defined_spelling() -> None:
    assert parse_custom_value(CHANNEL, "ONLINE") == "Online"
    assert parse_custom_value(CHANNEL, "线下") == "线下"
    assert parse_custom_value(CHANNEL, "") is None


def test_custom_field_definitions_are_checked() -> None:
    assert CustomFieldDef("size", "S", "S", "number").kind is CustomFieldKind.NUMBER
    assert SIZE.input_name == "custom_size"
    with pytest.raises(ValueError):
        CustomFieldDef("Bad Key", "B", "B")
    with pytest.raises(ValueError):
        CustomFieldDef("pick", "P", "P", CustomFieldKind.CHOICE)
    with pytest.raises(ValueError):
        CustomFieldDef("size", "S", "S", "colour")


def test_unknown_custom_inputs_are_ignored() -> None:
    assert valid(custom_removed_field="anything").custom == {}


# --- derived columns ------------------------------------------------------------------


def test_derived_fields() -> None:
    assert derived_fields("上海华东机械有限公司", "13800138000") == {
        "name_key": "上海华东机械",
        "name_pinyin": "shanghaihuadongjixieyouxiangongsi",
        "name_initials": "shhdjxyxgs",
        "phone_last4": "8000",
    }


# --- completeness ---------------------------------------------------------------------


def test_recommended_fields() -> None:
    assert RECOMMENDED_FIELDS == (
        "contact_name",
        "email",
        "industry",
        "needs",
        "address",
        "location",
        "expected_amount_cents",
        "tags",
        "next_follow_up_on",
    )


def test_completeness_empty_and_full() -> None:
    assert completeness({}) == 0.0
    full = {
        "contact_name": "李雷",
        "email": "li@example.com",
        "industry": "机械",
        "needs": "两台车床",
        "address": "上海市",
        "lat": 31.2,
        "lng": 121.5,
        "expected_amount_cents": 1_200_000,
        "tags": ["VIP"],
        "next_follow_up_on": "2026-11-30",
    }
    assert completeness(full) == 1.0
    assert missing_recommended(full) == ()


def test_completeness_counts_shares() -> None:
    fields = {"contact_name": "李雷", "email": "  ", "tags": [], "lat": 31.2, "lng": None}
    assert completeness(fields) == pytest.approx(1 / 9)
    assert missing_recommended(fields)[:2] == ("email", "industry")
    assert "location" in missing_recommended(fields)


def test_completeness_zero_amount_counts_as_filled() -> None:
    assert completeness({"expected_amount_cents": 0, "lat": 0.0, "lng": 0.0}) == pytest.approx(
        2 / 9
    )


# --- concurrent edits -----------------------------------------------------------------

LOADED = {"name": "华东机械", "level": "B", "email": "", "tags": ["VIP"], "needs": "车床"}


def test_no_conflict_when_nobody_else_saved() -> None:
    submitted = {**LOADED, "level": "A"}
    assert detect_conflicts(LOADED, submitted, LOADED) == {}


def test_no_conflict_when_we_changed_different_fields() -> None:
    submitted = {**LOADED, "level": "A"}
    current = {**LOADED, "needs": "铣床"}
    assert detect_conflicts(LOADED, submitted, current) == {}
    assert changed_fields(LOADED, submitted) == {"level": "A"}


def test_conflict_when_both_changed_a_field_differently() -> None:
    submitted = {**LOADED, "level": "A", "needs": "两台车床"}
    current = {**LOADED, "level": "C", "needs": "两台车床"}
    assert detect_conflicts(LOADED, submitted, current) == {"level": ("A", "C")}


def test_field_only_they_changed_is_not_a_conflict() -> None:
    current = {**LOADED, "email": "new@example.com"}
    assert detect_conflicts(LOADED, dict(LOADED), current) == {}


def test_clearing_a_field_they_changed_is_a_conflict() -> None:
    loaded = {**LOADED, "email": "old@example.com"}
    submitted = {**loaded, "email": ""}
    current = {**loaded, "email": "new@example.com"}
    assert detect_conflicts(loaded, submitted, current) == {"email": ("", "new@example.com")}


def test_none_and_empty_string_and_tuples_compare_equal() -> None:
    submitted = {**LOADED, "email": None, "tags": ("VIP",)}
    current = {**LOADED, "email": None, "tags": ["VIP", "新"]}
    assert changed_fields(LOADED, submitted) == {}
    assert detect_conflicts(LOADED, submitted, current) == {}


def test_tag_lists_conflict() -> None:
    submitted = {**LOADED, "tags": ["VIP", "华东"]}
    current = {**LOADED, "tags": []}
    assert detect_conflicts(LOADED, submitted, current) == {"tags": (["VIP", "华东"], [])}


# --- messages and translations --------------------------------------------------------


def test_every_returned_message_is_listed() -> None:
    _, errors = validate_customer({"email": "x", "lat": "1", "tags": "x" * 30}, [FOUNDED, SIZE])
    _, more = validate_customer(
        form(status="lost", expected_amount="x", custom_size="x", custom_founded="x"),
        [SIZE, FOUNDED],
    )
    listed = set(customers.MESSAGES) | set(phones.MESSAGES)
    assert set(errors.values()) | set(more.values()) <= listed


def test_messages_are_constant_sentences() -> None:
    for message in customers.MESSAGES + phones.MESSAGES:
        assert message.endswith(".")
        assert "{" not in message
        assert "%" not in message
    assert len(set(customers.MESSAGES)) == len(customers.MESSAGES)


def test_every_message_has_a_chinese_translation() -> None:
    with PO_FILE.open("rb") as fh:
        catalogue = {m.id: m.string for m in read_po(fh, locale="zh_CN") if m.id}
    expected = customers.MESSAGES + phones.MESSAGES + names.MESSAGES + rfm.MESSAGES
    missing = [m for m in expected if not catalogue.get(m)]
    assert missing == []
    assert catalogue["Core"] == "核心"
    assert catalogue["Key"] == "重点"
    assert catalogue["Regular"] == "普通"
    assert catalogue[MSG_LOSS_REASON] == "请选择客户流失的原因。"
