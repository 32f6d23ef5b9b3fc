"""pypinyin's phrase and character readings as one memory-mapped marisa trie on disk.

pypinyin keeps its phrase dictionary, character dictionary and the segmenter's prefix set
as Python objects: 56 MB in every process that imports it, every server worker included.
The trie holds the same readings, already in the form the search columns store (compact
full pinyin and initials), in a file of about 1 MB that the processes map read-only and
share through the page cache.

The file is built once per pypinyin version, by a child process (so the process that asks
never imports pypinyin), into the user's cache directory: `$KEHU_CACHE_DIR`, else
`$XDG_CACHE_HOME/kehu`, else `~/.cache/kehu`. `kehu serve` builds it before it starts
its workers; any other process builds it on first use. No network is needed.

Keys: a phrase of pypinyin's dictionary is stored as itself, a single character's own
reading under `CHAR_MARK` + the character, so the phrase keys alone answer the
segmenter's two questions (which phrases start a text, is a text a phrase prefix).
Values: b"<full>\\t<initials>".
"""

import fcntl
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import marisa_trie

# Bump when the keys or values change meaning, so an old file is not read as a new one.
FORMAT = 1
# Not a CJK character, so no phrase query (always on a CJK run) meets a character key.
CHAR_MARK = "\x01"

_SEPARATORS = re.compile(r"[\W_]+")


def compact(text: str) -> str:
    """Lowercase a pinyin syllable or Latin chunk and drop spaces and punctuation."""
    return _SEPARATORS.sub("", text.lower())


def cache_dir() -> Path:
    """The directory the table file lives in (see the module docstring)."""
    if os.environ.get("KEHU_CACHE_DIR"):
        return Path(os.environ["KEHU_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "kehu"


def table_path() -> Path:
    """The table file for the installed pypinyin (read from its metadata, not imported)."""
    return cache_dir() / f"pinyin-{version('pypinyin')}-f{FORMAT}.marisa"


def table_entries() -> list[tuple[str, bytes]]:
    """Every phrase and character reading as pypinyin gives it for that word alone.

    Imports pypinyin: call it only in the process that builds the file.
    """
    from pypinyin import lazy_pinyin
    from pypinyin.constants import PHRASES_DICT, PINYIN_DICT

    def forms(word: str) -> bytes:
        # A list tells lazy_pinyin the word is already cut: its phrase reading if it is one.
        syllables = lazy_pinyin([word])
        full = "".join(compact(s) for s in syllables)
        initials = "".join(compact(s[:1]) for s in syllables)
        return f"{full}\t{initials}".encode()

    entries = [(phrase, forms(phrase)) for phrase in PHRASES_DICT]
    entries += [(CHAR_MARK + chr(code), forms(chr(code))) for code in PINYIN_DICT]
    return entries


def build(path: Path) -> None:
    """Write the table to `path` atomically (a reader sees the old file or the whole new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    marisa_trie.BytesTrie(table_entries()).save(str(partial))
    os.replace(partial, path)


def ensure_table() -> Path:
    """Return the table's path, building it in a child process first if it is missing.

    A lock beside the file makes processes that start together (the workers) build it
    once; the others wait and then find it.
    """
    path = table_path()
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not path.exists():
            root = str(Path(__file__).resolve().parents[1])
            env = {
                **os.environ,
                "PYTHONPATH": os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]),
            }
            # Fixed arguments: this interpreter, this module, the cache path.
            command = [sys.executable, "-m", "domain.pinyin_table", str(path)]
            subprocess.run(command, check=True, env=env)  # noqa: S603
    return path


def load_table() -> marisa_trie.BytesTrie:
    """Map the table file read-only (built first if needed)."""
    return marisa_trie.BytesTrie().mmap(str(ensure_table()))


if __name__ == "__main__":
    build(Path(sys.argv[1]))
