"""Names: the duplicate-check key, pinyin forms and short CJK queries."""

import pytest

from domain.names import has_cjk, name_key, pinyin_forms


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ＡＢＣ Trading Co., Ltd.", "abc trading"),
        ("ABC Trading Co.,Ltd", "abc trading"),
        ("ABC Trading Limited", "ABC TRADING"),
        ("Acme, Inc.", "acme"),
        ("Acme Inc", "ACME"),
        ("Acme Corporation", "Acme Corp."),
        ("Müller GmbH", "müller"),
        ("Acme LLC", "acme"),
        ("上海华东机械有限公司", "上海华东机械"),
        ("上海华东机械有限责任公司", "上海华东机械"),
        ("上海华东机械股份有限公司", "上海华东机械"),
        ("上海华东机械集团有限公司", "上海华东机械"),
        ("上海华东机械集团", "上海华东机械"),
        ("上海华东机械公司", "上海 华东 机械"),
        ("上海华东机械（有限公司）", "上海华东机械"),
        ("张 三", "张三"),
        ("王·小明", "王小明"),
    ],
)
def test_same_customer_written_differently_has_one_key(a: str, b: str) -> None:
    assert name_key(a) == name_key(b)


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("上海华东机械有限公司", "上海华西机械有限公司"),
        ("ABC Trading", "ABD Trading"),
        ("Costco", "Cost"),  # "co" is only a suffix as a separate word
        ("上海华东机械", "上海华东"),
    ],
)
def test_different_customers_keep_different_keys(a: str, b: str) -> None:
    assert name_key(a) != name_key(b)


def test_name_key_values() -> None:
    assert name_key("ＡＢＣ Trading Co., Ltd.") == "abctrading"
    assert name_key("上海华东机械有限公司") == "上海华东机械"
    assert name_key("  ") == ""


def test_name_key_never_strips_a_name_to_nothing() -> None:
    assert name_key("公司") == "公司"
    assert name_key("Limited") == "limited"
    assert name_key("Co., Ltd.") == "co"


def test_pinyin_forms_of_a_chinese_company() -> None:
    full, initials = pinyin_forms("上海华东机械有限公司")
    assert full == "shanghaihuadongjixieyouxiangongsi"
    assert initials == "shhdjxyxgs"
    assert initials.startswith("shhd")


def test_pinyin_forms_keep_latin_words_and_digits() -> None:
    assert pinyin_forms("ABC贸易有限公司") == ("abcmaoyiyouxiangongsi", "abcmyyxgs")
    assert pinyin_forms("ＡＢＣ贸易") == ("abcmaoyi", "abcmy")
    assert pinyin_forms("广州3M中国") == ("guangzhou3mzhongguo", "gz3mzg")
    assert pinyin_forms("ABC Trading Co., Ltd.") == ("abctradingcoltd", "abctradingcoltd")


def test_pinyin_forms_use_phrases_for_heteronyms() -> None:
    assert pinyin_forms("重庆银行")[0] == "chongqingyinhang"
    assert pinyin_forms("长沙")[0] == "changsha"


def test_pinyin_forms_drop_punctuation() -> None:
    assert pinyin_forms("厦门（中国）") == ("xiamenzhongguo", "xmzg")
    assert pinyin_forms("") == ("", "")


def test_has_cjk() -> None:
    assert has_cjk("ABC贸易")
    assert has_cjk("𠀀")  # CJK extension B
    assert not has_cjk("ABC Trading")
    assert not has_cjk("")
