"""Customer names: the duplicate-check key, pinyin spellings for search, short CJK queries."""

import re
import unicodedata
from collections.abc import Iterator
from functools import cache, lru_cache

import marisa_trie

from domain.pinyin_table import CHAR_MARK, load_table
from domain.pinyin_table import compact as _compact

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


# The characters pypinyin gives a reading to: its RE_HANS class, copied so that this module
# never imports pypinyin (tests/domain/test_names_pinyin.py checks that the copy is equal).
HANS_CLASS = (
    "\u3007\ue815-\ue864\ufa18\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
    "\U00020000-\U0002a6df\U0002a703-\U0002b73f\U0002b740-\U0002b81d"
    "\U0002b825-\U0002bf6e\U0002c029-\U0002ce93\U0002d016\U0002d11b-\U0002ebd9"
    "\U0002f80a-\U0002fa1f\U00030000-\U0003134a\U000300f7-\U00031288\U00030edd"
    "\U00030ede\U00031350-\U00032389"
)
# Runs of characters with a reading and runs of everything else, as pypinyin's simple_seg.
_RUNS = re.compile(f"[{HANS_CLASS}]+|[^{HANS_CLASS}]+")
_HANS = re.compile(f"[{HANS_CLASS}]")


@cache
def _table() -> marisa_trie.BytesTrie:
    """The phrase and character readings, mapped on first use (domain/pinyin_table.py)."""
    return load_table()


def _phrase_cut(run: str) -> Iterator[str]:
    """Cut a run of CJK characters into words exactly as pypinyin's strict mmseg does.

    mmseg walks its prefix set one character at a time and emits the longest dictionary
    phrase seen before the walk fails, else the first character. Every prefix of a phrase
    is in that set, so the longest phrase is the longest trie key that starts the text;
    the walk only runs off the end of the text when the whole rest is a phrase prefix,
    and then mmseg emits the rest character by character.
    """
    table = _table()
    remain = run
    while remain:
        found = table.prefixes(remain)
        if found:
            word = max(found, key=len)
            yield word
            remain = remain[len(word) :]
        elif next(table.iterkeys(remain), None) is not None:
            yield from remain
            return
        else:
            yield remain[0]
            remain = remain[1:]


@lru_cache(maxsize=16384)
def _word_forms(word: str) -> tuple[str, str]:
    """(full pinyin, initials) of one CJK word or character, as pypinyin reads it alone.

    The table holds pypinyin's reading of each phrase as a whole and of each character on
    its own; the initials are the first letters of the same syllables (Style.FIRST_LETTER).
    A character pypinyin has no reading for stays as it is. Words repeat across company
    names (上海, 机械, 有限公司), so the cache answers most of them.
    """
    found = _table().get(word if len(word) > 1 else CHAR_MARK + word)
    if not found:
        return _compact(word), _compact(word[:1])
    full, initials = found[0].decode().split("\t")
    return full, initials


def pinyin_forms(name: str) -> tuple[str, str]:
    """Return (full pinyin, initials) of a name for search, both lowercase without spaces.

    上海华东机械有限公司 → ("shanghaihuadongjixieyouxiangongsi", "shhdjxyxgs"). Latin
    words and digits are kept whole in both forms. Heteronyms follow pypinyin's phrase
    dictionary (重庆 → chongqing), which is right for place and company names.

    The text is cut the way lazy_pinyin cuts it (CJK runs apart from the rest, each run
    into phrases as pypinyin's segmenter does), and each word looked up once (cached) in
    a trie of pypinyin's readings, so the result is the same as two lazy_pinyin passes
    (NORMAL and FIRST_LETTER) without pypinyin's 56 MB of dictionaries in the process: a
    bulk import computes it for every row, and every server worker may.
    """
    text = unicodedata.normalize("NFKC", name or "")
    full: list[str] = []
    initials: list[str] = []
    for run in _RUNS.findall(text):
        if _HANS.match(run):
            for word in _phrase_cut(run):
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
