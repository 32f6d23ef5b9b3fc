"""Visit rules in plain Python: location, distance, undo window, who may edit, details, outcomes."""

import math
import re
import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

from domain.cadence import days_overdue
from domain.enums import Method, Milestone, Role
from domain.money import (
    MSG_MONEY_CENTS,
    MSG_MONEY_INVALID,
    MSG_MONEY_NEGATIVE,
    MSG_MONEY_TOO_LARGE,
    money_input_value,
    money_parse,
)
from domain.users import Actor

# The client shows Undo for UNDO_SECONDS; the server accepts it a little longer so a tap
# at second 9.9 on a slow network still works.
UNDO_SECONDS = 10
UNDO_GRACE_SECONDS = 5

EARTH_RADIUS_M = 6_371_008.8
MAX_ACCURACY_M = 100_000.0
# The device clock may be wrong; a value further off than this is not kept.
MAX_DEVICE_SKEW = timedelta(days=2)
MAX_AMOUNT_CENTS = 100_000_000_000  # 1 billion CNY: surely a typo beyond that
MAX_NOTE = 2000
MAX_NEXT_ACTION = 300
MAX_LABEL = 60
KEY_RE = re.compile(r"[A-Za-z0-9_-]{8,64}")
CODE_RE = re.compile(r"[a-z][a-z0-9_]{1,31}")

MSG_AMOUNT_INVALID = MSG_MONEY_INVALID
MSG_AMOUNT_NEGATIVE = MSG_MONEY_NEGATIVE
MSG_AMOUNT_TOO_LARGE = MSG_MONEY_TOO_LARGE
MSG_AMOUNT_CENTS = MSG_MONEY_CENTS
MSG_DATE_INVALID = "Enter a date such as 2026-11-30."
MSG_TOO_LONG = "This text is too long."
MSG_MILESTONE_INVALID = "Choose a milestone from the list."
MSG_CODE_INVALID = "Use 2–32 lowercase letters, digits or _ starting with a letter."
MSG_CODE_TAKEN = "An outcome with this code already exists."
MSG_LABEL_REQUIRED = "Enter a label."
MSG_METHOD_INVALID = "Choose a method from the list."
MSG_POSITION_INVALID = "Enter a whole number between 0 and 999."
MSG_MAX_AGE_INVALID = "Enter a whole number of hours between 1 and 720."

MESSAGES: tuple[str, ...] = (
    MSG_AMOUNT_INVALID,
    MSG_AMOUNT_NEGATIVE,
    MSG_AMOUNT_TOO_LARGE,
    MSG_AMOUNT_CENTS,
    MSG_DATE_INVALID,
    MSG_TOO_LONG,
    MSG_MILESTONE_INVALID,
    MSG_CODE_INVALID,
    MSG_CODE_TAKEN,
    MSG_LABEL_REQUIRED,
    MSG_METHOD_INVALID,
    MSG_POSITION_INVALID,
    MSG_MAX_AGE_INVALID,
)


# --- location --------------------------------------------------------------------------


@dataclass(frozen=True)
class Location:
    """Where the device was when the visit was recorded."""

    lat: float
    lng: float
    accuracy_m: float | None = None


def _float(raw: object) -> float | None:
    """Parse a finite float, or None."""
    if raw is None or raw == "":
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def location_parse(lat: object, lng: object, accuracy: object = None) -> Location | None:
    """Return a location from what a browser sent, or None when absent or nonsense.

    A bad location never blocks a visit: it is simply not kept.
    """
    la, ln = _float(lat), _float(lng)
    if la is None or ln is None or not -90 <= la <= 90 or not -180 <= ln <= 180:
        return None
    if la == 0 and ln == 0:
        return None  # "null island": a device that has no fix yet
    acc = _float(accuracy)
    if acc is not None and not 0 <= acc <= MAX_ACCURACY_M:
        acc = None
    return Location(la, ln, acc)


def haversine_m(lat1: float, lng1: float, lat2: float, lng2: float) -> float:
    """Return the great-circle distance between two points in metres."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp = p2 - p1
    dl = math.radians(lng2 - lng1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(min(1.0, math.sqrt(a)))


def distance_to_customer(
    where: Location | None, customer_lat: float | None, customer_lng: float | None
) -> float | None:
    """Return the distance from the visit to the customer in whole metres, when both are known."""
    if where is None or customer_lat is None or customer_lng is None:
        return None
    return float(round(haversine_m(where.lat, where.lng, customer_lat, customer_lng)))


def device_time_parse(raw: object, server_now: datetime) -> datetime | None:
    """Parse the device's ISO time; drop it when missing, naive garbage, or days off."""
    if not raw or not isinstance(raw, str) or len(raw) > 40:
        return None
    text = raw.strip().replace("Z", "+00:00")
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        return None
    value = value.astimezone(UTC)
    if abs(value - server_now) > MAX_DEVICE_SKEW:
        return None
    return value


# --- the device clock of a visit recorded offline ---------------------------------------

# A visit recorded offline reaches the server later, so its time comes from the phone. The
# phone's clock may be wrong: a time ahead of the server by more than this is refused, and
# one older than the admin's limit (DEFAULT_DEVICE_MAX_AGE_HOURS unless set) too.
DEVICE_FUTURE_SKEW = timedelta(minutes=5)
DEFAULT_DEVICE_MAX_AGE_HOURS = 72
MAX_DEVICE_MAX_AGE_HOURS = 24 * 30
CLOCK_FUTURE = "future"
CLOCK_TOO_OLD = "too_old"
# After this delay between the phone's time and the server's, the timeline says "sent later".
SENT_LATER_AFTER = timedelta(minutes=2)


@dataclass(frozen=True)
class VisitClock:
    """When a visit counts as having happened, and why the device time was not used."""

    at: datetime
    corrected: str | None = None  # CLOCK_FUTURE or CLOCK_TOO_OLD: the server time was used


def device_time_read(raw: object) -> datetime | None:
    """Parse the device's ISO time with its zone (kept as sent, plausible or not); else None."""
    if not raw or not isinstance(raw, str) or len(raw) > 40:
        return None
    try:
        value = datetime.fromisoformat(raw.strip().replace("Z", "+00:00"))
    except ValueError:
        return None
    if value.tzinfo is None or not 2000 <= value.year <= 2100:
        return None
    return value.astimezone(UTC)


def visit_clock(
    device_at: datetime | None,
    server_now: datetime,
    *,
    max_age_hours: int = DEFAULT_DEVICE_MAX_AGE_HOURS,
) -> VisitClock:
    """Decide the time a visit counts at: the device's when plausible, else the server's.

    Plausible means not ahead of the server by more than DEVICE_FUTURE_SKEW and not older
    than `max_age_hours`. A visit that arrives within SENT_LATER_AFTER of its device time
    was sent at once: the server's clock is the better one then (phones drift, and it is
    never in the future, so Undo and "last visit" stay sane).
    """
    if device_at is None:
        return VisitClock(server_now)
    if device_at > server_now + DEVICE_FUTURE_SKEW:
        return VisitClock(server_now, CLOCK_FUTURE)
    if device_at < server_now - timedelta(hours=max_age_hours):
        return VisitClock(server_now, CLOCK_TOO_OLD)
    if server_now - device_at <= SENT_LATER_AFTER:
        return VisitClock(server_now)
    return VisitClock(device_at)


def max_age_hours_parse(raw: str | None) -> int:
    """Parse the admin's device-time limit in hours; raise ValueError with a msgid."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    try:
        value = int(text)
    except ValueError:
        raise ValueError(MSG_MAX_AGE_INVALID) from None
    if not 1 <= value <= MAX_DEVICE_MAX_AGE_HOURS:
        raise ValueError(MSG_MAX_AGE_INVALID)
    return value


def sent_later(at: datetime, received_at: datetime | None) -> bool:
    """Whether a visit reached the server well after it happened (recorded offline)."""
    return received_at is not None and received_at - at > SENT_LATER_AFTER


def idempotency_key_valid(key: str) -> bool:
    """Return whether a client key looks like one we generate (UUIDs and similar)."""
    return bool(KEY_RE.fullmatch(key))


# --- undo ------------------------------------------------------------------------------


def undo_seconds_left(at: datetime, now: datetime) -> float:
    """Return how many seconds the Undo button should still be shown (0 when gone)."""
    return max(0.0, UNDO_SECONDS - (now - at).total_seconds())


def undo_allowed(at: datetime, now: datetime) -> bool:
    """Return whether the server still accepts undoing a visit saved at `at`."""
    elapsed = (now - at).total_seconds()
    return -60 <= elapsed <= UNDO_SECONDS + UNDO_GRACE_SECONDS


# --- follow-ups and permissions -------------------------------------------------------


def can_edit_visit(actor: Actor, *, author_id: int) -> bool:
    """Authors add details to their visits; managers and admins may correct any they see."""
    return actor.id == author_id or actor.role in (Role.MANAGER, Role.ADMIN)


def can_undo_visit(actor: Actor, *, author_id: int) -> bool:
    """Only the person who recorded a visit may undo it (within the undo window)."""
    return actor.id == author_id


def follow_ups_by_rep(actor: Actor) -> bool:
    """Managers and admins see the team's follow-ups grouped by rep; others their own list."""
    return actor.role in (Role.MANAGER, Role.ADMIN)


@dataclass(frozen=True)
class DueEntry:
    """A customer on the Today list and how late its follow-up is."""

    due: date
    overdue_days: int

    @property
    def is_overdue(self) -> bool:
        """Whether the follow-up day has passed."""
        return self.overdue_days > 0


def due_entry(due: date | None, today: date) -> DueEntry | None:
    """Classify a follow-up day: overdue, due today, or not due yet (None)."""
    if due is None or due > today:
        return None
    return DueEntry(due, days_overdue(due, today))


# --- details after the fact ------------------------------------------------------------


def amount_parse(raw: str | None) -> int | None:
    """Parse a CNY amount as typed ("1,280.50", "¥1280", "１２８０", "1.2万") into integer cents.

    Empty means no amount (None); otherwise the money rule, capped for one visit.
    """
    return money_parse(raw, max_cents=MAX_AMOUNT_CENTS)


def amount_input_value(cents: int | None) -> str:
    """Show stored cents in an input the way a person would type them back."""
    return money_input_value(cents)


def date_parse(raw: str | None) -> date | None:
    """Parse an ISO date from a date input; empty is None; raise ValueError otherwise."""
    text = unicodedata.normalize("NFKC", raw or "").strip()
    if not text:
        return None
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise ValueError(MSG_DATE_INVALID) from None
    if not 2000 <= value.year <= 2100:
        raise ValueError(MSG_DATE_INVALID)
    return value


@dataclass
class VisitDetails:
    """What may be added to a saved visit, cleaned."""

    note: str = ""
    feedback: str = ""
    next_action: str = ""
    next_action_due: date | None = None
    milestone: str | None = None
    amount_cents: int | None = None


@dataclass
class Checked:
    """The cleaned values and the errors (field → message msgid) of a form."""

    details: VisitDetails = field(default_factory=VisitDetails)
    errors: dict[str, str] = field(default_factory=dict)


def _text(raw: str | None, limit: int) -> tuple[str, bool]:
    """Strip a text field and say whether it fits."""
    text = (raw or "").replace("\r\n", "\n").strip()
    return text, len(text) <= limit


def visit_details_validate(data: dict[str, str]) -> Checked:
    """Clean the details form of a visit; every field is optional."""
    out = Checked()
    d = out.details
    for name, limit in (
        ("note", MAX_NOTE),
        ("feedback", MAX_NOTE),
        ("next_action", MAX_NEXT_ACTION),
    ):
        value, ok = _text(data.get(name), limit)
        setattr(d, name, value)
        if not ok:
            out.errors[name] = MSG_TOO_LONG
    try:
        d.next_action_due = date_parse(data.get("next_action_due"))
    except ValueError as exc:
        out.errors["next_action_due"] = str(exc)
    milestone = (data.get("milestone") or "").strip()
    if milestone and milestone not in {m.value for m in Milestone}:
        out.errors["milestone"] = MSG_MILESTONE_INVALID
    d.milestone = milestone or None
    try:
        d.amount_cents = amount_parse(data.get("amount"))
    except ValueError as exc:
        out.errors["amount"] = str(exc)
    return out


# --- outcomes --------------------------------------------------------------------------


@dataclass
class OutcomeInput:
    """An admin's outcome form, cleaned."""

    code: str = ""
    label_en: str = ""
    label_zh: str = ""
    method: str = Method.FIELD.value
    asks_amount: bool = False
    position: int = 0
    active: bool = True


def outcome_validate(
    data: dict[str, str], *, taken: set[str] | None = None, new: bool = False
) -> tuple[OutcomeInput, dict[str, str]]:
    """Clean an outcome form; `taken` are codes already in use (checked for new outcomes)."""
    errors: dict[str, str] = {}
    out = OutcomeInput()
    if new:
        out.code = (data.get("code") or "").strip().lower()
        if not CODE_RE.fullmatch(out.code):
            errors["code"] = MSG_CODE_INVALID
        elif taken and out.code in taken:
            errors["code"] = MSG_CODE_TAKEN
    for name in ("label_en", "label_zh"):
        value = " ".join((data.get(name) or "").split())
        setattr(out, name, value)
        if not value:
            errors[name] = MSG_LABEL_REQUIRED
        elif len(value) > MAX_LABEL:
            errors[name] = MSG_TOO_LONG
    out.method = (data.get("method") or "").strip()
    if out.method not in {m.value for m in Method}:
        errors["method"] = MSG_METHOD_INVALID
    out.asks_amount = (data.get("asks_amount") or "") in ("1", "on", "true", "yes")
    out.active = (data.get("active") or "") in ("1", "on", "true", "yes")
    raw = (data.get("position") or "0").strip()
    try:
        out.position = int(raw)
        if not 0 <= out.position <= 999:
            raise ValueError
    except ValueError:
        errors["position"] = MSG_POSITION_INVALID
    return out, errors
