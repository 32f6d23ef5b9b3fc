"""Follow-up cadence: when a customer of a level must be touched next, and the admin's form."""

from collections.abc import Mapping
from datetime import date, datetime, timedelta, tzinfo

from domain.enums import Level

DEFAULT_CADENCE_DAYS: dict[Level, int] = {Level.A: 3, Level.B: 7, Level.C: 14}

MSG_DAYS_INVALID = "Enter a whole number of days between 1 and 365."
MESSAGES: tuple[str, ...] = (MSG_DAYS_INVALID,)


def cadence_days_of(level: str, cadence: Mapping[str, int] | None = None) -> int:
    """Return the days between follow-ups for a level; an unknown level counts as C."""
    table = cadence or DEFAULT_CADENCE_DAYS
    days = table.get(level)
    if days is None:
        days = table.get(Level.C, DEFAULT_CADENCE_DAYS[Level.C])
    return days


def local_date(at: datetime, tz: tzinfo) -> date:
    """Return the calendar day an aware time falls on in a time zone."""
    return at.astimezone(tz).date()


def next_follow_up(last_visit: date, level: str, cadence: Mapping[str, int] | None = None) -> date:
    """Return the day a customer is next due, counting from the local day of its last visit."""
    return last_visit + timedelta(days=cadence_days_of(level, cadence))


def follow_up_after(
    visit_at: datetime, tz: tzinfo, level: str, cadence: Mapping[str, int] | None = None
) -> date:
    """Return the next follow-up day after a visit: its local day plus the level's cadence."""
    return next_follow_up(local_date(visit_at, tz), level, cadence)


def follow_up_with_action(cadence_day: date | None, action_due: date | None) -> date | None:
    """Return the next follow-up day once a visit's next action is due: the earlier of the two."""
    if action_due is None:
        return cadence_day
    if cadence_day is None:
        return action_due
    return min(cadence_day, action_due)


def days_overdue(due: date | None, today: date) -> int:
    """Return how many days past its due day a follow-up is (0 when not overdue)."""
    if due is None:
        return 0
    return max(0, (today - due).days)


def cadence_days_parse(raw: object) -> int:
    """Parse an admin's cadence days (1..365); raise ValueError with a message msgid."""
    try:
        days = int(str(raw).strip())
    except ValueError:
        raise ValueError(MSG_DAYS_INVALID) from None
    if not 1 <= days <= 365:
        raise ValueError(MSG_DAYS_INVALID)
    return days


def cadence_validate(raw: Mapping[str, str]) -> tuple[dict[Level, int], dict[str, str]]:
    """Clean the cadence form: days typed per level code ("A", "B", "C").

    Return the days per level and the errors by level code (message msgids).
    """
    days: dict[Level, int] = {}
    errors: dict[str, str] = {}
    for level in Level:
        try:
            days[level] = cadence_days_parse(raw.get(level.value, ""))
        except ValueError as exc:
            errors[level.value] = str(exc)
    return days, errors
