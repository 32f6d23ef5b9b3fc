"""Reading uploaded files: CSV encodings and delimiters, XLSX sheets, refusals."""

import pytest

from tests.imports_support import csv_bytes, xlsx_bytes
from web.imports.reader import (
    MSG_EMPTY,
    MSG_NO_HEADER,
    MSG_NOT_A_SPREADSHEET,
    FileProblem,
    read_table,
)

ROWS = [
    ["客户名称", "手机", "级别"],
    ["华东机械", "13800138000", "A"],
    ["华南贸易", "13700137000", "B"],
]


@pytest.mark.parametrize(
    ("encoding", "delimiter"),
    [("utf-8", ","), ("utf-8-sig", ","), ("gbk", ","), ("gb18030", ";"), ("utf-8-sig", "\t")],
)
def test_csv_in_the_encodings_and_separators_chinese_offices_use(encoding, delimiter):
    table = read_table(csv_bytes(ROWS, encoding=encoding, delimiter=delimiter), "客户.csv")
    assert table.headers == ["客户名称", "手机", "级别"]
    assert table.rows == [
        (2, ["华东机械", "13800138000", "A"]),
        (3, ["华南贸易", "13700137000", "B"]),
    ]


def test_xlsx_sheets_can_be_chosen_and_a_merged_title_row_is_skipped():
    data = xlsx_bytes(
        {"说明": [["本表为客户名单"], ["填写说明"]], "客户": [*ROWS]},
        merged_title="2026 客户名单",
    )
    with pytest.raises(FileProblem) as problem:
        read_table(data, "客户.xlsx")
    assert problem.value.message == MSG_NO_HEADER
    table = read_table(data, "客户.xlsx", sheet="客户")
    assert table.sheets == ["说明", "客户"]
    assert table.rows[0] == (2, ["华东机械", "13800138000", "A"])


def test_numbers_and_dates_stored_as_such_come_out_as_text():
    from datetime import date

    data = xlsx_bytes({"S": [["名称", "手机", "生日"], ["甲", 13800138000, date(2026, 1, 2)]]})
    assert read_table(data, "a.xlsx").rows == [(2, ["甲", "13800138000", "2026-01-02"])]


def test_a_damaged_number_stays_visible_as_damaged():
    data = csv_bytes([["名称", "手机"], ["甲", "1.39123E+10"]])
    assert read_table(data, "a.csv").rows == [(2, ["甲", "1.39123E+10"])]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", MSG_EMPTY),
        (b"PK\x03\x04 not really a zip", MSG_NOT_A_SPREADSHEET),
        (csv_bytes([["a", "b"], ["1", "2"]]), MSG_NO_HEADER),
        (csv_bytes([["名称", "手机"]]), MSG_EMPTY),
    ],
)
def test_files_that_cannot_be_imported_get_one_reason(data, message):
    with pytest.raises(FileProblem) as problem:
        read_table(data, "x.csv")
    assert problem.value.message == message
