"""The trie-backed pinyin forms equal the two lazy_pinyin passes they replaced."""

import json
import random
import re
import subprocess
import sys
import unicodedata
from pathlib import Path

from pypinyin import Style, lazy_pinyin
from pypinyin.constants import PHRASES_DICT, PINYIN_DICT, RE_HANS
from pypinyin.seg.mmseg import seg as pypinyin_seg

from domain import pinyin_table
from domain.names import HANS_CLASS, _compact, _phrase_cut, pinyin_forms

ROOT = Path(__file__).resolve().parents[2]


def two_passes(name: str) -> tuple[str, str]:
    """The earlier implementation: one full lazy_pinyin pass per form."""
    text = unicodedata.normalize("NFKC", name or "")
    full = "".join(_compact(part) for part in lazy_pinyin(text))
    initials = "".join(_compact(part) for part in lazy_pinyin(text, style=Style.FIRST_LETTER))
    return full, initials


def all_characters() -> list[str]:
    """Every Unicode scalar value."""
    return [chr(code) for code in range(sys.maxunicode + 1) if not 0xD800 <= code <= 0xDFFF]


def hans_chars() -> list[str]:
    """Every character pypinyin's RE_HANS accepts, with or without a reading."""
    return [c for c in all_characters() if RE_HANS.match(c)]


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


def phrase_prefix_runs(count: int) -> list[str]:
    """Runs that stop inside a phrase or join phrases: where mmseg's walk ends differently."""
    rng = random.Random(17)
    long_phrases = [p for p in sorted(PHRASES_DICT) if len(p) >= 3]
    out = []
    for _ in range(count):
        phrase = rng.choice(long_phrases)
        head = phrase[: rng.randint(1, len(phrase) - 1)]
        tail = rng.choice(long_phrases)
        out += [head, head + tail, head + tail[: rng.randint(1, len(tail) - 1)], phrase + tail]
    return out


def test_pinyin_forms_equal_the_two_pass_result_for_phrases_characters_and_mixes():
    names = samples(1000)
    differ = [n for n in names if pinyin_forms(n) != two_passes(n)]
    assert differ == []


def test_every_dictionary_phrase_and_character_reads_as_pypinyin_reads_it():
    names = [*sorted(PHRASES_DICT), *hans_chars()]
    differ = [n for n in names if pinyin_forms(n) != two_passes(n)]
    assert differ == []


def test_runs_are_cut_into_words_as_pypinyin_cuts_them():
    rng = random.Random(19)
    chars = hans_chars()
    runs = phrase_prefix_runs(3000)
    runs += ["".join(rng.choice(chars) for _ in range(rng.randint(1, 8))) for _ in range(3000)]
    differ = [r for r in runs if list(_phrase_cut(r)) != list(pypinyin_seg.cut(r))]
    assert differ == []
    assert all(pinyin_forms(r) == two_passes(r) for r in runs)


def test_the_characters_with_a_reading_are_pypinyins():
    own = re.compile(f"[{HANS_CLASS}]")
    assert [c for c in all_characters() if own.fullmatch(c)] == hans_chars()


def test_pinyin_forms_are_stable_when_cached():
    names = samples(300)
    first = [pinyin_forms(n) for n in names]
    assert [pinyin_forms(n) for n in names] == first


def test_a_server_process_computing_pinyin_never_loads_pypinyin():
    # web.app imports every controller: what a `kehu serve` worker imports at start.
    script = (
        "import json, sys\n"
        "import web.app\n"
        "from domain.names import pinyin_forms\n"
        "forms = pinyin_forms('重庆长江大桥有限公司')\n"
        "print(json.dumps([forms, 'pypinyin' in sys.modules]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, check=True
    )
    forms, loaded = json.loads(done.stdout)
    assert forms == ["chongqingchangjiangdaqiaoyouxiangongsi", "cqcjdqyxgs"]
    assert loaded is False


def test_the_table_is_built_once_into_the_cache_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("KEHU_CACHE_DIR", str(tmp_path))
    path = pinyin_table.ensure_table()
    assert path.parent == tmp_path
    assert pinyin_table.load_table().get(pinyin_table.CHAR_MARK + "重") == [b"zhong\tz"]
    built = path.stat().st_mtime_ns
    assert pinyin_table.ensure_table() == path
    assert path.stat().st_mtime_ns == built
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")] == []
