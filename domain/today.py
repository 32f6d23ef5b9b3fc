"""The Today work list: short sections, and the overdue filter (level, how late) and sort."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from domain.enums import Level

SECTION_ROWS = 5  # rows a section shows before "Show all N"
GROUP_ROWS = 3  # rows per rep on a manager's Today before "Show all N"

# How long overdue: code -> (first day, last day or None), in days past the due day.
LATE_RANGES: dict[str, tuple[int, int | None]] = {
    "week": (1, 7),
    "month": (8, 30),
    "older": (31, None),
}
LATE_LABELS = {
    "": "Any time",
    "week": "Up to a week",
    "month": "8 to 30 days",
    "older": "More than 30 days",
}
SORTS = {
    "": "Most overdue first",
    "level": "Level A first",
    "name": "Name",
}
MESSAGES: tuple[str, ...] = (*LATE_LABELS.values(), *SORTS.values())

T = TypeVar("T")


@dataclass(frozen=True)
class OverdueFilter:
    """What the user asked of the overdue list; unknown input means "no filter"."""

    level: str = ""
    late: str = ""
    sort: str = ""

    @property
    def active(self) -> bool:
        """Whether any filter or a sort other than the default is chosen."""
        return bool(self.level or self.late or self.sort)


def overdue_filter_parse(level: str = "", late: str = "", sort: str = "") -> OverdueFilter:
    """Read the query (level A/B/C, late week/month/older, sort level/name), dropping the rest."""
    level = level.strip().upper()
    return OverdueFilter(
        level=level if level in {lv.value for lv in Level} else "",
        late=late if late in LATE_RANGES else "",
        sort=sort if sort in SORTS else "",
    )


def late_matches(late: str, overdue_days: int) -> bool:
    """Whether a follow-up `overdue_days` late falls in the chosen range ("" matches all)."""
    if late not in LATE_RANGES:
        return True
    first, last = LATE_RANGES[late]
    return overdue_days >= first and (last is None or overdue_days <= last)


def overdue_apply(
    items: Sequence[T],
    chosen: OverdueFilter,
    *,
    level_of: Callable[[T], str],
    days_of: Callable[[T], int],
    name_of: Callable[[T], str],
) -> list[T]:
    """Filter and sort overdue items; the default order (most overdue first) is kept as given."""
    kept = [
        i
        for i in items
        if (not chosen.level or level_of(i) == chosen.level)
        and late_matches(chosen.late, days_of(i))
    ]
    if chosen.sort == "level":
        kept.sort(key=lambda i: (level_of(i), -days_of(i)))
    elif chosen.sort == "name":
        kept.sort(key=lambda i: name_of(i).casefold())
    return kept


def section_rows(items: Sequence[T], *, show_all: bool, rows: int = SECTION_ROWS) -> list[T]:
    """The rows a section shows: the first few, or all of them when asked."""
    return list(items) if show_all else list(items[:rows])
