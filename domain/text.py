"""Names people type: one length limit for person and team names, bidi controls removed."""

import re
import unicodedata

# One limit for a person's and a team's name, in the admin form, the CLI and the database.
NAME_MAX_LENGTH = 100

# Embedding/override (U+202A–U+202E), isolate (U+2066–U+2069) and mark characters make a
# name display in a different order than it is stored ("Trojan Source" spoofing of who did
# what in lists and the audit log); names never need them.
BIDI_CONTROLS = frozenset(
    [chr(c) for c in range(0x202A, 0x202F)]
    + [chr(c) for c in range(0x2066, 0x206A)]
    + ["\u200e", "\u200f", "\u061c"]
)
_BIDI_RE = re.compile("[" + "".join(sorted(BIDI_CONTROLS)) + "]")


def strip_bidi(text: str) -> str:
    """Remove bidirectional embedding, override, isolate and mark characters."""
    return _BIDI_RE.sub("", text)


def clean_name(raw: str) -> str:
    """Return a name without bidi or other control characters and with single spaces."""
    text = strip_bidi(raw)
    text = "".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text)
    return " ".join(text.split())


def name_too_long(name: str) -> bool:
    """Whether a (cleaned) person or team name exceeds the one limit."""
    return len(name) > NAME_MAX_LENGTH
