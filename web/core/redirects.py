"""Where to send a browser after sign-in: only paths that stay on this site."""

import re
from urllib.parse import unquote, urljoin, urlsplit

_BASE = "https://kehu.invalid/"
# C0 controls, space, DEL: browsers drop tabs and newlines anywhere in a URL and trim the
# rest at the ends, so "/\t/evil.example" becomes "//evil.example" in the address bar.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")
_MAX_LENGTH = 2000


def _stays_local(target: str) -> bool:
    """Whether one spelling of a target is a plain path on this origin."""
    if _UNSAFE.search(target) or not target.startswith("/") or target.startswith("//"):
        return False
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return False
    joined = urlsplit(urljoin(_BASE, target))
    return joined.scheme == "https" and joined.netloc == "kehu.invalid"


def safe_next(target: str | None) -> str:
    """Return a local path to go to after sign-in, never another site ("/" otherwise).

    A target is refused when the browser's URL rules could read it as another host: a
    second slash or a backslash after the first, tabs, newlines or other controls anywhere,
    and the same in percent-encoded form (decoded until it stops changing), so that no
    later decoding step can turn an accepted path into ``//evil.example``.
    """
    if not target or len(target) > _MAX_LENGTH:
        return "/"
    spelling = target
    for _ in range(4):
        if not _stays_local(spelling):
            return "/"
        decoded = unquote(spelling)
        if decoded == spelling:
            return target
        spelling = decoded
    return "/"  # still changing after several decodings: not a path we made
