"""The weekly report from GROUP BY queries equals the report computed from every row."""

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from db.models import Customer, StageChange, Visit
from db.reports import (
    report_customers,
    report_moves,
    report_period_rows,
    report_reps,
    report_visits,
    report_week_figures,
)
from domain.cadence import DEFAULT_CADENCE_DAYS
from domain.enums import STAGE_ORDER, Level, Method, Stage, Status
from domain.report import (
    customers_as_of,
    rep_rows,
    week_bounds,
    weekly_report,
    weekly_report_from_figures,
)
from tests import factories as make

SH = ZoneInfo("Asia/Shanghai")
YEAR, WEEK = 2026, 47
NOW = datetime(2026, 11, 25, 4, tzinfo=UTC)  # Wednesday of the week after


async def _world(db, seed: int):
    """A team with reps, a manager, pool customers, visits and history around the week."""
    rnd = random.Random(seed)
    team = await make.team(db)
    reps = [await make.user(db, team=team, name=f"销售{i}") for i in range(3)]
    manager = await make.user(db, role="manager", team=team, name="王经理")
    start, _end = week_bounds(YEAR, WEEK, SH)
    first = start - timedelta(days=60)
    for i in range(60):
        owner = rnd.choice([*reps, None, manager]) if i % 9 else None
        created = first + timedelta(days=rnd.uniform(0, 72))
        stage = rnd.choice(STAGE_ORDER[:5])
        status = rnd.choice([Status.POTENTIAL, Status.INTENT])
        c = Customer(
            number=f"C7{seed:02d}{i:05d}",
            name=f"客户{i:02d}",
            team_id=team.id,
            owner_id=owner.id if owner else None,
            level=rnd.choice(list(Level)),
            stage=stage,
            status=status,
            created_at=created,
            contact_name=rnd.choice(["", "李"]),
            email=rnd.choice(["", "a@b.cn"]),
            lat=rnd.choice([None, 31.2]),
            lng=121.4,
            tags=rnd.choice([[], ["VIP"]]),
            next_follow_up_on=rnd.choice([None, date(2026, 11, rnd.randint(1, 30))]),
        )
        db.add(c)
        await db.flush()
        visits = sorted(
            created + timedelta(hours=rnd.uniform(0, (NOW - created).total_seconds() / 3600))
            for _ in range(rnd.choice([0, 1, 2, 4, 8]))
        )
        for at in visits:
            user = rnd.choice([*reps, manager])
            db.add(
                Visit(
                    customer_id=c.id,
                    user_id=user.id,
                    outcome="met_interested",
                    method=rnd.choice(list(Method)),
                    at=at,
                    idempotency_key=make.new_key(),
                )
            )
        c.last_visit_at = visits[-1] if visits else None
        # History: a few stage steps, then perhaps won (stage and status at once) or lost.
        at = created
        current = Stage.LEAD
        for nxt in STAGE_ORDER[1 : STAGE_ORDER.index(stage) + 1]:
            at = at + timedelta(days=rnd.uniform(0.01, 9))
            if at >= NOW:  # the history stops where it has got to by now
                break
            db.add(
                StageChange(
                    customer_id=c.id,
                    user_id=owner.id if owner else None,
                    at=at,
                    from_stage=current,
                    to_stage=nxt,
                )
            )
            current = nxt
        c.stage = current
        fate = rnd.random()
        at = at + timedelta(days=rnd.uniform(0.01, 12))
        if fate < 0.2 and at < NOW:
            db.add(
                StageChange(
                    customer_id=c.id,
                    user_id=rnd.choice(reps).id,
                    at=at,
                    from_stage=current,
                    to_stage=Stage.WON,
                    from_status=status,
                    to_status=Status.WON,
                )
            )
            c.stage, c.status = Stage.WON, Status.WON
        elif fate < 0.35 and at < NOW:
            db.add(
                StageChange(
                    customer_id=c.id,
                    user_id=rnd.choice(reps).id,
                    at=at,
                    from_status=status,
                    to_status=Status.LOST,
                    reason="price",
                )
            )
            c.status, c.loss_reason = Status.LOST, "price"
        db.add(c)
    await db.commit()
    return team


async def _both(db, team):
    """The report computed from every row (the old way) and from the aggregates."""
    start, _end = week_bounds(YEAR, WEEK, SH)
    prev_start = start - timedelta(days=7)
    reps = await report_reps(db, team_id=team.id)
    common = dict(
        team_name=team.name,
        iso_year=YEAR,
        iso_week=WEEK,
        reps=reps,
        tz=SH,
        cadence_days=DEFAULT_CADENCE_DAYS,
        generated_at=NOW,
        generated_by="王经理",
    )
    rows = weekly_report(
        customers=await report_customers(db, team_id=team.id, before=prev_start),
        visits=await report_visits(db, team_id=team.id, start=prev_start, end=NOW),
        moves=await report_moves(db, team_id=team.id, start=prev_start),
        **common,
    )
    figures = await report_week_figures(
        db,
        team_id=team.id,
        iso_year=YEAR,
        iso_week=WEEK,
        tz=SH,
        cadence_days=DEFAULT_CADENCE_DAYS,
        silent_limit=10_000,
    )
    return rows, weekly_report_from_figures(figures=figures, **common)


def _without_completeness(rep_rows_):
    return [
        (
            r.rep_id,
            r.visits,
            dict(r.visits_by_method),
            r.customers_touched,
            r.new_customers,
            r.customers,
            r.overdue,
            r.a_customers,
            r.a_covered,
            r.won,
        )
        for r in rep_rows_
    ]


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_aggregate_report_equals_the_row_by_row_report(db, seed):
    team = await _world(db, seed)
    rows, agg = await _both(db, team)
    assert agg.headline == rows.headline
    assert _without_completeness(agg.reps) == _without_completeness(rows.reps)
    for a, r in zip(agg.reps, rows.reps, strict=True):
        assert a.completeness == pytest.approx(r.completeness)
    assert agg.visits_per_day == rows.visits_per_day
    assert dict(agg.method_counts) == dict(rows.method_counts)
    assert agg.funnel == rows.funnel
    assert agg.moves == rows.moves
    assert agg.lost == rows.lost
    assert agg.silent == rows.silent
    assert agg.silent_by_level == rows.silent_by_level
    assert agg.headline.visits.value > 0 and agg.silent  # the world is not empty


@pytest.mark.parametrize("seed", [4, 5])
async def test_team_page_rows_equal_the_row_by_row_rows(db, seed):
    team = await _world(db, seed)
    start, _ = week_bounds(YEAR, WEEK + 1, SH)
    reps = await report_reps(db, team_id=team.id)
    customers = await report_customers(db, team_id=team.id, before=start)
    visits = await report_visits(db, team_id=team.id, start=start, end=NOW)
    moves = await report_moves(db, team_id=team.id, start=start)
    expected = rep_rows(
        reps,
        customers_as_of(customers, visits=visits, moves=moves, at=NOW, tz=SH),
        visits,
        start=start,
        end=NOW,
        tz=SH,
        moves=moves,
    )
    got = await report_period_rows(
        db,
        team_id=team.id,
        reps=reps,
        start=start,
        end=NOW,
        tz=SH,
        cadence_days=DEFAULT_CADENCE_DAYS,
    )
    assert _without_completeness(got) == _without_completeness(expected)
