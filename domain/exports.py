"""Export rules: who may export by default, safe spreadsheet cells, the visits date range."""

from datetime import date, timedelta

from domain.enums import Role

# Reps and clerks are off until an admin turns them on (PRODUCT: exports leak lists).
DEFAULT_EXPORT_ROLES = frozenset({Role.ADMIN, Role.MANAGER})
# A spreadsheet evaluates a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# The longest visits range one export covers: a year keeps a file openable in Excel.
MAX_RANGE_DAYS = 366

MSG_DATE_INVALID = "Enter a date as YYYY-MM-DD."
MSG_RANGE_ORDER = "The end date is before the start date."
MSG_RANGE_TOO_LONG = "Choose at most a year."
MESSAGES = (MSG_DATE_INVALID, MSG_RANGE_ORDER, MSG_RANGE_TOO_LONG)

FORMATS = ("xlsx", "csv")


def neutralise_cell(value: object) -> object:
    """Return a cell value a spreadsheet shows as text and never runs as a formula.

    Text starting with =, +, -, @, tab or CR gets a leading apostrophe, the usual defence
    against formula injection; numbers, dates and None are returned unchanged.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def export_allowed(role: Role, enabled: frozenset[Role] | set[Role]) -> bool:
    """True when users of this role may export (admins always may)."""
    return role == Role.ADMIN or role in enabled


def _parse_day(raw: str) -> date | None:
    """A YYYY-MM-DD day, or None when the text is not one."""
    try:
        return date.fromisoformat(raw.strip())
    except ValueError:
        return None


def parse_range(
    start_raw: str, end_raw: str, *, today: date
) -> tuple[tuple[date, date] | None, dict[str, str]]:
    """Parse the visits export range (both ends included); empty means the last 30 days.

    Returns ((start, end), {}) or (None, {field: message}).
    """
    errors: dict[str, str] = {}
    end = _parse_day(end_raw) if end_raw.strip() else today
    start = _parse_day(start_raw) if start_raw.strip() else (end or today) - timedelta(days=29)
    if start is None:
        errors["start"] = MSG_DATE_INVALID
    if end is None:
        errors["end"] = MSG_DATE_INVALID
    if errors or start is None or end is None:
        return None, errors
    if end < start:
        return None, {"end": MSG_RANGE_ORDER}
    if (end - start).days >= MAX_RANGE_DAYS:
        return None, {"start": MSG_RANGE_TOO_LONG}
    return (start, end), {}
