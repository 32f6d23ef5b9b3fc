"""Customer names: the duplicate-check key, pinyin spellings for search, short CJK queries."""

import re
import unicodedata
from functools import lru_cache

from pypinyin import lazy_pinyin
from pypinyin.constants import RE_HANS
from pypinyin.seg.mmseg import seg as _phrase_seg
from pypinyin.seg.simpleseg import simple_seg

# Names produce no user-facing messages; kept for symmetry with the other modules.
MESSAGES: tuple[str, ...] = ()

# Longest first, so 有限责任公司 is removed whole rather than leaving 有限责任.
CJK_SUFFIXES: tuple[str, ...] = (
    "有限责任公司",
    "股份有限公司",
    "有限公司",
    "股份公司",
    "集团",
    "公司",
)
# Compared with whole words after casefolding and dropping punctuation, so "Co., Ltd."
# is the two words "co" "ltd"; a word-level match keeps "Costco" from losing its "co".
LATIN_SUFFIXES: frozenset[str] = frozenset(
    {
        "ag",
        "co",
        "company",
        "corp",
        "corporation",
        "gmbh",
        "inc",
        "incorporated",
        "limited",
        "llc",
        "ltd",
        "plc",
        "pte",
        "pty",
    }
)

# Letters and digits only; "_" counts as punctuation here.
_SEPARATORS = re.compile(r"[\W_]+")
_CJK = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3007\U00020000-\U0002ffff\U00030000-\U0003134f]"
)


def _fold(text: str) -> str:
    """Fold full-width forms to ASCII and case differences away."""
    return unicodedata.normalize("NFKC", text or "").casefold()


def _words(text: str) -> list[str]:
    """Split a folded text into words, dropping whitespace and punctuation."""
    return [word for word in _SEPARATORS.split(text) if word]


def _strip_suffix(words: list[str]) -> bool:
    """Remove one company suffix from the end of `words`; return whether one was removed.

    A suffix is only removed when something remains, so a customer literally named
    "公司" or "Limited" still has a key.
    """
    last = words[-1]
    if last in LATIN_SUFFIXES and len(words) > 1:
        words.pop()
        return True
    for suffix in CJK_SUFFIXES:
        if last.endswith(suffix) and (len(last) > len(suffix) or len(words) > 1):
            words[-1] = last[: -len(suffix)]
            if not words[-1]:
                words.pop()
            return True
    return False


def name_key(name: str) -> str:
    """Return the key two names share when they are the same customer written differently.

    Full/half width, case, whitespace and punctuation are ignored, and company
    suffixes (有限公司, 集团, Co., Ltd., Inc, GmbH ...) are removed repeatedly from the
    end: "ＡＢＣ Trading Co., Ltd." and "abc trading" both give "abctrading".
    """
    words = _words(_fold(name))
    while words and _strip_suffix(words):
        pass
    return "".join(words)


def _compact(text: str) -> str:
    """Lowercase a pinyin syllable or Latin chunk and drop spaces and punctuation."""
    return _SEPARATORS.sub("", text.lower())


@lru_cache(maxsize=16384)
def _word_forms(word: str) -> tuple[str, str]:
    """(full pinyin, initials) of one CJK word or character, as pypinyin reads it alone.

    A list argument tells lazy_pinyin the text is already cut into words, so the word is
    converted as it is (its phrase reading when it is a phrase). The initials are the
    first letters of the same syllables: what Style.FIRST_LETTER returns, without a
    second conversion. Words repeat across company names (上海, 机械, 有限公司), so the
    cache answers most of them.
    """
    syllables = lazy_pinyin([word])
    return (
        "".join(_compact(s) for s in syllables),
        "".join(_compact(s[:1]) for s in syllables),
    )


def pinyin_forms(name: str) -> tuple[str, str]:
    """Return (full pinyin, initials) of a name for search, both lowercase without spaces.

    上海华东机械有限公司 → ("shanghaihuadongjixieyouxiangongsi", "shhdjxyxgs"). Latin
    words and digits are kept whole in both forms. Heteronyms follow pypinyin's phrase
    dictionary (重庆 → chongqing), which is right for place and company names.

    The text is cut the way lazy_pinyin cuts it (CJK runs apart from the rest, each run
    into phrases by pypinyin's own segmenter), and each word converted once (cached), so
    the result is the same as two lazy_pinyin passes (NORMAL and FIRST_LETTER) at a
    fraction of the cost: a bulk import computes it for every row.
    """
    text = unicodedata.normalize("NFKC", name or "")
    full: list[str] = []
    initials: list[str] = []
    for run in simple_seg(text) if text else ():
        if RE_HANS.match(run):
            for word in _phrase_seg.cut(run):
                word_full, word_initials = _word_forms(word)
                full.append(word_full)
                initials.append(word_initials)
        else:
            compact = _compact(run)
            full.append(compact)
            initials.append(compact)
    return "".join(full), "".join(initials)


def has_cjk(text: str) -> bool:
    """Return whether a text contains a Chinese (CJK ideograph) character."""
    return bool(_CJK.search(text or ""))
