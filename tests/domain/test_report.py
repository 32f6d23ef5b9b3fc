"""Weekly report arithmetic on a hand-built week, ISO-week helpers and local day boundaries."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.enums import Level, LossReason, Method, Stage, Status
from domain.report import (
    Change,
    CustomerRow,
    RepInfo,
    StageMove,
    VisitRow,
    customers_as_of,
    format_delta,
    format_iso_week,
    iso_weeks_in_year,
    last_complete_week,
    parse_iso_week,
    previous_week,
    rep_rows,
    silent_customers,
    stage_funnel,
    week_bounds,
    weekly_report,
)

SH = ZoneInfo("Asia/Shanghai")
GENERATED = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)


def sh(month: int, day: int, hour: int = 10, minute: int = 0, year: int = 2026) -> datetime:
    """A Shanghai wall-clock time as aware UTC, the way the db hands times over."""
    return datetime(year, month, day, hour, minute, tzinfo=SH).astimezone(UTC)


def customer(cid: int, name: str, owner: RepInfo | None, level: Level, **kw) -> CustomerRow:
    """A customer row with harmless defaults."""
    values = {
        "status": Status.POTENTIAL,
        "stage": Stage.LEAD,
        "created_at": sh(1, 5),
        "last_visit_at": None,
        "next_follow_up_on": None,
        "completeness": 0.5,
        "loss_reason": None,
    }
    values.update(kw)
    return CustomerRow(
        id=cid,
        name=name,
        owner_id=owner.id if owner else None,
        owner_name=owner.name if owner else None,
        level=level,
        **values,
    )


ZHANG = RepInfo(1, "张伟")
LI = RepInfo(2, "李娜")
MANAGER_ID = 99

# 2026-W47 runs from Monday 16 November to Sunday 22 November (Shanghai time).
CUSTOMERS = (
    # A, visited Monday 00:10 (just inside the week) and Friday; moved to proposal on Tuesday.
    customer(
        101,
        "华东机械",
        ZHANG,
        Level.A,
        stage=Stage.PROPOSAL,
        status=Status.INTENT,
        last_visit_at=sh(11, 20),
        next_follow_up_on=date(2026, 11, 23),
        completeness=0.9,
        last_visit_before_window=sh(11, 5),
    ),
    # A, last visited in the previous week: overdue and silent at the week's end.
    customer(
        102,
        "Acme Trading",
        ZHANG,
        Level.A,
        last_visit_at=sh(11, 10),
        next_follow_up_on=date(2026, 11, 13),
    ),
    # B, visited Sunday 23:30 (in the week) and Monday 00:30 (the next week); won afterwards.
    customer(
        103,
        "上海华东机械有限公司",
        LI,
        Level.B,
        stage=Stage.WON,
        status=Status.WON,
        last_visit_at=sh(11, 23, 0, 30),
        next_follow_up_on=date(2026, 11, 30),
        completeness=0.8,
        last_visit_before_window=sh(11, 8),
    ),
    # C, lost on Wednesday for price: left out of overdue and silent.
    customer(
        104,
        "<b>x</b>",
        LI,
        Level.C,
        stage=Stage.PROPOSAL,
        status=Status.LOST,
        loss_reason=LossReason.PRICE,
        last_visit_at=sh(11, 17),
        next_follow_up_on=date(2026, 12, 1),
        completeness=0.6,
        last_visit_before_window=sh(9, 1),
    ),
    # C, created on Tuesday, never visited.
    customer(
        105,
        "新客户",
        LI,
        Level.C,
        created_at=sh(11, 17),
        next_follow_up_on=date(2026, 12, 1),
        completeness=0.3,
    ),
    # B, silent since 1 October but visited again after the week.
    customer(
        106,
        "Silent Co",
        ZHANG,
        Level.B,
        stage=Stage.FIRST_CONTACT,
        last_visit_at=sh(11, 24),
        next_follow_up_on=date(2026, 12, 1),
        completeness=0.4,
        last_visit_before_window=sh(10, 1),
    ),
    # In the pool: nobody's overdue or silent customer.
    customer(
        107, "Pool Ltd", None, Level.A, last_visit_at=sh(6, 1), next_follow_up_on=date(2026, 6, 4)
    ),
    # B, won on Thursday after a store visit.
    customer(
        108,
        "Won Corp",
        ZHANG,
        Level.B,
        stage=Stage.WON,
        status=Status.WON,
        last_visit_at=sh(11, 19),
        next_follow_up_on=date(2026, 11, 26),
        completeness=1.0,
        last_visit_before_window=sh(11, 12),
    ),
    # C, created in the previous week, last visited Sunday 23:50 of the previous week.
    customer(
        109,
        "Prev New",
        LI,
        Level.C,
        stage=Stage.FIRST_CONTACT,
        created_at=sh(11, 12),
        last_visit_at=sh(11, 15, 23, 50),
        next_follow_up_on=date(2026, 11, 29),
        completeness=0.5,
    ),
    # Lost in the previous week.
    customer(
        110,
        "Prev Lost",
        ZHANG,
        Level.C,
        stage=Stage.NEEDS_CONFIRMED,
        status=Status.LOST,
        loss_reason=LossReason.COMPETITOR,
        completeness=0.2,
    ),
)


def visit(cid: int, user: int, method: Method, at: datetime) -> VisitRow:
    """A visit row."""
    return VisitRow(customer_id=cid, user_id=user, method=method, at=at)


VISITS = (
    # previous week (2026-W46)
    visit(102, 1, Method.FIELD, sh(11, 10)),
    visit(109, 2, Method.MESSAGE, sh(11, 12)),
    visit(109, 2, Method.MESSAGE, sh(11, 15, 23, 50)),
    # this week
    visit(101, 1, Method.FIELD, sh(11, 16, 0, 10)),
    visit(104, MANAGER_ID, Method.MESSAGE, sh(11, 17)),
    visit(108, 1, Method.STORE, sh(11, 19)),
    visit(101, 1, Method.PHONE, sh(11, 20)),
    visit(103, 2, Method.FIELD, sh(11, 22, 23, 30)),
    # next week: ignored, but must not disturb the reconstruction
    visit(103, 2, Method.FIELD, sh(11, 23, 0, 30)),
    visit(106, 1, Method.FIELD, sh(11, 24)),
)


def move(cid: int, name: str, by: str, at: datetime, **kw) -> StageMove:
    """A history entry; unchanged sides stay None."""
    values = dict.fromkeys(("from_stage", "to_stage", "from_status", "to_status", "reason"))
    values.update(kw)
    return StageMove(customer_id=cid, customer_name=name, user_name=by, at=at, **values)


MOVES = (
    move(
        110,
        "Prev Lost",
        "张伟",
        sh(11, 11),
        from_status=Status.INTENT,
        to_status=Status.LOST,
        reason=LossReason.COMPETITOR,
    ),
    move(
        101,
        "华东机械",
        "张伟",
        sh(11, 17, 9),
        from_stage=Stage.NEEDS_CONFIRMED,
        to_stage=Stage.PROPOSAL,
    ),
    move(
        104,
        "<b>x</b>",
        "李娜",
        sh(11, 18),
        from_status=Status.INTENT,
        to_status=Status.LOST,
        reason=LossReason.PRICE,
    ),
    move(
        108,
        "Won Corp",
        "张伟",
        sh(11, 19, 15),
        from_stage=Stage.NEGOTIATION,
        to_stage=Stage.WON,
        from_status=Status.INTENT,
        to_status=Status.WON,
    ),
    # after the week: rewound so the funnel shows 103 in negotiation at the week's end
    move(
        103,
        "上海华东机械有限公司",
        "李娜",
        sh(11, 24),
        from_stage=Stage.NEGOTIATION,
        to_stage=Stage.WON,
        from_status=Status.INTENT,
        to_status=Status.WON,
    ),
)


@pytest.fixture(scope="module")
def report():
    """The report for 2026-W47 built from the data above."""
    return weekly_report(
        team_name="华东销售一组",
        iso_year=2026,
        iso_week=47,
        reps=(ZHANG, LI),
        customers=CUSTOMERS,
        visits=VISITS,
        moves=MOVES,
        tz=SH,
        generated_at=GENERATED,
        generated_by="王经理",
    )


def test_week_bounds_are_shanghai_midnights(report):
    assert report.start == datetime(2026, 11, 15, 16, tzinfo=UTC)
    assert report.end == datetime(2026, 11, 22, 16, tzinfo=UTC)
    assert report.week_label == "2026-W47"
    assert (report.first_day, report.last_day) == (date(2026, 11, 16), date(2026, 11, 22))


def test_headline_numbers_and_changes(report):
    h = report.headline
    assert h.visits == Change(5, 3)
    assert h.customers_touched == Change(4, 2)
    assert h.new_customers == Change(1, 1)
    assert h.won == Change(1, 0)
    assert h.lost == Change(1, 1)
    # end: 102 and 106; start: also 101 and 103 (last visits before the window) and 104
    # (still intent then).
    assert h.overdue == Change(2, 5)
    assert h.overdue.delta_text == "\N{MINUS SIGN}3"
    assert [key for key, _, _ in h.items()] == [
        "visits",
        "customers_touched",
        "new_customers",
        "won",
        "lost",
        "overdue",
    ]


def test_rep_rows(report):
    zhang, li = report.reps
    assert zhang.rep_name == "张伟"
    assert zhang.visits == 3
    assert dict(zhang.visits_by_method) == {
        Method.FIELD: 1,
        Method.PHONE: 1,
        Method.STORE: 1,
        Method.MESSAGE: 0,
        Method.EMAIL: 0,
    }
    assert zhang.customers_touched == 2
    assert zhang.new_customers == 0
    assert zhang.customers == 4
    assert zhang.overdue == 2
    # 101 visited Friday is within 3 days of the week's end, 102 is not.
    assert (zhang.a_customers, zhang.a_covered, zhang.a_coverage) == (2, 1, 0.5)
    assert zhang.completeness == pytest.approx((0.9 + 0.5 + 0.4 + 1.0 + 0.2) / 5)

    # The Sunday 23:30 visit counts, the Monday 00:30 one belongs to the next week.
    assert li.visits == 1
    assert li.visits_by_method[Method.FIELD] == 1
    assert li.customers_touched == 1
    assert li.new_customers == 1
    assert li.overdue == 0
    assert (li.a_customers, li.a_coverage) == (0, None)
    assert li.completeness == pytest.approx((0.8 + 0.6 + 0.3 + 0.5) / 4)


def test_visits_per_day_use_local_days(report):
    days = [(d.day.day, d.visits) for d in report.visits_per_day]
    assert days == [(16, 1), (17, 1), (18, 0), (19, 1), (20, 1), (21, 0), (22, 1)]
    assert sum(report.method_counts.values()) == 5
    assert report.method_counts[Method.MESSAGE] == 1


def test_funnel_at_week_end(report):
    steps = {s.stage: s for s in report.funnel}
    assert [s.stage for s in report.funnel] == list(Stage)
    assert (steps[Stage.LEAD].active, steps[Stage.LEAD].reached) == (3, 10)
    assert steps[Stage.NEEDS_CONFIRMED].lost == 1
    assert (steps[Stage.PROPOSAL].active, steps[Stage.PROPOSAL].lost) == (1, 1)
    # 103 was still negotiating when the week ended.
    assert steps[Stage.NEGOTIATION].count == 1
    assert steps[Stage.WON].count == 1
    assert [s.reached for s in report.funnel] == [10, 7, 5, 4, 2, 1, 0]
    assert [s.conversion for s in report.funnel] == [0.7, 5 / 7, 0.8, 0.5, 0.5, 0.0, None]


def test_moves_and_lost_customers(report):
    assert [m.customer_id for m in report.moves] == [101, 104, 108]
    (lost,) = report.lost
    assert (lost.customer_name, lost.owner_name, lost.by_name) == ("<b>x</b>", "李娜", "李娜")
    assert (lost.reason, lost.stage) == (LossReason.PRICE, Stage.PROPOSAL)
    assert [(r.reason, r.count) for r in report.lost_reasons] == [(LossReason.PRICE, 1)]


def test_silent_customers(report):
    rows = [(r.customer_id, r.level, r.days_silent, r.owner_name) for r in report.silent]
    assert rows == [(102, Level.A, 12, "张伟"), (106, Level.B, 52, "张伟")]
    assert report.silent[0].threshold_days == 6


def test_customers_as_of_rewinds_visits_due_days_and_stages():
    end = week_bounds(2026, 47, SH)[1]
    rows = {c.id: c for c in customers_as_of(CUSTOMERS, visits=VISITS, moves=MOVES, at=end, tz=SH)}
    assert rows[103].last_visit_at == sh(11, 22, 23, 30)
    assert rows[103].next_follow_up_on == date(2026, 11, 29)
    assert (rows[103].stage, rows[103].status) == (Stage.NEGOTIATION, Status.INTENT)
    assert rows[106].last_visit_at == sh(10, 1)
    # No visit since the week's end: the stored row is returned as it is.
    assert rows[101] is CUSTOMERS[0]

    start = week_bounds(2026, 47, SH)[0]
    before = {
        c.id: c for c in customers_as_of(CUSTOMERS, visits=VISITS, moves=MOVES, at=start, tz=SH)
    }
    assert 105 not in before
    assert before[101].stage == Stage.NEEDS_CONFIRMED
    assert before[104].status == Status.INTENT
    assert before[108].last_visit_at == sh(11, 12)


def test_silent_threshold_is_twice_the_cadence():
    end = week_bounds(2026, 47, SH)[1]
    rows = [
        customer(1, "c28", ZHANG, Level.C, last_visit_at=sh(10, 25)),
        customer(2, "c27", ZHANG, Level.C, last_visit_at=sh(10, 26)),
        customer(3, "a6", ZHANG, Level.A, last_visit_at=sh(11, 16, 23, 59)),
        customer(4, "a5", ZHANG, Level.A, last_visit_at=sh(11, 17, 0, 1)),
        customer(5, "never", ZHANG, Level.B, created_at=sh(11, 1)),
        customer(6, "lost", ZHANG, Level.A, status=Status.LOST, last_visit_at=sh(1, 6)),
    ]
    silent = silent_customers(rows, at=end, tz=SH)
    assert [(r.customer_name, r.days_silent) for r in silent] == [
        ("a6", 6),
        ("never", 21),
        ("c28", 28),
    ]
    assert silent[1].never_visited


def test_team_page_this_week_so_far():
    """Midweek: due today is not overdue yet; an A visited 3 days ago is still covered."""
    start, _ = week_bounds(2026, 47, SH)
    now = sh(11, 18, 12)
    rows = [
        customer(
            1,
            "due today",
            ZHANG,
            Level.A,
            last_visit_at=sh(11, 15),
            next_follow_up_on=date(2026, 11, 18),
        ),
        customer(
            2,
            "due yesterday",
            ZHANG,
            Level.A,
            last_visit_at=sh(11, 14),
            next_follow_up_on=date(2026, 11, 17),
        ),
    ]
    visits = [visit(3, 1, Method.PHONE, sh(11, 16)), visit(3, 1, Method.PHONE, sh(11, 17))]
    (row,) = rep_rows([ZHANG], rows, visits, start=start, end=now, tz=SH)
    assert (row.visits, row.customers_touched) == (2, 1)
    assert row.visits_by_method[Method.PHONE] == 2
    assert row.overdue == 1
    assert (row.a_covered, row.a_customers) == (1, 2)


def test_funnel_conversion_when_empty():
    assert all(s.conversion is None for s in stage_funnel([]))


@pytest.mark.parametrize(
    ("year", "weeks"), [(2020, 53), (2021, 52), (2025, 52), (2026, 53), (2027, 52), (2032, 53)]
)
def test_weeks_in_year(year, weeks):
    assert iso_weeks_in_year(year) == weeks


def test_parse_and_format_iso_week():
    assert parse_iso_week("2026-W47") == (2026, 47)
    assert parse_iso_week(" 2026-w05 ") == (2026, 5)
    assert parse_iso_week("2026-W53") == (2026, 53)
    assert format_iso_week(2027, 1) == "2027-W01"
    for bad in ("2025-W53", "2027-W53", "2026-W00", "2026-W54", "2026W47", "2026-47", "", "x"):
        with pytest.raises(ValueError):
            parse_iso_week(bad)


def test_previous_week_across_year_ends():
    assert previous_week(2027, 1) == (2026, 53)
    assert previous_week(2026, 53) == (2026, 52)
    assert previous_week(2026, 1) == (2025, 52)
    assert previous_week(2021, 1) == (2020, 53)
    assert previous_week(2026, 47) == (2026, 46)


def test_last_complete_week():
    assert last_complete_week(date(2027, 1, 4)) == (2026, 53)  # Monday of 2027-W01
    assert last_complete_week(date(2027, 1, 3)) == (2026, 52)  # Sunday of 2026-W53
    assert last_complete_week(date(2027, 1, 1)) == (2026, 52)  # Friday of 2026-W53
    assert last_complete_week(date(2026, 1, 1)) == (2025, 52)  # Thursday of 2026-W01
    assert last_complete_week(date(2026, 11, 25)) == (2026, 47)


def test_week_bounds_across_year_end():
    start53, end53 = week_bounds(2026, 53, SH)
    assert start53 == datetime(2026, 12, 27, 16, tzinfo=UTC)  # Monday 28 Dec, 00:00 Shanghai
    assert end53 == datetime(2027, 1, 3, 16, tzinfo=UTC)
    assert week_bounds(2027, 1, SH)[0] == end53


def test_week_bounds_across_a_dst_change():
    berlin = ZoneInfo("Europe/Berlin")
    start, end = week_bounds(2026, 13, berlin)  # clocks go forward on Sunday 29 March
    assert start == datetime(2026, 3, 22, 23, tzinfo=UTC)
    assert end == datetime(2026, 3, 29, 22, tzinfo=UTC)
    assert end - start == timedelta(days=7, hours=-1)


def test_report_for_first_week_of_a_year_compares_with_week_53():
    rep = RepInfo(1, "张伟")
    c = customer(1, "客户", rep, Level.B)
    visits = [
        visit(1, 1, Method.FIELD, sh(12, 28, 9)),  # Monday of 2026-W53
        visit(1, 1, Method.FIELD, sh(1, 3, 23, 59, year=2027)),  # Sunday of 2026-W53
        visit(1, 1, Method.PHONE, sh(1, 4, 0, 0, year=2027)),  # Monday of 2027-W01
    ]
    report = weekly_report(
        team_name="T",
        iso_year=2027,
        iso_week=1,
        reps=[rep],
        customers=[c],
        visits=visits,
        moves=[],
        tz=SH,
        generated_at=GENERATED,
        generated_by="M",
    )
    assert report.headline.visits == Change(1, 2)
    assert report.visits_per_day[0].day == date(2027, 1, 4)
    assert report.visits_per_day[0].visits == 1
    assert report.headline.visits.delta_text == "\N{MINUS SIGN}1"


def test_format_delta():
    assert [format_delta(n) for n in (3, 0, -2)] == ["+3", "0", "\N{MINUS SIGN}2"]
