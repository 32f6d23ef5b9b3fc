"""The one-pass, cached pinyin forms equal the two lazy_pinyin passes they replaced."""

import random
import unicodedata

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT

from domain.names import _compact, pinyin_forms


def two_passes(name: str) -> tuple[str, str]:
    """The earlier implementation: one full lazy_pinyin pass per form."""
    text = unicodedata.normalize("NFKC", name or "")
    full = "".join(_compact(part) for part in lazy_pinyin(text))
    initials = "".join(_compact(part) for part in lazy_pinyin(text, style=Style.FIRST_LETTER))
    return full, initials


def samples(count: int) -> list[str]:
    """Phrases of pypinyin's dictionary, random characters, and both mixed with Latin text."""
    rng = random.Random(15)
    phrases = rng.sample(sorted(PHRASES_DICT), count)
    chars = [chr(k) for k in sorted(PINYIN_DICT)]
    noise = [*"AbC xyz 12-,.·（）&_", "Co., Ltd.", "3M", "ＡＢＣ", "㐀", "〇"]
    out = list(phrases)
    for _ in range(count):
        out.append("".join(rng.choice(chars) for _ in range(rng.randint(1, 12))))
        pieces = [rng.choice(phrases), rng.choice(chars), rng.choice(noise), rng.choice(noise)]
        rng.shuffle(pieces)
        out.append("".join(pieces))
    return out


def test_pinyin_forms_equal_the_two_pass_result_for_phrases_characters_and_mixes():
    names = samples(1000)
    differ = [n for n in names if pinyin_forms(n) != two_passes(n)]
    assert differ == []


def test_pinyin_forms_are_stable_when_cached():
    names = samples(300)
    first = [pinyin_forms(n) for n in names]
    assert [pinyin_forms(n) for n in names] == first
