"""Import rules for contacts, the upload limit, and duplicates found batch by batch."""

import pytest

from domain.contacts import ContactInput, ContactRole
from domain.imports import (
    Context,
    DuplicateMode,
    Verdict,
    as_existing_duplicate,
    check_row,
    contact_change,
    duplicate_keys,
    upload_limit_parse,
)

MAPPING = ["name", "phone", "contact_name", "contact_phone", "contact_title", "contact_role"]
EXISTING = [
    {"id": 7, "name": "张经理", "phone": "", "email": "", "role": "other", "note": ""},
    {
        "id": 8,
        "name": "李工",
        "phone": "13911112222",
        "email": "",
        "role": "user",
        "note": "工程师",
    },
]


def _contact(name="张经理", phone="13922223333", note="采购经理", role=ContactRole.PURCHASER):
    return ContactInput(name=name, role=role, phone=phone, note=note)


def test_a_row_with_contact_cells_carries_a_checked_contact():
    check = check_row(2, ["华东机械", "13800138000", "张伟", "139-2222-3333", "采购经理", "采购"],
                      MAPPING, Context(role_names={"采购": "purchaser"}))  # fmt: skip
    assert check.verdict == Verdict.NEW
    assert check.contact == ContactInput(
        "张伟", ContactRole.PURCHASER, "13922223333", "", "采购经理"
    )


def test_a_row_without_contact_cells_has_no_contact():
    check = check_row(2, ["华东机械", "13800138000", "", "", "", ""], MAPPING, Context())
    assert check.verdict == Verdict.NEW and check.contact is None


@pytest.mark.parametrize(
    ("cells", "field"),
    [
        (["甲", "13800138000", "张伟", "12345", "", ""], "contact_phone"),
        (["甲", "13800138000", "", "13922223333", "", ""], "contact_name"),
        (["甲", "13800138000", "张伟", "", "", "老板娘"], "contact_role"),
    ],
)
def test_a_bad_contact_makes_the_row_an_error_on_its_column(cells, field):
    check = check_row(2, cells, MAPPING, Context())
    assert check.verdict == Verdict.ERROR and field in check.errors


def test_skip_changes_no_contact():
    assert contact_change(EXISTING, _contact(), DuplicateMode.SKIP) == (
        contact_change([], _contact(), DuplicateMode.SKIP)
    )
    assert not contact_change(EXISTING, _contact(), DuplicateMode.SKIP).add


def test_fill_empty_fills_only_the_empty_fields_of_the_same_person():
    change = contact_change(EXISTING, _contact(), DuplicateMode.FILL_EMPTY)
    assert (change.add, change.contact_id) == (False, 7)
    assert change.changes == {"phone": "13922223333", "role": "purchaser", "note": "采购经理"}
    kept = contact_change(EXISTING, _contact("李工", note="总工"), DuplicateMode.FILL_EMPTY)
    assert kept.contact_id == 8 and kept.changes == {}  # role, phone and title were filled


def test_overwrite_replaces_differing_fields_with_the_rows_filled_ones():
    change = contact_change(
        EXISTING, _contact("李工", phone="", note="总工"), DuplicateMode.OVERWRITE
    )
    assert change.contact_id == 8 and change.changes == {"role": "purchaser", "note": "总工"}


def test_a_person_matched_by_phone_is_the_same_and_an_unknown_one_is_added():
    by_phone = contact_change(
        EXISTING, _contact("李总工", phone="13911112222"), DuplicateMode.OVERWRITE
    )
    assert by_phone.contact_id == 8
    assert contact_change(EXISTING, _contact("王五", phone=""), DuplicateMode.FILL_EMPTY).add


def test_an_existing_customer_found_later_turns_a_new_row_into_its_duplicate():
    check = check_row(
        2, ["上海华东机械有限公司", "13800138000", "", "", "", ""], MAPPING, Context()
    )
    assert duplicate_keys(check) == ("13800138000", "上海华东机械")
    dup = as_existing_duplicate(check, 42)
    assert (dup.verdict, dup.duplicate_of, dup.customer) == (Verdict.DUPLICATE, 42, check.customer)


@pytest.mark.parametrize(
    ("raw", "mb"),
    [("20", 20), ("1", 1), ("100", 100), (" 5 ", 5), ("５", 5), ("0", None), ("101", None),
     ("", None), ("2.5", None), ("-1", None), ("abc", None), ("9" * 40, None)],
)  # fmt: skip
def test_the_upload_limit_is_a_whole_number_of_mb_from_1_to_100(raw, mb):
    assert upload_limit_parse(raw) == mb
