"""Import rules: column guessing, damaged numbers, levels, owners and the row verdicts."""

from domain.imports import (
    MSG_DAMAGED_NUMBER,
    MSG_OWNER_AMBIGUOUS,
    MSG_OWNER_NOT_FOUND,
    MSG_UNKNOWN_LEVEL,
    Context,
    Verdict,
    check_row,
    guess_mapping,
    headers_signature,
    is_damaged_number,
    parse_level,
)
from domain.names import name_key


def test_columns_are_guessed_from_chinese_and_english_headers():
    headers = ["客户名称", "手机", "联系人", "级别", "来源", "负责人", "行业", "地址", "备注", "?"]
    assert guess_mapping(headers) == [
        "name", "phone", "contact_name", "level", "source", "owner", "industry", "address",
        "needs", "",
    ]  # fmt: skip
    assert guess_mapping(["Company Name", "Phone", "E-mail"]) == ["name", "phone", "email"]
    assert guess_mapping(["公司名称（必填）", "电话："]) == ["name", "phone"]


def test_a_field_is_guessed_once_and_custom_fields_by_their_label():
    assert guess_mapping(["手机", "电话"]) == ["phone", ""]
    assert guess_mapping(["名称", "会员卡号"], {"会员卡号": "custom_card"}) == [
        "name",
        "custom_card",
    ]


def test_the_same_headers_give_the_same_signature_whatever_the_spacing():
    assert headers_signature(["客户名称", " 手机 "]) == headers_signature(["客户名称", "手机"])
    assert headers_signature(["客户名称"]) != headers_signature(["手机"])


def test_phones_in_scientific_notation_are_damaged():
    assert is_damaged_number("1.39123E+10")
    assert is_damaged_number("1,39123E+10")
    assert not is_damaged_number("13912345678")
    assert not is_damaged_number("021-6234 5678")


def test_levels_accept_the_usual_spellings():
    assert parse_level("a级") == "A"
    assert parse_level("B类") == "B"
    assert parse_level("") == ""
    assert parse_level("VIP") is None


MAPPING = ["name", "phone", "level", "owner"]


def _ctx(**kw) -> Context:
    return Context(
        owners={name_key("陈静"): [7], name_key("王伟"): [8, 9]},
        existing_phones={"13800138000": 101},
        existing_names={name_key("上海华东机械有限公司"): 102},
        **kw,
    )


def test_a_good_row_is_new_with_its_owner():
    check = check_row(2, ["杭州新客户", "139 1234 5678", "A", "陈静"], MAPPING, _ctx())
    assert check.verdict == Verdict.NEW
    assert check.customer.phone == "13912345678"
    assert check.owner_id == 7


def test_duplicates_of_existing_customers_by_phone_or_by_normalised_name():
    by_phone = check_row(2, ["别的名字", "138-0013-8000", "A", ""], MAPPING, _ctx())
    assert (by_phone.verdict, by_phone.duplicate_of) == (Verdict.DUPLICATE, 101)
    by_name = check_row(2, ["上海华东机械有限公司", "13700000001", "", ""], MAPPING, _ctx())
    assert (by_name.verdict, by_name.duplicate_of) == (Verdict.DUPLICATE, 102)


def test_a_later_row_with_an_earlier_rows_phone_duplicates_it_in_the_file():
    ctx = _ctx()
    first = check_row(2, ["甲公司", "13900000001", "", ""], MAPPING, ctx)
    second = check_row(3, ["乙公司", "13900000001", "", ""], MAPPING, ctx)
    assert first.verdict == Verdict.NEW
    assert (second.verdict, second.duplicate_of) == (Verdict.DUPLICATE_IN_FILE, 2)


def test_errors_say_why():
    ctx = _ctx()
    damaged = check_row(2, ["甲公司", "1.39123E+10", "", ""], MAPPING, ctx)
    assert damaged.verdict == Verdict.ERROR
    assert damaged.errors == {"phone": MSG_DAMAGED_NUMBER}
    assert check_row(3, ["乙", "13900000002", "VIP", ""], MAPPING, ctx).errors == {
        "level": MSG_UNKNOWN_LEVEL
    }
    assert check_row(4, ["丙", "13900000003", "", "王伟"], MAPPING, ctx).errors == {
        "owner": MSG_OWNER_AMBIGUOUS
    }
    assert check_row(5, ["丁", "13900000004", "", "无名"], MAPPING, ctx).errors == {
        "owner": MSG_OWNER_NOT_FOUND
    }
    assert "name" in check_row(6, ["", "13900000005", "", ""], MAPPING, ctx).errors


def test_a_duplicate_row_fills_empty_fields_or_overwrites_but_never_the_identity():
    from domain.imports import DuplicateMode, update_changes

    current = {"name": "甲", "phone": "1", "industry": "", "address": "旧地址", "level": "C"}
    incoming = {"name": "乙", "phone": "2", "industry": "机械", "address": "新地址", "level": "C"}
    mapped = ["name", "phone", "industry", "address", "level"]
    assert update_changes(current, incoming, mapped, DuplicateMode.SKIP) == {}
    assert update_changes(current, incoming, mapped, DuplicateMode.FILL_EMPTY) == {
        "industry": "机械"
    }
    assert update_changes(current, incoming, mapped, DuplicateMode.OVERWRITE) == {
        "industry": "机械",
        "address": "新地址",
    }
    assert update_changes(current, {"address": ""}, ["address"], DuplicateMode.OVERWRITE) == {}
