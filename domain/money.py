"""Money as integer cents (fen): the one rule for reading an amount a person typed in yuan."""

import re
import unicodedata

# Messages are English sentences used as gettext msgids by the web layer.
MSG_MONEY_INVALID = "Enter an amount in yuan, e.g. 1,280.50."
MSG_MONEY_NEGATIVE = "The amount cannot be negative."
MSG_MONEY_TOO_LARGE = "This amount is too large."
MSG_MONEY_CENTS = "Use at most two decimal places (fen)."

MESSAGES: tuple[str, ...] = (
    MSG_MONEY_INVALID,
    MSG_MONEY_NEGATIVE,
    MSG_MONEY_TOO_LARGE,
    MSG_MONEY_CENTS,
)

# 100 billion yuan: far above any real deal, well inside a 64-bit integer column.
MAX_CENTS = 10**13

CENTS_PER_YUAN = 100
CENTS_PER_WAN = 10_000 * CENTS_PER_YUAN  # 万: ten thousand yuan, how deals are often quoted

# After width folding and dropping whitespace: an optional minus, an optional currency
# mark, the number (thousands groups must be exact, so "12,5" is not read as 125), an
# optional 万 and an optional 元 / CNY / RMB after it.
_MONEY_RE = re.compile(
    r"(?P<minus>-)?(?:¥|cny|rmb)?(?P<minus2>-)?"
    r"(?P<whole>\d{1,3}(?:,\d{3})+|\d*)(?:\.(?P<frac>\d*))?"
    r"(?P<wan>万)?(?:元|cny|rmb)?",
    re.ASCII | re.IGNORECASE,
)
# More digits than this cannot fit under any cap; refusing them early keeps int() cheap.
_MAX_DIGITS = 24


class MoneyError(ValueError):
    """An amount that cannot be accepted; `message` (and str()) is the msgid to show."""

    def __init__(self, message: str) -> None:
        """Keep the user-facing message next to the exception."""
        super().__init__(message)
        self.message = message


def money_parse(text: str | None, *, max_cents: int = MAX_CENTS) -> int | None:
    """Read an amount typed in yuan as integer cents; None when left empty.

    Accepts "12000", "12,000.50", "¥12000", "￥12000", "12000元", "RMB 3,000", "1.2万"
    and full-width digits from a Chinese IME. Refuses negative amounts, fractions of a
    cent and amounts above `max_cents`, raising MoneyError with the message to show.
    """
    folded = re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or ""))
    if not folded:
        return None
    match = _MONEY_RE.fullmatch(folded)
    if match is None or (match["minus"] and match["minus2"]):
        raise MoneyError(MSG_MONEY_INVALID)
    whole = match["whole"].replace(",", "").lstrip("0")
    frac = (match["frac"] or "").rstrip("0")
    if not (match["whole"] or match["frac"]):
        raise MoneyError(MSG_MONEY_INVALID)
    if len(whole) > _MAX_DIGITS:
        raise MoneyError(MSG_MONEY_TOO_LARGE)
    if len(frac) > _MAX_DIGITS:
        raise MoneyError(MSG_MONEY_CENTS)
    scaled = int(whole + frac or "0") * (CENTS_PER_WAN if match["wan"] else CENTS_PER_YUAN)
    cents, remainder = divmod(scaled, 10 ** len(frac))
    negative = bool(match["minus"] or match["minus2"]) and scaled > 0
    if negative:
        raise MoneyError(MSG_MONEY_NEGATIVE)
    if remainder:
        raise MoneyError(MSG_MONEY_CENTS)
    if cents > max_cents:
        raise MoneyError(MSG_MONEY_TOO_LARGE)
    return cents


def money_input_value(cents: int | None) -> str:
    """Show stored cents in a form input the way a person types them back ("1280.50")."""
    if cents is None:
        return ""
    yuan, fen = divmod(cents, CENTS_PER_YUAN)
    return f"{yuan}.{fen:02d}" if fen else str(yuan)
