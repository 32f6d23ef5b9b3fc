"""Store member value (RFM): recency, frequency and monetary scores and the tier they give.

Scoring: each of R, F and M scores 2 when it meets the core threshold, 1 when it meets
the key threshold, else 0. The total (0-6) gives the tier: 5 or more → core, 3 or more
→ key, else regular. So a core member is top in two measures and at least key in the
third; thresholds are inclusive ("at most 30 days", "at least 6 visits").
"""

from dataclasses import dataclass, fields
from datetime import date, datetime
from enum import StrEnum
from typing import NamedTuple

# Visits and spending are counted over this many days up to today.
WINDOW_DAYS = 365
CORE_MIN_SCORE = 5
KEY_MIN_SCORE = 3


class Tier(StrEnum):
    """How valuable a store member is: core (核心), key (重点) or regular (普通)."""

    CORE = "core"
    KEY = "key"
    REGULAR = "regular"

    @property
    def label(self) -> str:
        """Return the English name, a msgid for translation."""
        return TIER_LABELS[self]


TIER_LABELS: dict[Tier, str] = {Tier.CORE: "Core", Tier.KEY: "Key", Tier.REGULAR: "Regular"}

MSG_WHOLE_NUMBER = "Enter a whole number of 0 or more."
MSG_CORE_BELOW_KEY = "Core limits must be at least as demanding as key limits, and counts above 0."

MESSAGES: tuple[str, ...] = tuple(TIER_LABELS.values())
# The admin form's messages (translated with the counter's catalogue).
MSGIDS: tuple[str, ...] = (MSG_WHOLE_NUMBER, MSG_CORE_BELOW_KEY)

# The largest number an admin may type into a threshold field.
THRESHOLD_INPUT_MAX = 10**9


@dataclass(frozen=True)
class RfmThresholds:
    """Admin-set limits for each measure; a measure at or past a limit meets it."""

    recency_core_days: int = 30
    recency_key_days: int = 90
    frequency_core: int = 6
    frequency_key: int = 3
    monetary_core_cents: int = 500_000
    monetary_key_cents: int = 100_000

    def __post_init__(self) -> None:
        """Refuse limits where core would be easier to reach than key."""
        if not 0 <= self.recency_core_days <= self.recency_key_days:
            raise ValueError("recency: need 0 <= core days <= key days")
        if not 1 <= self.frequency_key <= self.frequency_core:
            raise ValueError("frequency: need 1 <= key visits <= core visits")
        if not 1 <= self.monetary_key_cents <= self.monetary_core_cents:
            raise ValueError("monetary: need 1 <= key cents <= core cents")


DEFAULT_THRESHOLDS = RfmThresholds()


class RfmScore(NamedTuple):
    """The three scores (0, 1 or 2 each) of a member."""

    recency: int
    frequency: int
    monetary: int

    @property
    def total(self) -> int:
        """Return the sum of the three scores (0-6)."""
        return self.recency + self.frequency + self.monetary


def _at_least(value: int, core: int, key: int) -> int:
    """Score a measure where more is better."""
    if value >= core:
        return 2
    return 1 if value >= key else 0


def days_since(last_visit_at: date | datetime | None, today: date) -> int | None:
    """Return whole days from the last visit to today (0 for today or a future date).

    Pass a date, or a datetime already in the business's time zone: the day is taken
    as it is written.
    """
    if last_visit_at is None:
        return None
    day = last_visit_at.date() if isinstance(last_visit_at, datetime) else last_visit_at
    return max(0, (today - day).days)


def rfm_score(
    last_visit_at: date | datetime | None,
    visits_365: int,
    spend_cents_365: int,
    today: date,
    thresholds: RfmThresholds = DEFAULT_THRESHOLDS,
) -> RfmScore:
    """Return the R, F and M scores of a member; never visited scores recency 0."""
    days = days_since(last_visit_at, today)
    if days is None:
        recency = 0
    elif days <= thresholds.recency_core_days:
        recency = 2
    else:
        recency = 1 if days <= thresholds.recency_key_days else 0
    return RfmScore(
        recency=recency,
        frequency=_at_least(visits_365, thresholds.frequency_core, thresholds.frequency_key),
        monetary=_at_least(
            spend_cents_365, thresholds.monetary_core_cents, thresholds.monetary_key_cents
        ),
    )


def tier_for_score(total: int) -> Tier:
    """Return the tier a total score (0-6) gives."""
    if total >= CORE_MIN_SCORE:
        return Tier.CORE
    return Tier.KEY if total >= KEY_MIN_SCORE else Tier.REGULAR


def rfm_tier(
    last_visit_at: date | datetime | None,
    visits_365: int,
    spend_cents_365: int,
    today: date,
    thresholds: RfmThresholds = DEFAULT_THRESHOLDS,
) -> Tier:
    """Return a store member's tier from their last visit, visits and spending in 365 days."""
    score = rfm_score(last_visit_at, visits_365, spend_cents_365, today, thresholds)
    return tier_for_score(score.total)


def _cents_per_unit(name: str) -> int:
    """Spending thresholds are typed in yuan and kept in cents; the others as typed."""
    return 100 if name.startswith("monetary") else 1


def rfm_threshold_names() -> tuple[str, ...]:
    """The threshold fields, in form order (recency, frequency, monetary; core before key)."""
    return tuple(f.name for f in fields(RfmThresholds))


def rfm_form_values(thresholds: RfmThresholds) -> dict[str, int]:
    """The thresholds as the admin's form shows them (spending in whole yuan)."""
    return {
        name: getattr(thresholds, name) // _cents_per_unit(name) for name in rfm_threshold_names()
    }


def _whole_number(raw: str) -> int | None:
    """A whole number of 0 up to the input limit, or None."""
    if not raw.isdigit():
        return None
    try:
        number = int(raw)
    except ValueError:  # digits int() does not read, such as superscripts
        return None
    return number if number <= THRESHOLD_INPUT_MAX else None


def rfm_thresholds_parse(data: dict[str, str]) -> tuple[RfmThresholds | None, dict[str, str]]:
    """Read the admin's threshold form: the thresholds, or None and a msgid per bad field.

    Every field must be a whole number; together they must make core at least as demanding
    as key (the "form" error).
    """
    errors: dict[str, str] = {}
    numbers: dict[str, int] = {}
    for name in rfm_threshold_names():
        number = _whole_number(data.get(name, "").strip())
        if number is None:
            errors[name] = MSG_WHOLE_NUMBER
        else:
            numbers[name] = number * _cents_per_unit(name)
    if errors:
        return None, errors
    try:
        return RfmThresholds(**numbers), {}
    except ValueError:
        return None, {"form": MSG_CORE_BELOW_KEY}
