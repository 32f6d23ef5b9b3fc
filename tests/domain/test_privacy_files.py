"""Whether a stored upload holds a person: any sheet of an XLSX, a CSV in UTF-8 or GBK."""

from domain.privacy import file_mentions, needles
from tests.imports_support import csv_bytes, xlsx_bytes

PERSON = needles(["张伟龙井贸易", "13912345678"])


def test_an_xlsx_mentions_the_person_on_any_sheet_phones_by_digits():
    other = xlsx_bytes({"客户": [["名称", "手机"], ["王芳五金店", "13500001234"]]})
    assert not file_mentions(other, PERSON)
    second_sheet = xlsx_bytes({"客户": [["名称"], ["王芳五金店"]], "旧": [["张伟龙井贸易"]]})
    assert file_mentions(second_sheet, PERSON)
    as_number = xlsx_bytes({"客户": [["名称", "手机"], ["某店", 13912345678]]})
    assert file_mentions(as_number, PERSON)


def test_a_csv_in_gbk_or_utf8_mentions_the_person_even_with_a_spaced_phone():
    assert file_mentions(csv_bytes([["名称", "手机"], ["某店", "139 1234 5678"]]), PERSON)
    assert file_mentions(csv_bytes([["张伟龙井贸易"]], encoding="gbk"), PERSON)
    assert not file_mentions(csv_bytes([["王芳五金店", "13500001234"]], encoding="gbk"), PERSON)


def test_a_file_that_cannot_be_read_counts_as_holding_the_person():
    assert file_mentions(b"\xd0\xcf\x11\xe0 an old xls", PERSON)
    assert file_mentions(b"PK\x03\x04 broken zip", PERSON)
    assert not file_mentions(b"", PERSON)
