"""Follow-up cadence: when a customer of a level must be touched next."""

from datetime import date, timedelta

from domain.enums import Level

DEFAULT_CADENCE_DAYS: dict[Level, int] = {Level.A: 3, Level.B: 7, Level.C: 14}


def next_follow_up(last_visit: date, level: Level, cadence: dict[Level, int] | None = None) -> date:
    """Return the day a customer is next due, counting from its last visit."""
    days = (cadence or DEFAULT_CADENCE_DAYS)[Level(level)]
    return last_visit + timedelta(days=days)


def days_overdue(due: date | None, today: date) -> int:
    """Return how many days past its due day a follow-up is (0 when not overdue)."""
    if due is None:
        return 0
    return max(0, (today - due).days)
