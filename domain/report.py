"""Weekly manager report arithmetic: ISO weeks, per-rep rows, funnel, lost and silent customers."""

import re
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from domain.cadence import DEFAULT_CADENCE_DAYS, next_follow_up
from domain.customers import RECOMMENDED_FIELDS
from domain.enums import STAGE_ORDER, Level, LossReason, Method, Role, Stage, Status
from domain.users import Actor, can_manage_team

METHOD_ORDER: tuple[Method, ...] = tuple(Method)
LEVEL_ORDER: tuple[Level, ...] = tuple(Level)

# "Going silent" means no visit for this many cadences (A: 2 x 3 days, B: 2 x 7, C: 2 x 14).
SILENT_CADENCE_FACTOR = 2

_ISO_WEEK_RE = re.compile(r"(\d{4})-[Ww](\d{2})")
# Weeks a report may be asked for: the arithmetic around a week (the week before it, the
# next Monday, local-time bounds) must stay inside Python's dates (years 1 to 9999).
ISO_YEAR_MIN, ISO_YEAR_MAX = 1900, 2999
_MINUS = "\N{MINUS SIGN}"


# --- ISO weeks ---------------------------------------------------------------------------------


def iso_weeks_in_year(iso_year: int) -> int:
    """Return 52 or 53: the number of ISO weeks in an ISO year."""
    # 28 December always lies in the last ISO week of its year.
    return date(iso_year, 12, 28).isocalendar().week


def format_iso_week(iso_year: int, iso_week: int) -> str:
    """Return the ISO 8601 week label, e.g. "2026-W47" (the value of an HTML week input)."""
    return f"{iso_year:04d}-W{iso_week:02d}"


def parse_iso_week(text: str) -> tuple[int, int]:
    """Parse "2026-W47" into (2026, 47); raise ValueError for malformed or non-existent weeks."""
    match = _ISO_WEEK_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an ISO week (expected YYYY-Www): {text!r}")
    iso_year, iso_week = int(match[1]), int(match[2])
    if not ISO_YEAR_MIN <= iso_year <= ISO_YEAR_MAX:
        raise ValueError(f"ISO week out of range: {text!r}")
    if not 1 <= iso_week <= iso_weeks_in_year(iso_year):
        raise ValueError(f"no such ISO week: {text!r}")
    return iso_year, iso_week


def iso_week_of(day: date) -> tuple[int, int]:
    """Return the (ISO year, ISO week) a day belongs to."""
    iso = day.isocalendar()
    return iso.year, iso.week


def previous_week(iso_year: int, iso_week: int) -> tuple[int, int]:
    """Return the ISO week before the given one (2027-W01 -> 2026-W53)."""
    return iso_week_of(date.fromisocalendar(iso_year, iso_week, 1) - timedelta(days=7))


def last_complete_week(today: date) -> tuple[int, int]:
    """Return the last ISO week that has fully ended before `today` (the report's default)."""
    return previous_week(*iso_week_of(today))


def week_days(iso_year: int, iso_week: int) -> tuple[date, ...]:
    """Return the seven local days, Monday to Sunday, of an ISO week."""
    monday = date.fromisocalendar(iso_year, iso_week, 1)
    return tuple(monday + timedelta(days=i) for i in range(7))


def week_bounds(iso_year: int, iso_week: int, tz: tzinfo) -> tuple[datetime, datetime]:
    """Return [start, end) in UTC: Monday 00:00 local time to the next Monday 00:00 local time."""
    monday = date.fromisocalendar(iso_year, iso_week, 1)
    # Each bound is converted on its own so a DST change inside the week stays correct.
    start = datetime.combine(monday, time(), tzinfo=tz).astimezone(UTC)
    end = datetime.combine(monday + timedelta(days=7), time(), tzinfo=tz).astimezone(UTC)
    return start, end


def next_week(iso_year: int, iso_week: int) -> tuple[int, int]:
    """Return the ISO week after the given one (2026-W53 -> 2027-W01)."""
    return iso_week_of(date.fromisocalendar(iso_year, iso_week, 1) + timedelta(days=7))


@dataclass(frozen=True, slots=True)
class WeekNav:
    """The week a page shows and its neighbours (no "next" beyond the current week)."""

    week: str
    prev_week: str
    next_week: str | None
    is_current: bool


def week_nav(iso_year: int, iso_week: int, today: date) -> WeekNav:
    """Return the labels of a week, the one before, and the one after unless it is the future."""
    this_week = iso_week_of(today)
    shown = (iso_year, iso_week)
    return WeekNav(
        week=format_iso_week(*shown),
        prev_week=format_iso_week(*previous_week(*shown)),
        next_week=None if shown >= this_week else format_iso_week(*next_week(*shown)),
        is_current=shown == this_week,
    )


@dataclass(frozen=True, slots=True)
class WeekOption:
    """One week a week picker offers: its label ("2026-W47") and its Monday and Sunday."""

    week: str
    first_day: date
    last_day: date


def week_options(
    iso_year: int, iso_week: int, today: date, *, count: int = 12
) -> tuple[WeekOption, ...]:
    """The weeks a picker offers, newest first: this week and the `count` - 1 before it,
    plus the shown week when it is older (so the choice always holds the current value).

    A select works in every browser; `<input type=week>` is a plain text box in iOS Safari.
    """
    weeks = [iso_week_of(today)]
    while len(weeks) < count:
        weeks.append(previous_week(*weeks[-1]))
    if (iso_year, iso_week) not in weeks:
        weeks.append((iso_year, iso_week))
        weeks.sort(reverse=True)
    return tuple(
        WeekOption(
            format_iso_week(y, w), date.fromisocalendar(y, w, 1), date.fromisocalendar(y, w, 7)
        )
        for y, w in weeks
    )


class WeekNotStarted(ValueError):
    """The week asked for lies in the future: there is nothing to count yet."""


def week_so_far(
    iso_year: int, iso_week: int, tz: tzinfo, now: datetime
) -> tuple[datetime, datetime]:
    """Return [start, upto) of a week, cut at `now` while it runs; raise WeekNotStarted."""
    start, end = week_bounds(iso_year, iso_week, tz)
    upto = min(now, end)
    if upto <= start:
        raise WeekNotStarted(format_iso_week(iso_year, iso_week))
    return start, upto


# --- who may report on which team ------------------------------------------------------------


class NoTeamToReport(LookupError):
    """The actor may report on no team (none exists yet, or they belong to none)."""


class TeamNotAllowed(PermissionError):
    """The team asked for is not one whose numbers the actor may see."""


def report_team_scope(actor: Actor) -> list[int] | None:
    """Return the ids of the teams an actor may report on; None means every team (admins)."""
    if actor.role == Role.ADMIN:
        return None
    return [actor.team_id] if actor.team_id else []


def report_team_choose(actor: Actor, available: Sequence[int], requested: int | None) -> int:
    """Pick the team to report on: the one asked for if allowed, else the first available.

    `available` are the ids within report_team_scope(actor), in display order.
    """
    if not available:
        raise NoTeamToReport()
    if requested is None:
        return available[0]
    if requested not in available or not can_manage_team(actor, requested):
        raise TeamNotAllowed(requested)
    return requested


def format_delta(change: int) -> str:
    """Return a signed change for display: "+3", "−2" (a true minus sign) or "0"."""
    if change > 0:
        return f"+{change}"
    if change < 0:
        return f"{_MINUS}{-change}"
    return "0"


# --- inputs (loaded by the db layer) ---------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RepInfo:
    """A member of the team who gets a row in the report."""

    id: int
    name: str


@dataclass(frozen=True, slots=True)
class VisitRow:
    """One visit: who visited which customer, how and when (aware UTC)."""

    customer_id: int
    user_id: int
    method: Method
    at: datetime


@dataclass(frozen=True, slots=True)
class CustomerRow:
    """A customer of the team with the fields the report needs.

    `last_visit_at` and `next_follow_up_on` are the stored columns. `last_visit_before_window`
    is the latest visit before the earliest loaded visit (the previous week's Monday for
    `weekly_report`); it lets a past week be reconstructed for a customer visited again after
    that week. `completeness` is 0.0-1.0. `owner_id` is None for customers in the pool.
    """

    id: int
    name: str
    owner_id: int | None
    owner_name: str | None
    level: Level
    status: Status
    stage: Stage
    created_at: datetime
    last_visit_at: datetime | None
    next_follow_up_on: date | None
    completeness: float
    loss_reason: LossReason | None
    last_visit_before_window: datetime | None = None


@dataclass(frozen=True, slots=True)
class StageMove:
    """One entry of a customer's stage/status history.

    A side that did not change is None (or equal on both ends): a status-only change has
    `from_stage`/`to_stage` None. `reason` is the loss reason when the status became lost.
    """

    customer_id: int
    customer_name: str
    user_name: str
    from_stage: Stage | None
    to_stage: Stage | None
    from_status: Status | None
    to_status: Status | None
    reason: LossReason | None
    at: datetime
    user_id: int | None = None

    @property
    def stage_changed(self) -> bool:
        """Whether this entry moved the customer to another stage."""
        return self.to_stage is not None and self.to_stage != self.from_stage

    @property
    def status_changed(self) -> bool:
        """Whether this entry changed the customer's status."""
        return self.to_status is not None and self.to_status != self.from_status


# --- outputs ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Change:
    """A number for the week and the same number for the week before."""

    value: int
    previous: int

    @property
    def delta(self) -> int:
        """The change against the previous week."""
        return self.value - self.previous

    @property
    def delta_text(self) -> str:
        """The change formatted for display ("+3", "−2", "0")."""
        return format_delta(self.delta)


# Headline keys in display order; True where a rise is good news (renderers colour the delta).
HEADLINE_KEYS: tuple[tuple[str, bool], ...] = (
    ("visits", True),
    ("customers_touched", True),
    ("new_customers", True),
    ("won", True),
    ("lost", False),
    ("overdue", False),
)


@dataclass(frozen=True, slots=True)
class Headline:
    """The team's headline numbers for the week, each with last week's value."""

    visits: Change
    customers_touched: Change
    new_customers: Change
    won: Change
    lost: Change
    overdue: Change

    def items(self) -> tuple[tuple[str, Change, bool], ...]:
        """Return (key, change, rise_is_good) in display order."""
        return tuple((key, getattr(self, key), good) for key, good in HEADLINE_KEYS)


@dataclass(frozen=True, slots=True)
class RepRow:
    """One rep's numbers for a period (a week, or this week so far on the Team page).

    `a_coverage` and `completeness` are 0.0-1.0, or None when the rep has no such customers.
    """

    rep_id: int
    rep_name: str
    visits: int
    visits_by_method: Mapping[Method, int]
    customers_touched: int
    new_customers: int
    customers: int
    overdue: int
    a_customers: int
    a_covered: int
    a_coverage: float | None
    completeness: float | None
    won: int = 0

    @property
    def coverage_text(self) -> str:
        """A-level coverage as shown everywhere (Team page, report page, PDF)."""
        return coverage_text(self.a_covered, self.a_customers)

    @property
    def coverage_percent(self) -> str:
        """The percentage part of coverage_text (the Team page links it to the list)."""
        return coverage_percent(self.a_covered, self.a_customers)


@dataclass(frozen=True, slots=True)
class DayCount:
    """Visits on one local day."""

    day: date
    visits: int


@dataclass(frozen=True, slots=True)
class FunnelStep:
    """One stage of the funnel at the week's end.

    `active` and `lost` customers currently sit at this stage; `reached` counts every customer
    at this stage or a later one (lost ones included, they did get that far); `conversion` is
    the share of `reached` that went on to the next stage (None for the last stage or 0 reached).
    """

    stage: Stage
    active: int
    lost: int
    reached: int
    conversion: float | None

    @property
    def count(self) -> int:
        """All customers currently at this stage."""
        return self.active + self.lost


@dataclass(frozen=True, slots=True)
class LostRow:
    """A customer whose status became lost during the week."""

    customer_id: int
    customer_name: str
    owner_name: str | None
    level: Level | None
    stage: Stage | None
    reason: LossReason | None
    at: datetime
    by_name: str


@dataclass(frozen=True, slots=True)
class ReasonCount:
    """How many customers were lost for one reason."""

    reason: LossReason
    count: int


@dataclass(frozen=True, slots=True)
class SilentRow:
    """An owned, not-lost customer with no visit for at least twice its level's cadence."""

    customer_id: int
    customer_name: str
    owner_id: int | None
    owner_name: str | None
    level: Level
    last_visit_at: datetime | None
    days_silent: int
    threshold_days: int

    @property
    def never_visited(self) -> bool:
        """True when the customer has had no visit at all (days count from its creation)."""
        return self.last_visit_at is None


@dataclass(frozen=True, slots=True)
class PoolRow:
    """One rep's public pool moves in the week: claims, releases and returns."""

    rep_name: str
    claims: int
    releases: int
    returns: int


@dataclass(frozen=True, slots=True)
class WeeklyReport:
    """Everything the weekly report shows, ready to render as HTML or PDF."""

    team_name: str
    iso_year: int
    iso_week: int
    tz: tzinfo
    start: datetime
    end: datetime
    generated_at: datetime
    generated_by: str
    cadence_days: Mapping[Level, int]
    headline: Headline
    reps: tuple[RepRow, ...]
    visits_per_day: tuple[DayCount, ...]
    method_counts: Mapping[Method, int]
    funnel: tuple[FunnelStep, ...]
    moves: tuple[StageMove, ...]
    lost: tuple[LostRow, ...]
    lost_reasons: tuple[ReasonCount, ...]
    silent: tuple[SilentRow, ...]
    pool: tuple[PoolRow, ...] = ()  # filled from the pool events (db), one row per rep
    # Silent customers per level when `silent` holds only the most urgent ones (db limit).
    silent_counts: tuple[tuple[Level, int], ...] = ()

    @property
    def silent_by_level(self) -> tuple[tuple[Level, int], ...]:
        """Silent customers per level (levels with none left out), A first."""
        if self.silent_counts:
            return tuple((lv, n) for lv, n in self.silent_counts if n)
        counts = Counter(r.level for r in self.silent)
        return tuple((lv, counts[lv]) for lv in LEVEL_ORDER if counts[lv])

    @property
    def silent_total(self) -> int:
        """All silent customers, including any the list leaves out."""
        return sum(n for _, n in self.silent_by_level)

    @property
    def week_label(self) -> str:
        """The ISO week as "2026-W47"."""
        return format_iso_week(self.iso_year, self.iso_week)

    @property
    def first_day(self) -> date:
        """The week's Monday (local)."""
        return date.fromisocalendar(self.iso_year, self.iso_week, 1)

    @property
    def last_day(self) -> date:
        """The week's Sunday (local)."""
        return date.fromisocalendar(self.iso_year, self.iso_week, 7)


# --- one meaning of "won" ------------------------------------------------------------------

WON_STAGES: frozenset[Stage] = frozenset({Stage.WON, Stage.AFTER_SALES})


def is_won(stage: Stage | str, status: Status | str) -> bool:
    """Whether a customer counts as won: status won, or stage Won / After-sales, and not lost.

    Mark as won sets both the stage and the status; imported or old data may carry only one
    of them. Every count of won customers (report, Team page, pipeline board, PDF) asks this.
    """
    if status == Status.LOST:
        return False
    return status == Status.WON or stage in WON_STAGES


def report_stage(stage: Stage | str, status: Status | str) -> Stage:
    """The stage a customer is counted at: a won customer recorded below Won counts at Won."""
    stage = Stage(stage)
    if stage not in WON_STAGES and is_won(stage, status):
        return Stage.WON
    return stage


def _win_signal(m: "StageMove") -> bool:
    """Whether a history entry says the customer became won (from a not-won side)."""
    by_status = m.status_changed and m.to_status == Status.WON and m.from_status != Status.WON
    by_stage = m.stage_changed and m.to_stage in WON_STAGES and m.from_stage not in WON_STAGES
    return by_status or by_stage


def win_events(moves: Iterable["StageMove"]) -> tuple["StageMove", ...]:
    """Return the history entries that made a customer won: one per win, oldest first.

    A stage move to Won and the status change to won are one win, whichever comes first;
    a later loss (or any status other than won) ends it, so a customer won again counts
    again. `moves` should hold each customer's earlier history back to its last win.
    """
    by_customer: dict[int, list[StageMove]] = defaultdict(list)
    for m in moves:
        by_customer[m.customer_id].append(m)
    wins = []
    for history in by_customer.values():
        won = False
        for m in sorted(history, key=lambda m: m.at):
            if _win_signal(m):
                if not won:
                    wins.append(m)
                won = True
            elif m.status_changed and m.to_status != Status.WON:
                won = False
    return tuple(sorted(wins, key=lambda m: m.at))


def wins_in(
    moves: Iterable["StageMove"], start: datetime, end: datetime
) -> tuple["StageMove", ...]:
    """Return the wins (win_events) that fall in [start, end)."""
    return tuple(m for m in win_events(moves) if _in(m.at, start, end))


# --- stage moves as lines ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class MoveChange:
    """One side of a history entry for display: "stage" or "status", from (None: first) → to."""

    what: str
    before: str | None
    after: str


def move_changes(m: "StageMove") -> tuple[MoveChange, ...]:
    """Return what an entry changed (stage, then status); unchanged or empty sides are left out."""
    changes = []
    if m.stage_changed and m.to_stage is not None:
        changes.append(MoveChange("stage", m.from_stage, m.to_stage))
    if m.status_changed and m.to_status is not None:
        changes.append(MoveChange("status", m.from_status, m.to_status))
    return tuple(changes)


def coverage_percent(covered: int, total: int) -> str:
    """A-level coverage as "67%" (rounded half up), or "—" without A customers."""
    if not total:
        return "—"
    return f"{(200 * covered + total) // (2 * total)}%"


def coverage_text(covered: int, total: int) -> str:
    """A-level coverage as "67% (2/3)", or "—" without A customers: Team page, report, PDF."""
    if not total:
        return coverage_percent(covered, total)
    return f"{coverage_percent(covered, total)} ({covered}/{total})"


# --- cut-off times for aggregate queries -------------------------------------------------


def local_midnight(day: date, tz: tzinfo) -> datetime:
    """Return the UTC instant a local day begins."""
    return datetime.combine(day, time(), tzinfo=tz).astimezone(UTC)


@dataclass(frozen=True, slots=True)
class AsOfCuts:
    """The instants that decide, for a moment `at`, who is overdue, covered and silent.

    A customer last visited before `overdue_before[level]` was past its follow-up day at `at`
    (its due day, the visit's local day plus the cadence, lies before `at`'s local day); an
    A-level customer visited at or after `overdue_before[A]` is covered; one not visited
    since `silent_before[level]` (or created before it, never visited) is going silent.
    Aggregate queries compare stored times with these bound values, so no database needs
    date arithmetic, and the rules stay the ones of rep_rows / count_overdue / silent_customers.
    """

    at: datetime
    today: date
    overdue_before: Mapping[Level, datetime]
    silent_before: Mapping[Level, datetime]


def as_of_cuts(
    at: datetime, tz: tzinfo, cadence_days: Mapping[Level, int] = DEFAULT_CADENCE_DAYS
) -> AsOfCuts:
    """Return the cut-off instants for a moment (see AsOfCuts)."""
    today = _local_day(at, tz)
    last_day = _last_day_before(at, tz)
    return AsOfCuts(
        at=at,
        today=today,
        overdue_before={
            lv: local_midnight(today - timedelta(days=cadence_days[lv]), tz) for lv in Level
        },
        silent_before={
            lv: local_midnight(
                last_day - timedelta(days=SILENT_CADENCE_FACTOR * cadence_days[lv] - 1), tz
            )
            for lv in Level
        },
    )


def silent_row(
    *,
    customer_id: int,
    customer_name: str,
    owner_id: int | None,
    owner_name: str | None,
    level: Level,
    last_visit_at: datetime | None,
    created_at: datetime,
    at: datetime,
    tz: tzinfo,
    cadence_days: Mapping[Level, int] = DEFAULT_CADENCE_DAYS,
) -> SilentRow:
    """Return a silent customer's row: days from its last visit (or creation) to `at`'s eve."""
    since = last_visit_at if last_visit_at is not None else created_at
    return SilentRow(
        customer_id=customer_id,
        customer_name=customer_name,
        owner_id=owner_id,
        owner_name=owner_name,
        level=level,
        last_visit_at=last_visit_at,
        days_silent=(_last_day_before(at, tz) - _local_day(since, tz)).days,
        threshold_days=SILENT_CADENCE_FACTOR * cadence_days[level],
    )


def silent_sort_key(row: SilentRow) -> tuple:
    """The silent list's order: A, B, C, then the longest silence, then the name."""
    return (LEVEL_ORDER.index(row.level), -row.days_silent, row.customer_name)


# --- aggregates (what db/reports.py's GROUP BY queries return) ------------------------------


@dataclass(frozen=True, slots=True)
class OwnerTally:
    """One owner's customers as they stood at a moment (`owner_id` None: the public pool).

    `owned` customers existed then, `active` of them were not lost, `filled` sums their
    filled recommended fields; `new` were created in the period ending at the moment;
    `overdue`, `a_customers` and `a_covered` count active ones (see AsOfCuts).
    """

    owner_id: int | None
    owned: int
    active: int
    filled: int
    new: int
    overdue: int
    a_customers: int
    a_covered: int


@dataclass(frozen=True, slots=True)
class CustomerTally:
    """Customers of one owner, level, stage and status as of a moment (one GROUP BY row).

    `filled` sums their filled recommended fields; `new` were created in the period ending
    at the moment; `overdue`, `covered` (visited within the A cadence) and `silent` follow
    AsOfCuts and count regardless of status (owner_tallies leaves lost ones out).
    """

    owner_id: int | None
    level: Level
    stage: Stage
    status: Status
    customers: int
    filled: int
    new: int
    overdue: int
    covered: int
    silent: int


def owner_tallies(rows: Iterable[CustomerTally]) -> tuple[OwnerTally, ...]:
    """Fold the grouped rows into one tally per owner (the rules of rep_rows)."""
    sums: dict[int | None, list[int]] = defaultdict(lambda: [0] * 7)
    for r in rows:
        t = sums[r.owner_id]
        active = r.status != Status.LOST
        t[0] += r.customers
        t[1] += r.customers if active else 0
        t[2] += r.filled
        t[3] += r.new
        t[4] += r.overdue if active else 0
        t[5] += r.customers if active and r.level == Level.A else 0
        t[6] += r.covered if active and r.level == Level.A else 0
    return tuple(OwnerTally(owner, *t) for owner, t in sums.items())


def silent_counts(rows: Iterable[CustomerTally]) -> tuple[tuple[Level, int], ...]:
    """Silent customers per level, A first (the rows count only owned, not-lost ones)."""
    counts = Counter()
    for r in rows:
        counts[r.level] += r.silent
    return tuple((lv, counts[lv]) for lv in LEVEL_ORDER)


@dataclass(frozen=True, slots=True)
class VisitTally:
    """Visits by one user with one method on one day (0-6: Monday-Sunday; -1 the week before)."""

    user_id: int
    method: Method
    day: int
    visits: int


@dataclass(frozen=True, slots=True)
class WeekFigures:
    """A week's aggregates for the weekly report, as db/reports.py loads them."""

    tallies: tuple[CustomerTally, ...]  # at the week's end; `new` = created in the week
    tallies_before: tuple[CustomerTally, ...]  # at its start; `new` = created the week before
    visits: tuple[VisitTally, ...]
    touched: Mapping[int, int]  # distinct customers per user in the week
    touched_total: int
    touched_before: int
    moves: tuple[StageMove, ...]  # both weeks, oldest first
    win_history: tuple[StageMove, ...]  # earlier entries of customers with a win signal
    lost_customers: tuple[CustomerRow, ...]  # the customers lost in the week (names, owners)
    silent: tuple[SilentRow, ...]  # the most urgent ones, in silent_sort_key order


def rep_rows_from_tallies(
    reps: Sequence[RepInfo],
    owners: Iterable[OwnerTally],
    visits: Iterable[VisitTally],
    touched: Mapping[int, int],
    wins: Iterable[StageMove] = (),
) -> tuple[RepRow, ...]:
    """Return one row per rep from the aggregates of a period (the same rules as rep_rows)."""
    by_owner = {t.owner_id: t for t in owners}
    by_method: dict[int, Counter] = defaultdict(Counter)
    for v in visits:
        if v.day >= 0:
            by_method[v.user_id][v.method] += v.visits
    won = Counter(m.user_id for m in wins)
    rows = []
    for rep in reps:
        t = by_owner.get(rep.id) or OwnerTally(rep.id, 0, 0, 0, 0, 0, 0, 0)
        methods = by_method.get(rep.id, Counter())
        rows.append(
            RepRow(
                rep_id=rep.id,
                rep_name=rep.name,
                visits=sum(methods.values()),
                visits_by_method={m: methods.get(m, 0) for m in METHOD_ORDER},
                customers_touched=touched.get(rep.id, 0),
                new_customers=t.new,
                customers=t.active,
                overdue=t.overdue,
                a_customers=t.a_customers,
                a_covered=t.a_covered,
                a_coverage=t.a_covered / t.a_customers if t.a_customers else None,
                completeness=t.filled / (t.owned * len(RECOMMENDED_FIELDS)) if t.owned else None,
                won=won.get(rep.id, 0),
            )
        )
    return tuple(rows)


def weekly_report_from_figures(
    *,
    team_name: str,
    iso_year: int,
    iso_week: int,
    reps: Sequence[RepInfo],
    figures: WeekFigures,
    tz: tzinfo,
    cadence_days: Mapping[Level, int] = DEFAULT_CADENCE_DAYS,
    generated_at: datetime,
    generated_by: str,
) -> WeeklyReport:
    """Compute the weekly report from aggregates (the scalable twin of weekly_report)."""
    start, end = week_bounds(iso_year, iso_week, tz)
    prev_start, _ = week_bounds(*previous_week(iso_year, iso_week), tz)
    f = figures
    owners, owners_before = owner_tallies(f.tallies), owner_tallies(f.tallies_before)
    history = {id(m): m for m in (*f.win_history, *f.moves)}.values()
    wins = wins_in(history, start, end)
    prev_wins = wins_in(history, prev_start, start)
    week_visits = [v for v in f.visits if v.day >= 0]

    def losses(lo: datetime, hi: datetime) -> int:
        return len(
            {
                m.customer_id
                for m in f.moves
                if m.status_changed and m.to_status == Status.LOST and _in(m.at, lo, hi)
            }
        )

    headline = Headline(
        visits=Change(
            sum(v.visits for v in week_visits),
            sum(v.visits for v in f.visits) - sum(v.visits for v in week_visits),
        ),
        customers_touched=Change(f.touched_total, f.touched_before),
        new_customers=Change(sum(t.new for t in owners), sum(t.new for t in owners_before)),
        won=Change(len({m.customer_id for m in wins}), len({m.customer_id for m in prev_wins})),
        lost=Change(losses(start, end), losses(prev_start, start)),
        overdue=Change(
            sum(t.overdue for t in owners if t.owner_id is not None),
            sum(t.overdue for t in owners_before if t.owner_id is not None),
        ),
    )
    per_day = Counter()
    for v in week_visits:
        per_day[v.day] += v.visits
    days = week_days(iso_year, iso_week)
    methods = Counter()
    for v in week_visits:
        methods[v.method] += v.visits
    active, lost_at = Counter(), Counter()
    for t in f.tallies:
        (lost_at if t.status == Status.LOST else active)[report_stage(t.stage, t.status)] += (
            t.customers
        )
    lost = lost_customers(f.moves, f.lost_customers, start=start, end=end)
    return WeeklyReport(
        team_name=team_name,
        iso_year=iso_year,
        iso_week=iso_week,
        tz=tz,
        start=start,
        end=end,
        generated_at=generated_at,
        generated_by=generated_by,
        cadence_days=dict(cadence_days),
        headline=headline,
        reps=rep_rows_from_tallies(reps, owners, f.visits, f.touched, wins),
        visits_per_day=tuple(DayCount(d, per_day.get(i, 0)) for i, d in enumerate(days)),
        method_counts={m: methods.get(m, 0) for m in METHOD_ORDER},
        funnel=_funnel(active, lost_at),
        moves=tuple(m for m in f.moves if _in(m.at, start, end)),
        lost=lost,
        lost_reasons=loss_reason_counts(lost),
        silent=f.silent,
        silent_counts=silent_counts(f.tallies),
    )


# --- computation -----------------------------------------------------------------------------


def _local_day(at: datetime, tz: tzinfo) -> date:
    return at.astimezone(tz).date()


def _in(at: datetime, start: datetime, end: datetime) -> bool:
    return start <= at < end


def _a_covered(c: "CustomerRow", *, today: date, tz: tzinfo, days: int) -> bool:
    """Whether an A-level customer was visited within the A cadence (not overdue by it)."""
    if c.last_visit_at is None:
        return False
    return not _is_overdue(_local_day(c.last_visit_at, tz) + timedelta(days=days), today)


def _is_overdue(due: date | None, today: date) -> bool:
    # Due on its follow-up day, overdue after it (PRODUCT §5).
    return due is not None and due < today


def _last_day_before(end: datetime, tz: tzinfo) -> date:
    # The last local day of a half-open period [.., end): end itself is the next day's midnight.
    return _local_day(end - timedelta(microseconds=1), tz)


def customers_as_of(
    customers: Iterable[CustomerRow],
    *,
    visits: Iterable[VisitRow],
    moves: Iterable[StageMove] = (),
    at: datetime,
    tz: tzinfo,
    cadence_days: Mapping[Level, int] = DEFAULT_CADENCE_DAYS,
) -> tuple[CustomerRow, ...]:
    """Return the customers that existed at `at`, as they stood then.

    `last_visit_at` becomes the latest visit before `at` and `next_follow_up_on` the due day
    then; stage and status are rewound through the `moves` made at or after `at`. Level and
    owner are taken as they are now. For `at` = now this returns the rows unchanged.
    """
    times: dict[int, list[datetime]] = defaultdict(list)
    for visit in visits:
        times[visit.customer_id].append(visit.at)
    for ts in times.values():
        ts.sort()
    later_moves: dict[int, list[StageMove]] = defaultdict(list)
    for move in moves:
        if move.at >= at:
            later_moves[move.customer_id].append(move)

    cadence = dict(cadence_days)
    result = []
    for c in customers:
        if c.created_at >= at:
            continue
        # Any visit known to lie before `at` is a candidate; the latest one wins.
        candidates = []
        ts = times.get(c.id, ())
        i = bisect_left(ts, at)
        if i:
            candidates.append(ts[i - 1])
        if c.last_visit_at is not None and c.last_visit_at < at:
            candidates.append(c.last_visit_at)
        if c.last_visit_before_window is not None and c.last_visit_before_window < at:
            candidates.append(c.last_visit_before_window)
        last = max(candidates, default=None)

        if c.last_visit_at is None or c.last_visit_at < at:
            # No visit since `at`: the stored due day (which may be a hand-set next action)
            # is still the one that applied then.
            due = c.next_follow_up_on
        elif last is not None:
            due = next_follow_up(_local_day(last, tz), c.level, cadence)
        else:
            # First visited only after `at`: until then it was due one cadence after creation.
            due = next_follow_up(_local_day(c.created_at, tz), c.level, cadence)

        stage, status = c.stage, c.status
        # The earliest change after `at` tells what the value was at `at`.
        for move in sorted(later_moves.get(c.id, ()), key=lambda m: m.at, reverse=True):
            if move.stage_changed and move.from_stage is not None:
                stage = move.from_stage
            if move.status_changed and move.from_status is not None:
                status = move.from_status

        if (last, due, stage, status) != (c.last_visit_at, c.next_follow_up_on, c.stage, c.status):
            c = replace(c, last_visit_at=last, next_follow_up_on=due, stage=stage, status=status)
        result.append(c)
    return tuple(result)


def count_overdue(customers: Iterable[CustomerRow], *, at: datetime, tz: tzinfo) -> int:
    """Count owned, not-lost customers whose follow-up day had passed at `at` (rows as of `at`)."""
    today = _local_day(at, tz)
    return sum(
        1
        for c in customers
        if c.owner_id is not None
        and c.status != Status.LOST
        and _is_overdue(c.next_follow_up_on, today)
    )


def method_counts(visits: Iterable[VisitRow]) -> dict[Method, int]:
    """Count visits per method, every method present, in METHOD_ORDER."""
    counts = Counter(v.method for v in visits)
    return {m: counts.get(m, 0) for m in METHOD_ORDER}


def rep_rows(
    reps: Sequence[RepInfo],
    customers: Iterable[CustomerRow],
    visits: Iterable[VisitRow],
    *,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    cadence_days: Mapping[Level, int] = DEFAULT_CADENCE_DAYS,
    moves: Iterable[StageMove] = (),
) -> tuple[RepRow, ...]:
    """Return one row per rep for visits in [start, end) and customer state at `end`.

    `customers` must be as they stood at `end`: the current rows when `end` is now (the Team
    page's "this week so far"), else the result of `customers_as_of(..., at=end)`.
    Overdue, A-level coverage and completeness count the rep's own customers; a customer is
    covered when its last visit is within the A cadence (not overdue by cadence at `end`).
    """
    today = _local_day(end, tz)
    a_cadence = cadence_days[Level.A]
    by_user: dict[int, list[VisitRow]] = defaultdict(list)
    for v in visits:
        if _in(v.at, start, end):
            by_user[v.user_id].append(v)
    by_owner: dict[int, list[CustomerRow]] = defaultdict(list)
    for c in customers:
        if c.owner_id is not None and c.created_at < end:
            by_owner[c.owner_id].append(c)

    won = Counter(m.user_id for m in wins_in(moves, start, end))
    rows = []
    for rep in reps:
        rep_visits = by_user.get(rep.id, [])
        owned = by_owner.get(rep.id, [])
        active = [c for c in owned if c.status != Status.LOST]
        a_level = [c for c in active if c.level == Level.A]
        a_covered = sum(1 for c in a_level if _a_covered(c, today=today, tz=tz, days=a_cadence))
        rows.append(
            RepRow(
                rep_id=rep.id,
                rep_name=rep.name,
                visits=len(rep_visits),
                visits_by_method=method_counts(rep_visits),
                customers_touched=len({v.customer_id for v in rep_visits}),
                new_customers=sum(1 for c in owned if _in(c.created_at, start, end)),
                customers=len(active),
                overdue=sum(1 for c in active if _is_overdue(c.next_follow_up_on, today)),
                a_customers=len(a_level),
                a_covered=a_covered,
                a_coverage=a_covered / len(a_level) if a_level else None,
                completeness=sum(c.completeness for c in owned) / len(owned) if owned else None,
                won=won.get(rep.id, 0),
            )
        )
    return tuple(rows)


def visits_per_day(
    visits: Iterable[VisitRow], *, iso_year: int, iso_week: int, tz: tzinfo
) -> tuple[DayCount, ...]:
    """Count visits per local day of the week, Monday to Sunday (visits outside are ignored)."""
    counts = Counter(_local_day(v.at, tz) for v in visits)
    return tuple(DayCount(day, counts.get(day, 0)) for day in week_days(iso_year, iso_week))


def stage_funnel(customers: Iterable[CustomerRow]) -> tuple[FunnelStep, ...]:
    """Return the funnel in STAGE_ORDER with conversion between consecutive stages."""
    active = Counter()
    lost = Counter()
    for c in customers:
        (lost if c.status == Status.LOST else active)[report_stage(c.stage, c.status)] += 1
    return _funnel(active, lost)


def _funnel(active: Mapping[Stage, int], lost: Mapping[Stage, int]) -> tuple[FunnelStep, ...]:
    """Build the funnel steps from the customers (active and lost) at each stage."""
    reached = []
    running = 0
    for stage in reversed(STAGE_ORDER):
        running += active.get(stage, 0) + lost.get(stage, 0)
        reached.append(running)
    reached.reverse()
    steps = []
    for i, stage in enumerate(STAGE_ORDER):
        nxt = reached[i + 1] if i + 1 < len(STAGE_ORDER) else None
        conversion = nxt / reached[i] if nxt is not None and reached[i] else None
        steps.append(
            FunnelStep(stage, active.get(stage, 0), lost.get(stage, 0), reached[i], conversion)
        )
    return tuple(steps)


def lost_customers(
    moves: Iterable[StageMove],
    customers: Iterable[CustomerRow],
    *,
    start: datetime,
    end: datetime,
) -> tuple[LostRow, ...]:
    """Return customers whose status became lost in [start, end), latest loss per customer."""
    by_id = {c.id: c for c in customers}
    latest: dict[int, StageMove] = {}
    for m in moves:
        if m.status_changed and m.to_status == Status.LOST and _in(m.at, start, end):
            seen = latest.get(m.customer_id)
            if seen is None or m.at > seen.at:
                latest[m.customer_id] = m
    rows = []
    for m in sorted(latest.values(), key=lambda m: m.at):
        c = by_id.get(m.customer_id)
        rows.append(
            LostRow(
                customer_id=m.customer_id,
                customer_name=c.name if c else m.customer_name,
                owner_name=c.owner_name if c else None,
                level=c.level if c else None,
                stage=m.to_stage or m.from_stage or (c.stage if c else None),
                reason=m.reason or (c.loss_reason if c else None),
                at=m.at,
                by_name=m.user_name,
            )
        )
    return tuple(rows)


def loss_reason_counts(lost: Iterable[LostRow]) -> tuple[ReasonCount, ...]:
    """Count lost customers per reason, in LossReason order, leaving out reasons never given."""
    # Lost requires a reason; a missing one (old data) is counted as "other".
    counts = Counter(row.reason or LossReason.OTHER for row in lost)
    return tuple(ReasonCount(r, counts[r]) for r in LossReason if counts[r])


def silent_customers(
    customers: Iterable[CustomerRow],
    *,
    at: datetime,
    tz: tzinfo,
    cadence_days: Mapping[Level, int] = DEFAULT_CADENCE_DAYS,
) -> tuple[SilentRow, ...]:
    """Return owned, not-lost customers with no visit for 2x their cadence (rows as of `at`).

    Days count from the last visit's local day to the last day before `at` (a week's Sunday);
    a never-visited customer counts from its creation. Sorted A, B, C, then longest silence.
    """
    day = _last_day_before(at, tz)
    rows = []
    for c in customers:
        if c.owner_id is None or c.status == Status.LOST:
            continue
        since = c.last_visit_at if c.last_visit_at is not None else c.created_at
        days = (day - _local_day(since, tz)).days
        threshold = SILENT_CADENCE_FACTOR * cadence_days[c.level]
        if days >= threshold:
            rows.append(
                SilentRow(
                    customer_id=c.id,
                    customer_name=c.name,
                    owner_id=c.owner_id,
                    owner_name=c.owner_name,
                    level=c.level,
                    last_visit_at=c.last_visit_at,
                    days_silent=days,
                    threshold_days=threshold,
                )
            )
    rows.sort(key=silent_sort_key)
    return tuple(rows)


def weekly_report(
    *,
    team_name: str,
    iso_year: int,
    iso_week: int,
    reps: Sequence[RepInfo],
    customers: Sequence[CustomerRow],
    visits: Sequence[VisitRow],
    moves: Sequence[StageMove],
    tz: tzinfo,
    cadence_days: Mapping[Level, int] = DEFAULT_CADENCE_DAYS,
    generated_at: datetime,
    generated_by: str,
) -> WeeklyReport:
    """Compute the weekly report for one team and ISO week.

    `visits` and `moves` must cover the week and the week before (anything else is ignored,
    except later moves, which rewind stages and statuses to the week's end); `customers` are
    the team's current customer rows.
    """
    start, end = week_bounds(iso_year, iso_week, tz)
    # The previous week ends where this one starts (both are local midnights).
    prev_start, _ = week_bounds(*previous_week(iso_year, iso_week), tz)

    now_rows = customers_as_of(
        customers, visits=visits, moves=moves, at=end, tz=tz, cadence_days=cadence_days
    )
    prev_rows = customers_as_of(
        customers, visits=visits, moves=moves, at=start, tz=tz, cadence_days=cadence_days
    )
    week_visits = [v for v in visits if _in(v.at, start, end)]
    prev_visits = [v for v in visits if _in(v.at, prev_start, start)]

    def status_changes(to: Status, lo: datetime, hi: datetime) -> int:
        return len(
            {
                m.customer_id
                for m in moves
                if m.status_changed and m.to_status == to and _in(m.at, lo, hi)
            }
        )

    def created(lo: datetime, hi: datetime) -> int:
        return sum(1 for c in customers if _in(c.created_at, lo, hi))

    headline = Headline(
        visits=Change(len(week_visits), len(prev_visits)),
        customers_touched=Change(
            len({v.customer_id for v in week_visits}), len({v.customer_id for v in prev_visits})
        ),
        new_customers=Change(created(start, end), created(prev_start, start)),
        won=Change(
            len({m.customer_id for m in wins_in(moves, start, end)}),
            len({m.customer_id for m in wins_in(moves, prev_start, start)}),
        ),
        lost=Change(
            status_changes(Status.LOST, start, end), status_changes(Status.LOST, prev_start, start)
        ),
        overdue=Change(
            count_overdue(now_rows, at=end, tz=tz), count_overdue(prev_rows, at=start, tz=tz)
        ),
    )
    lost = lost_customers(moves, now_rows, start=start, end=end)
    return WeeklyReport(
        team_name=team_name,
        iso_year=iso_year,
        iso_week=iso_week,
        tz=tz,
        start=start,
        end=end,
        generated_at=generated_at,
        generated_by=generated_by,
        cadence_days=dict(cadence_days),
        headline=headline,
        reps=rep_rows(
            reps,
            now_rows,
            week_visits,
            start=start,
            end=end,
            tz=tz,
            cadence_days=cadence_days,
            moves=moves,
        ),
        visits_per_day=visits_per_day(week_visits, iso_year=iso_year, iso_week=iso_week, tz=tz),
        method_counts=method_counts(week_visits),
        funnel=stage_funnel(now_rows),
        moves=tuple(sorted((m for m in moves if _in(m.at, start, end)), key=lambda m: m.at)),
        lost=lost,
        lost_reasons=loss_reason_counts(lost),
        silent=silent_customers(now_rows, at=end, tz=tz, cadence_days=cadence_days),
    )


def rep_visits(
    rep_id: int, visits: Iterable[VisitRow], *, start: datetime, end: datetime
) -> list[VisitRow]:
    """Return one rep's visits in [start, end), newest first (the Team page's visit list)."""
    mine = (v for v in visits if v.user_id == rep_id and _in(v.at, start, end))
    return sorted(mine, key=lambda v: v.at, reverse=True)


DRILLDOWNS = ("visits", "touched", "new", "overdue", "a_uncovered")


def rep_drilldown(
    rep_id: int,
    what: str,
    customers: Iterable[CustomerRow],
    visits: Iterable[VisitRow],
    *,
    start: datetime,
    end: datetime,
    tz: tzinfo,
    cadence_days: Mapping[Level, int] = DEFAULT_CADENCE_DAYS,
) -> tuple[int, ...]:
    """Return the customer ids behind one number of a rep's row (same rules as rep_rows)."""
    if what not in DRILLDOWNS:
        raise ValueError(f"unknown drilldown {what!r}")
    today = _local_day(end, tz)
    if what in ("visits", "touched"):
        seen: dict[int, None] = {}
        for v in sorted(visits, key=lambda v: v.at, reverse=True):
            if v.user_id == rep_id and _in(v.at, start, end):
                seen.setdefault(v.customer_id, None)
        return tuple(seen)
    owned = [c for c in customers if c.owner_id == rep_id and c.created_at < end]
    if what == "new":
        return tuple(c.id for c in owned if _in(c.created_at, start, end))
    active = [c for c in owned if c.status != Status.LOST]
    if what == "overdue":
        late = [c for c in active if _is_overdue(c.next_follow_up_on, today)]
        return tuple(c.id for c in sorted(late, key=lambda c: c.next_follow_up_on))
    a_cadence = cadence_days[Level.A]
    return tuple(
        c.id
        for c in active
        if c.level == Level.A and not _a_covered(c, today=today, tz=tz, days=a_cadence)
    )
