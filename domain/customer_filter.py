"""The customer list's filters and sort: parsed from the URL, checked, and written back to it."""

from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from domain.enums import Level, Source, Stage, Status

# Owner filter values besides a user id.
OWNER_ME = "me"
OWNER_POOL = "pool"

DUE_OVERDUE = "overdue"
DUE_WEEK = "week"
DUES = (DUE_OVERDUE, DUE_WEEK)

SORT_NEXT = "next_follow_up"
SORT_LAST_VISIT = "last_visit"
SORT_NAME = "name"
SORT_CREATED = "created"
SORTS = (SORT_NEXT, SORT_LAST_VISIT, SORT_NAME, SORT_CREATED)

MAX_DAYS = 3650  # "no visit in N days" beyond ten years is every customer anyway
MAX_PAGE = 2**62  # a page past the end is empty; the db bounds OFFSET further
MAX_TAG = 40

MESSAGES = (
    "Choose one of the offered values.",
    "Enter a number of days from 1 to 3650.",
    "Enter a date as YYYY-MM-DD.",
    "The start date is after the end date.",
)


@dataclass(frozen=True)
class CustomerFilter:
    """What the customer list shows: filters, the sort and the page (all optional)."""

    owner: str = ""  # "", "me", "pool" or a user id
    level: str = ""
    stage: str = ""
    status: str = ""
    source: str = ""
    tag: str = ""
    due: str = ""  # "", "overdue" or "week"
    no_visit_days: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    sort: str = SORT_NEXT
    page: int = 1

    @property
    def active(self) -> int:
        """How many filters are set (the sort and the page are not filters)."""
        values = asdict(self)
        return sum(
            1 for k, v in values.items() if k not in ("sort", "page") and v not in ("", None)
        )

    def owner_id(self) -> int | None:
        """The user id the owner filter names, when it names one."""
        return int(self.owner) if self.owner.isdigit() else None


def _choice(raw: str, allowed, key: str, errors: dict[str, str]) -> str:
    """A value from a closed set, or "" with an error."""
    if raw == "" or raw in allowed:
        return raw
    errors[key] = MESSAGES[0]
    return ""


def _day(raw: str, key: str, errors: dict[str, str]) -> date | None:
    """An ISO date, or None (with an error when something else was given)."""
    if raw == "":
        return None
    try:
        return date.fromisoformat(raw) if len(raw) == 10 else _bad_day(key, errors)
    except ValueError:
        return _bad_day(key, errors)


def _bad_day(key: str, errors: dict[str, str]) -> None:
    errors[key] = MESSAGES[2]
    return None


def filter_parse(params: Mapping[str, str]) -> tuple[CustomerFilter, dict[str, str]]:
    """Read the list's query parameters; wrong values are dropped and reported by field name.

    The owner filter accepts "me", "pool" or a user id; whether the user may use it is the
    list's visibility, which applies to every filter anyway.
    """
    get = {k: str(params.get(k) or "").strip() for k in KEYS}
    errors: dict[str, str] = {}
    owner = get["owner"]
    if owner not in ("", OWNER_ME, OWNER_POOL) and not (owner.isdigit() and len(owner) < 12):
        errors["owner"], owner = MESSAGES[0], ""
    days: int | None = None
    if get["no_visit_days"]:
        raw = get["no_visit_days"]
        if raw.isdigit() and len(raw) < 6 and 1 <= int(raw) <= MAX_DAYS:
            days = int(raw)
        else:
            errors["no_visit_days"] = MESSAGES[1]
    start = _day(get["created_from"], "created_from", errors)
    end = _day(get["created_to"], "created_to", errors)
    if start and end and start > end:
        errors["created_to"], end = MESSAGES[3], None
    page_raw = get["page"]
    page = int(page_raw) if page_raw.isdigit() and len(page_raw) <= 19 else 1
    filt = CustomerFilter(
        owner=owner,
        level=_choice(get["level"], tuple(Level), "level", errors),
        stage=_choice(get["stage"], tuple(Stage), "stage", errors),
        status=_choice(get["status"], tuple(Status), "status", errors),
        source=_choice(get["source"], tuple(Source), "source", errors),
        tag=get["tag"][:MAX_TAG],
        due=_choice(get["due"], DUES, "due", errors),
        no_visit_days=days,
        created_from=start,
        created_to=end,
        sort=get["sort"] if get["sort"] in SORTS else SORT_NEXT,
        page=min(max(1, page), MAX_PAGE),
    )
    return filt, errors


KEYS = (
    "owner",
    "level",
    "stage",
    "status",
    "source",
    "tag",
    "due",
    "no_visit_days",
    "created_from",
    "created_to",
    "sort",
    "page",
)


def filter_query(filt: CustomerFilter, **change) -> dict[str, str]:
    """The query parameters that reproduce the filter (defaults left out), with `change` applied.

    Pager and sort links use it, so a shared or bookmarked URL shows the same list.
    """
    values = asdict(replace(filt, **change))
    out: dict[str, str] = {}
    for key in KEYS:
        value = values[key]
        if value in ("", None) or (key == "sort" and value == SORT_NEXT):
            continue
        if key == "page" and value == 1:
            continue
        out[key] = value.isoformat() if isinstance(value, date) else str(value)
    return out


def week_end(today: date) -> date:
    """The Sunday of today's ISO week: "due this week" runs from today to it."""
    return today + timedelta(days=6 - today.weekday())


def local_day_start_utc(day: date, tz: tzinfo) -> datetime:
    """The UTC instant a local day begins (created-at is stored in UTC)."""
    return datetime.combine(day, time.min, tzinfo=tz).astimezone(UTC)


def not_visited_since(now: datetime, days: int) -> datetime:
    """The instant before which a last visit counts as "no visit in N days"."""
    return now - timedelta(days=days)
