"""The public pool (公海): claim limits, cooling-off, the return rule, who may do what."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo
from enum import StrEnum

from domain.enums import Level, Role, Status


class PoolEventKind(StrEnum):
    """An ownership change the pool keeps (history, cooling-off, the weekly counts)."""

    CLAIM = "claim"  # a rep took a customer from the pool
    RELEASE = "release"  # an owner (or a manager) put a customer back
    RETURN = "return"  # the automatic return after N days without a visit
    ASSIGN = "assign"  # a manager gave a customer to someone (bulk Reassign, handover)


# The defaults an admin starts from (PRODUCT.md §5 and the pool issue).
DEFAULT_RETURN_DAYS: Mapping[str, int] = {Level.A: 30, Level.B: 60, Level.C: 90}


@dataclass(frozen=True)
class PoolRules:
    """The admin-set limits and the automatic return rule."""

    claims_per_day: int = 10
    max_owned: int = 300
    cooling_days: int = 7
    return_days: Mapping[str, int] = field(default_factory=lambda: dict(DEFAULT_RETURN_DAYS))
    won_exempt: bool = True
    warn_days: int = 3
    run_hour: int = 2


MSG_DAILY = (
    "You have claimed %(n)s customers today, the daily limit. You can claim again from %(when)s."
)
MSG_OWNED = (
    "You own %(n)s customers, the most one person may own. Release or hand over one to "
    "claim another."
)
MSG_COOLING = "This customer left you for the pool recently. You can claim it again from %(when)s."
MSG_TAKEN = "Someone else claimed this customer first."
MSG_NOT_CLAIMER = "Only reps and managers of the team claim from its pool."
MESSAGES = (MSG_DAILY, MSG_OWNED, MSG_COOLING, MSG_TAKEN, MSG_NOT_CLAIMER)


class Limit(StrEnum):
    """Which limit refused a claim."""

    DAILY = "daily"
    OWNED = "owned"
    COOLING = "cooling"
    ROLE = "role"


@dataclass(frozen=True)
class Refusal:
    """Why a claim is refused, and from when it would be allowed (None: not by waiting)."""

    limit: Limit
    message: str
    n: int = 0
    frees_at: datetime | None = None


def local_day(now: datetime, tz: tzinfo) -> date:
    """The day a moment falls on where the team works: "per day" counts by this day."""
    return now.astimezone(tz).date()


def next_day_start(now: datetime, tz: tzinfo) -> datetime:
    """The next local midnight, when the daily claim count starts again."""
    tomorrow = local_day(now, tz) + timedelta(days=1)
    return datetime.combine(tomorrow, time.min, tzinfo=tz)


def may_claim(role: Role) -> bool:
    """Reps (and managers, who also sell) claim from their team's pool."""
    return role in (Role.REP, Role.MANAGER)


def may_release_directly(role: Role) -> bool:
    """Managers and admins release or assign without asking anyone."""
    return role in (Role.MANAGER, Role.ADMIN)


def claim_refusal(
    *,
    role: Role,
    rules: PoolRules,
    claims_today: int,
    owned: int,
    left_me_at: datetime | None,
    now: datetime,
    tz: tzinfo,
) -> Refusal | None:
    """Decide a claim: None when allowed, else the first limit it hits and when it frees up.

    `left_me_at` is when the customer last went from this person to the pool (release or
    return); cooling-off keeps them from taking it straight back.
    """
    if not may_claim(role):
        return Refusal(Limit.ROLE, MSG_NOT_CLAIMER)
    if left_me_at is not None and rules.cooling_days > 0:
        until = left_me_at + timedelta(days=rules.cooling_days)
        if now < until:
            return Refusal(Limit.COOLING, MSG_COOLING, frees_at=until)
    if claims_today >= rules.claims_per_day:
        return Refusal(
            Limit.DAILY, MSG_DAILY, n=rules.claims_per_day, frees_at=next_day_start(now, tz)
        )
    if owned >= rules.max_owned:
        return Refusal(Limit.OWNED, MSG_OWNED, n=rules.max_owned)
    return None


def return_at(*, level: str, status: str, since: datetime, rules: PoolRules) -> datetime | None:
    """When a customer goes back to the pool if nobody visits it; None when it never does.

    `since` is its last visit, or when its owner got it if that is later (a just-claimed
    customer gets the full period).
    """
    days = rules.return_days.get(level)
    if not days or (status == Status.WON and rules.won_exempt):
        return None
    return since + timedelta(days=days)


def returns_now(
    *, level: str, status: str, since: datetime, rules: PoolRules, now: datetime
) -> bool:
    """Whether the automatic return takes the customer now."""
    at = return_at(level=level, status=status, since=since, rules=rules)
    return at is not None and at <= now


def days_left(at: datetime, now: datetime, tz: tzinfo) -> int:
    """Whole local days from today until the return day (0: it returns today)."""
    return (local_day(at, tz) - local_day(now, tz)).days


def warned(*, at: datetime | None, now: datetime, tz: tzinfo, warn_days: int) -> int | None:
    """Days left when the return falls inside the warning window, else None."""
    if at is None or at <= now:
        return None
    left = days_left(at, now, tz)
    return left if left <= warn_days else None


def spread(customer_ids: Sequence[int], colleague_ids: Sequence[int]) -> dict[int, int]:
    """Share customers evenly over colleagues, in order (customer id -> new owner id)."""
    if not colleague_ids:
        return {}
    return {c: colleague_ids[i % len(colleague_ids)] for i, c in enumerate(customer_ids)}


MSG_WHOLE = "Enter a whole number this setting allows (hours 0–23, days up to 3650)."
MESSAGES = (*MESSAGES, MSG_WHOLE)

# Form field -> (lowest, highest) of the admin's pool settings.
RULE_BOUNDS: Mapping[str, tuple[int, int]] = {
    "claims_per_day": (0, 1000),
    "max_owned": (0, 100_000),
    "cooling_days": (0, 365),
    "return_A": (0, 3650),
    "return_B": (0, 3650),
    "return_C": (0, 3650),
    "warn_days": (0, 60),
    "run_hour": (0, 23),
}


def rules_parse(raw: Mapping[str, str]) -> tuple[PoolRules | None, dict[str, str]]:
    """Read the admin's pool settings form; errors by field (0 days switches a level off)."""
    values: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name, (low, high) in RULE_BOUNDS.items():
        text = str(raw.get(name) or "").strip()
        if text.isdigit() and len(text) <= 6 and low <= int(text) <= high:
            values[name] = int(text)
        else:
            errors[name] = MSG_WHOLE
    if errors:
        return None, errors
    rules = PoolRules(
        claims_per_day=values["claims_per_day"],
        max_owned=values["max_owned"],
        cooling_days=values["cooling_days"],
        return_days={level: values[f"return_{level}"] for level in Level},
        won_exempt=bool(raw.get("won_exempt")),
        warn_days=values["warn_days"],
        run_hour=values["run_hour"],
    )
    return rules, {}


def rules_values(rules: PoolRules) -> dict[str, str]:
    """The settings form's values for stored rules."""
    out = {
        "claims_per_day": str(rules.claims_per_day),
        "max_owned": str(rules.max_owned),
        "cooling_days": str(rules.cooling_days),
        "warn_days": str(rules.warn_days),
        "run_hour": str(rules.run_hour),
        "won_exempt": "1" if rules.won_exempt else "",
    }
    out.update({f"return_{lv}": str(rules.return_days.get(lv, 0)) for lv in Level})
    return out
