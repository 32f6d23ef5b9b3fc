"""Load what the Team page and the weekly report compute from: a few aggregate queries."""

from collections.abc import Mapping, Sequence
from datetime import datetime, tzinfo

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import aliased
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import sql_in_thread
from db.models import Customer, StageChange, User, Visit
from db.types import UTCDateTime
from domain.customers import RECOMMENDED_FIELDS, completeness
from domain.enums import Level, LossReason, Method, Role, Stage, Status
from domain.report import (
    WON_STAGES,
    AsOfCuts,
    CustomerRow,
    CustomerTally,
    RepInfo,
    RepRow,
    SilentRow,
    StageMove,
    VisitRow,
    VisitTally,
    WeekFigures,
    as_of_cuts,
    local_midnight,
    owner_tallies,
    previous_week,
    rep_rows_from_tallies,
    silent_row,
    silent_sort_key,
    week_bounds,
    week_days,
    wins_in,
)


async def _run_long(session: AsyncSession, stmt):
    """Run a report query (it scans a team's week or customers) off the event loop."""
    with sql_in_thread():
        return await session.execute(stmt)


async def report_reps(session: AsyncSession, *, team_id: int) -> list[RepInfo]:
    """Return the people whose work the team's numbers are about (reps and clerks)."""
    stmt = (
        select(User.id, User.name)
        .where(User.team_id == team_id, User.role.in_([Role.REP, Role.CLERK]))
        .order_by(User.name)
    )
    return [RepInfo(id=i, name=n) for i, n in (await _run_long(session, stmt)).all()]


async def report_customers(
    session: AsyncSession,
    *,
    team_id: int,
    before: datetime | None = None,
    owner_id: int | None = None,
    ids: Sequence[int] | None = None,
) -> list[CustomerRow]:
    """Return the team's customers (or one owner's, or a few) as report rows (one query).

    `last_visit_before_window` is the last visit before `before` when it is given.
    """
    owner = aliased(User)
    columns = [
        Customer.id,
        Customer.name,
        Customer.owner_id,
        owner.name,
        Customer.level,
        Customer.status,
        Customer.stage,
        Customer.created_at,
        Customer.last_visit_at,
        Customer.next_follow_up_on,
        Customer.loss_reason,
        Customer.contact_name,
        Customer.email,
        Customer.industry,
        Customer.needs,
        Customer.address,
        Customer.lat,
        Customer.lng,
        Customer.expected_amount_cents,
        Customer.tags,
    ]
    if before is not None:
        earlier = (
            select(func.max(Visit.at))
            .where(Visit.customer_id == Customer.id, Visit.at < before)
            .correlate(Customer)
            .scalar_subquery()
        )
        columns.append(earlier)
    stmt = (
        select(*columns)
        .outerjoin(owner, owner.id == Customer.owner_id)
        .where(Customer.team_id == team_id)
    )
    if owner_id is not None:
        stmt = stmt.where(Customer.owner_id == owner_id)
    if ids is not None:
        stmt = stmt.where(Customer.id.in_(list(ids)))
    rows = []
    for r in (await _run_long(session, stmt)).all():
        fields = {
            "contact_name": r[11],
            "email": r[12],
            "industry": r[13],
            "needs": r[14],
            "address": r[15],
            "lat": r[16],
            "lng": r[17],
            "expected_amount_cents": r[18],
            "tags": r[19],
            "next_follow_up_on": r[9],
        }
        rows.append(
            CustomerRow(
                id=r[0],
                name=r[1],
                owner_id=r[2],
                owner_name=r[3],
                level=Level(r[4]),
                status=Status(r[5]),
                stage=Stage(r[6]),
                created_at=r[7],
                last_visit_at=r[8],
                next_follow_up_on=r[9],
                completeness=completeness(fields),
                loss_reason=LossReason(r[10]) if r[10] else None,
                last_visit_before_window=r[20] if before is not None else None,
            )
        )
    return rows


async def report_visits(
    session: AsyncSession,
    *,
    team_id: int,
    start: datetime,
    end: datetime,
    user_id: int | None = None,
) -> list[VisitRow]:
    """Return the visits to the team's customers in [start, end) (by one user if given)."""
    stmt = (
        select(Visit.customer_id, Visit.user_id, Visit.method, Visit.at)
        .join(Customer, Customer.id == Visit.customer_id)
        .where(Customer.team_id == team_id, Visit.at >= start, Visit.at < end)
    )
    if user_id is not None:
        stmt = stmt.where(Visit.user_id == user_id)
    return [
        VisitRow(customer_id=c, user_id=u, method=Method(m), at=a)
        for c, u, m, a in (await _run_long(session, stmt)).all()
    ]


async def report_moves(
    session: AsyncSession,
    *,
    team_id: int,
    start: datetime,
    end: datetime | None = None,
    owner_id: int | None = None,
) -> list[StageMove]:
    """Return stage and status changes of the team's customers from `start` (to `end`)."""
    cond = [Customer.team_id == team_id, StageChange.at >= start]
    if end is not None:
        cond.append(StageChange.at < end)
    if owner_id is not None:
        cond.append(Customer.owner_id == owner_id)
    return await _moves(session, cond)


async def _moves(session: AsyncSession, cond: list) -> list[StageMove]:
    """History entries matching `cond` with customer and mover names, oldest first."""
    stmt = (
        select(StageChange, Customer.name, User.name)
        .join(Customer, Customer.id == StageChange.customer_id)
        .outerjoin(User, User.id == StageChange.user_id)
        .where(and_(*cond))
        .order_by(StageChange.at, StageChange.id)
    )
    moves = []
    for m, customer_name, user_name in (await _run_long(session, stmt)).all():
        moves.append(
            StageMove(
                customer_id=m.customer_id,
                customer_name=customer_name,
                user_name=user_name or "",
                from_stage=Stage(m.from_stage) if m.from_stage else None,
                to_stage=Stage(m.to_stage) if m.to_stage else None,
                from_status=Status(m.from_status) if m.from_status else None,
                to_status=Status(m.to_status) if m.to_status else None,
                reason=LossReason(m.reason) if m.reason else None,
                at=m.at,
                user_id=m.user_id,
            )
        )
    return moves


# --- aggregates: the weekly report and the Team page without loading every customer --------
#
# Each customer is taken "as of" a moment `at`: its last visit before `at`, its stage and
# status then (the first history entry at or after `at` tells what they were), and whether it
# was overdue, covered or silent, decided by comparing stored times with the bound instants
# of domain.report.AsOfCuts. Only portable SQL: CASE, COALESCE, correlated MAX, row_number().


def _dt(value: datetime):
    """A bound instant typed like the stored times (SQLite compares their text form)."""
    return literal(value, UTCDateTime())


def _by_level(values: Mapping[Level, datetime], level_col):
    """CASE level WHEN 'A' THEN cut_A ... : the cut-off instant of each customer's level."""
    return case(*((level_col == str(lv), _dt(v)) for lv, v in values.items()), else_=None)


def _first_change_after(col_from, col_to, at: datetime):
    """The `from` side of a customer's first entry at or after `at` that changed a column.

    A correlated lookup (an index seek per customer) rather than a join: a join against the
    derived table of later entries makes SQLite scan that table once per customer.
    """
    return (
        select(col_from)
        .where(
            StageChange.customer_id == Customer.id,
            StageChange.at >= at,
            col_from.is_not(None),
            col_to.is_not(None),
            col_from != col_to,
        )
        .order_by(StageChange.at, StageChange.id)
        .limit(1)
        .correlate(Customer)
        .scalar_subquery()
    )


def _then(later, value_then, value_now):
    """The value as it was: looked up for customers changed since, else the stored one."""
    return case((later, func.coalesce(value_then, value_now)), else_=value_now)


def counted_stage():
    """SQL twin of domain.report.report_stage: a won customer recorded below Won counts at Won."""
    below_won = Customer.stage.not_in([str(s) for s in WON_STAGES])
    won = and_(Customer.status == Status.WON.value, below_won)
    return case((won, Stage.WON.value), else_=Customer.stage)


def _filled_fields():
    """How many of domain.customers.RECOMMENDED_FIELDS a row has filled (the same rule)."""

    def text(col):
        return func.trim(func.coalesce(col, "")) != ""

    filled = {
        "contact_name": text(Customer.contact_name),
        "email": text(Customer.email),
        "industry": text(Customer.industry),
        "needs": text(Customer.needs),
        "address": text(Customer.address),
        "location": and_(Customer.lat.is_not(None), Customer.lng.is_not(None)),
        "expected_amount_cents": Customer.expected_amount_cents.is_not(None),
        "tags": func.coalesce(func.json_array_length(Customer.tags), 0) > 0,
        "next_follow_up_on": Customer.next_follow_up_on.is_not(None),
    }
    if set(filled) != set(RECOMMENDED_FIELDS):  # a new recommended field must be taught here
        raise RuntimeError("db.reports._filled_fields is out of date with RECOMMENDED_FIELDS")
    return sum((case((cond, 1), else_=0) for cond in filled.values()), literal(0))


def _as_of(team_id: int, cuts: AsOfCuts, owner_id: int | None = None):
    """The team's customers that existed at `cuts.at`, as they stood then (a subquery)."""
    at = cuts.at
    # Only customers with history since `at` look it up (most have none).
    later = Customer.id.in_(select(StageChange.customer_id).where(StageChange.at >= at))
    stage_then = _first_change_after(StageChange.from_stage, StageChange.to_stage, at)
    status_then = _first_change_after(StageChange.from_status, StageChange.to_status, at)
    # Visited since `at`: the visit before it comes from one grouped lookup (an index seek
    # per such customer); for everyone else the stored last visit is it.
    since = (
        select(Customer.id)
        .where(Customer.team_id == team_id, Customer.last_visit_at >= at)
        .scalar_subquery()
    )
    earlier = (
        select(Visit.customer_id.label("cid"), func.max(Visit.at).label("at"))
        .where(Visit.customer_id.in_(since), Visit.at < at)
        .group_by(Visit.customer_id)
        .subquery()
    )
    last = case(
        (Customer.last_visit_at.is_(None), None),
        (Customer.last_visit_at < at, Customer.last_visit_at),
        else_=earlier.c.at,
    )
    stored_due = or_(Customer.last_visit_at.is_(None), Customer.last_visit_at < at)
    cond = [Customer.team_id == team_id, Customer.created_at < at]
    if owner_id is not None:
        cond.append(Customer.owner_id == owner_id)
    return (
        select(
            Customer.id.label("id"),
            Customer.name.label("name"),
            Customer.owner_id.label("owner_id"),
            Customer.level.label("level"),
            Customer.created_at.label("created_at"),
            Customer.next_follow_up_on.label("due"),
            stored_due.label("stored_due"),
            last.label("last"),
            _then(later, stage_then, Customer.stage).label("stage"),
            _then(later, status_then, Customer.status).label("status"),
            _filled_fields().label("filled"),
        )
        .outerjoin(earlier, earlier.c.cid == Customer.id)
        .where(*cond)
        .subquery()
    )


def _overdue(b, cuts: AsOfCuts):
    """Whether a row of _as_of was past its follow-up day at the moment (domain rule)."""
    cut = _by_level(cuts.overdue_before, b.c.level)
    return or_(
        and_(b.c.stored_due, b.c.due.is_not(None), b.c.due < cuts.today),
        and_(~b.c.stored_due, b.c.last.is_not(None), b.c.last < cut),
        and_(~b.c.stored_due, b.c.last.is_(None), b.c.created_at < cut),
    )


def _count(cond):
    return func.coalesce(func.sum(case((cond, 1), else_=0)), 0)


def _silent(b, cuts: AsOfCuts):
    """Whether a row of _as_of was going silent at the moment (owned, not lost, long unvisited)."""
    since = func.coalesce(b.c.last, b.c.created_at)
    return and_(
        b.c.owner_id.is_not(None),
        b.c.status != Status.LOST.value,
        since < _by_level(cuts.silent_before, b.c.level),
    )


async def report_tallies(
    session: AsyncSession, *, team_id: int, start: datetime, cuts: AsOfCuts
) -> list[CustomerTally]:
    """The team's customers as of `cuts.at`, counted by owner, level, stage and status.

    One GROUP BY over the as-of rows gives the per-rep numbers, the funnel and the silent
    counts together; `new` counts customers created in [start, at).
    """
    b = _as_of(team_id, cuts)
    keys = (b.c.owner_id, b.c.level, b.c.stage, b.c.status)
    covered = b.c.last >= _dt(cuts.overdue_before[Level.A])
    stmt = select(
        *keys,
        func.count(),
        func.coalesce(func.sum(b.c.filled), 0),
        _count(b.c.created_at >= start),
        _count(_overdue(b, cuts)),
        _count(covered),
        _count(_silent(b, cuts)),
    ).group_by(*keys)
    return [
        CustomerTally(
            owner_id=r[0],
            level=Level(r[1]),
            stage=Stage(r[2]),
            status=Status(r[3]),
            customers=int(r[4]),
            filled=int(r[5]),
            new=int(r[6]),
            overdue=int(r[7]),
            covered=int(r[8]),
            silent=int(r[9]),
        )
        for r in await _all(session, stmt)
    ]


async def _all(session: AsyncSession, stmt) -> list:
    return list((await _run_long(session, stmt)).all())


async def report_silent(
    session: AsyncSession,
    *,
    team_id: int,
    cuts: AsOfCuts,
    tz: tzinfo,
    cadence_days: Mapping[Level, int],
    limit: int,
) -> list[SilentRow]:
    """The most urgent `limit` silent customers as of `cuts.at` (silent_sort_key order)."""
    b = _as_of(team_id, cuts)
    since = func.coalesce(b.c.last, b.c.created_at)
    owner = aliased(User)
    stmt = (
        select(b.c.id, b.c.name, b.c.owner_id, owner.name, b.c.level, b.c.last, b.c.created_at)
        .outerjoin(owner, owner.id == b.c.owner_id)
        .where(_silent(b, cuts))
        .order_by(b.c.level, since, b.c.name, b.c.id)
        .limit(limit)
    )
    rows = [
        silent_row(
            customer_id=r[0],
            customer_name=r[1],
            owner_id=r[2],
            owner_name=r[3],
            level=Level(r[4]),
            last_visit_at=r[5],
            created_at=r[6],
            at=cuts.at,
            tz=tz,
            cadence_days=cadence_days,
        )
        for r in await _all(session, stmt)
    ]
    rows.sort(key=silent_sort_key)
    return rows


def _day_bucket(at_col, days: Sequence[datetime]):
    """-1 before the first bound, else the index of the local day (bounds: each midnight)."""
    whens = [(at_col < _dt(bound), i - 1) for i, bound in enumerate(days)]
    return case(*whens, else_=len(days) - 1)


async def report_visit_tallies(
    session: AsyncSession,
    *,
    team_id: int,
    prev_start: datetime,
    day_starts: Sequence[datetime],
    end: datetime,
) -> list[VisitTally]:
    """Visits to the team's customers per user, method and day of the week (-1: before it)."""
    bucket = _day_bucket(Visit.at, day_starts).label("day")
    stmt = (
        select(Visit.user_id, Visit.method, bucket, func.count())
        .join(Customer, Customer.id == Visit.customer_id)
        .where(Customer.team_id == team_id, Visit.at >= prev_start, Visit.at < end)
        .group_by(Visit.user_id, Visit.method, bucket)
    )
    return [VisitTally(u, Method(m), int(d), int(n)) for u, m, d, n in await _all(session, stmt)]


async def report_touched(
    session: AsyncSession, *, team_id: int, prev_start: datetime, start: datetime, end: datetime
) -> tuple[dict[int, int], int, int]:
    """Distinct customers visited per user in [start, end); by anyone then, and the week before."""
    in_team = [Customer.team_id == team_id, Visit.customer_id == Customer.id]
    per_user = (
        select(Visit.user_id, func.count(func.distinct(Visit.customer_id)))
        .where(*in_team, Visit.at >= start, Visit.at < end)
        .group_by(Visit.user_id)
    )
    week = case((Visit.at >= start, Visit.customer_id), else_=None)
    before = case((Visit.at < start, Visit.customer_id), else_=None)
    totals = select(func.count(func.distinct(week)), func.count(func.distinct(before))).where(
        *in_team, Visit.at >= prev_start, Visit.at < end
    )
    touched = {u: int(n) for u, n in await _all(session, per_user)}
    week_n, before_n = (await _all(session, totals))[0]
    return touched, int(week_n or 0), int(before_n or 0)


def _is_win_signal():
    """History entries that may make a customer won (domain.report decides which do)."""
    won_stages = [str(s) for s in WON_STAGES]
    return or_(StageChange.to_status == Status.WON.value, StageChange.to_stage.in_(won_stages))


async def report_win_history(
    session: AsyncSession, *, team_id: int, start: datetime, end: datetime
) -> list[StageMove]:
    """Every entry before `end` of the team's customers with a possible win in [start, end)."""
    candidates = (
        select(StageChange.customer_id)
        .join(Customer, Customer.id == StageChange.customer_id)
        .where(
            Customer.team_id == team_id,
            StageChange.at >= start,
            StageChange.at < end,
            _is_win_signal(),
        )
    )
    return await _moves(session, [StageChange.customer_id.in_(candidates), StageChange.at < end])


async def report_lost_rows(
    session: AsyncSession, *, team_id: int, customer_ids: Sequence[int]
) -> list[CustomerRow]:
    """The report rows of a few customers (those lost in the week)."""
    if not customer_ids:
        return []
    return await report_customers(session, team_id=team_id, ids=customer_ids)


async def report_week_figures(
    session: AsyncSession,
    *,
    team_id: int,
    iso_year: int,
    iso_week: int,
    tz: tzinfo,
    cadence_days: Mapping[Level, int],
    silent_limit: int,
) -> WeekFigures:
    """Load a week's aggregates (and the week before's) for the weekly report."""
    start, end = week_bounds(iso_year, iso_week, tz)
    prev_start, _ = week_bounds(*previous_week(iso_year, iso_week), tz)
    at_end = as_of_cuts(end, tz, cadence_days)
    at_start = as_of_cuts(start, tz, cadence_days)
    moves = await report_moves(session, team_id=team_id, start=prev_start, end=end)
    lost_ids = {m.customer_id for m in moves if m.to_status == Status.LOST and m.at >= start}
    touched, touched_total, touched_before = await report_touched(
        session, team_id=team_id, prev_start=prev_start, start=start, end=end
    )
    silent = await report_silent(
        session, team_id=team_id, cuts=at_end, tz=tz, cadence_days=cadence_days, limit=silent_limit
    )
    days = [local_midnight(d, tz) for d in week_days(iso_year, iso_week)]
    return WeekFigures(
        tallies=tuple(await report_tallies(session, team_id=team_id, start=start, cuts=at_end)),
        tallies_before=tuple(
            await report_tallies(session, team_id=team_id, start=prev_start, cuts=at_start)
        ),
        visits=tuple(
            await report_visit_tallies(
                session, team_id=team_id, prev_start=prev_start, day_starts=days, end=end
            )
        ),
        touched=touched,
        touched_total=touched_total,
        touched_before=touched_before,
        moves=tuple(moves),
        win_history=tuple(
            await report_win_history(session, team_id=team_id, start=prev_start, end=end)
        ),
        lost_customers=tuple(
            await report_lost_rows(session, team_id=team_id, customer_ids=sorted(lost_ids))
        ),
        silent=tuple(silent),
    )


async def report_period_rows(
    session: AsyncSession,
    *,
    team_id: int,
    reps: Sequence[RepInfo],
    start: datetime,
    end: datetime,
    tz: tzinfo,
    cadence_days: Mapping[Level, int],
) -> tuple[RepRow, ...]:
    """The Team page's rows: visits in [start, end) and customers as of `end`, aggregated."""
    cuts = as_of_cuts(end, tz, cadence_days)
    owners = owner_tallies(await report_tallies(session, team_id=team_id, start=start, cuts=cuts))
    visits = await report_visit_tallies(
        session, team_id=team_id, prev_start=start, day_starts=[start], end=end
    )
    touched, _, _ = await report_touched(
        session, team_id=team_id, prev_start=start, start=start, end=end
    )
    history = await report_win_history(session, team_id=team_id, start=start, end=end)
    return rep_rows_from_tallies(reps, owners, visits, touched, wins_in(history, start, end))
