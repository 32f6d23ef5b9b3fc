"""Which teams a user may report on, and how the Team page moves between weeks."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.enums import Method, Role
from domain.report import (
    NoTeamToReport,
    TeamNotAllowed,
    VisitRow,
    WeekNotStarted,
    next_week,
    rep_visits,
    report_team_choose,
    report_team_scope,
    week_bounds,
    week_nav,
    week_so_far,
)
from domain.users import Actor

SHANGHAI = ZoneInfo("Asia/Shanghai")


def actor(role: Role, team_id: int | None = 5) -> Actor:
    return Actor(id=1, name="x", role=role, team_id=team_id)


def test_admins_report_on_every_team_managers_on_their_own():
    assert report_team_scope(actor(Role.ADMIN, None)) is None
    assert report_team_scope(actor(Role.MANAGER)) == [5]
    assert report_team_scope(actor(Role.MANAGER, None)) == []


def test_the_first_available_team_is_the_default():
    assert report_team_choose(actor(Role.ADMIN, None), [3, 5, 8], None) == 3
    assert report_team_choose(actor(Role.ADMIN, None), [3, 5, 8], 8) == 8
    assert report_team_choose(actor(Role.MANAGER), [5], 5) == 5


def test_no_team_to_report_on():
    with pytest.raises(NoTeamToReport):
        report_team_choose(actor(Role.MANAGER, None), [], None)


@pytest.mark.parametrize(
    ("who", "available", "requested"),
    [
        (actor(Role.MANAGER), [5], 6),  # another team's manager
        (actor(Role.REP), [5], 5),  # a rep of the team sees no team numbers
        (actor(Role.ADMIN, None), [3, 5], 99),  # no such team
    ],
)
def test_a_team_outside_the_scope_is_refused(who, available, requested):
    with pytest.raises(TeamNotAllowed):
        report_team_choose(who, available, requested)


def test_next_week_crosses_the_year():
    assert next_week(2026, 53) == (2027, 1)
    assert next_week(2026, 47) == (2026, 48)


def test_week_nav_offers_no_week_in_the_future():
    today = date(2026, 11, 25)  # Wednesday of 2026-W48
    current = week_nav(2026, 48, today)
    assert (current.week, current.prev_week, current.next_week) == ("2026-W48", "2026-W47", None)
    assert current.is_current
    earlier = week_nav(2026, 46, today)
    assert (earlier.next_week, earlier.is_current) == ("2026-W47", False)


def test_week_so_far_stops_at_now_and_refuses_the_future():
    start, _end = week_bounds(2026, 48, SHANGHAI)
    now = start + timedelta(days=2, hours=3)
    assert week_so_far(2026, 48, SHANGHAI, now) == (start, now)
    assert week_so_far(2026, 47, SHANGHAI, now) == week_bounds(2026, 47, SHANGHAI)
    with pytest.raises(WeekNotStarted):
        week_so_far(2026, 49, SHANGHAI, now)


def test_rep_visits_are_the_reps_own_in_the_window_newest_first():
    t = datetime(2026, 11, 23, 2, tzinfo=UTC)
    visits = [
        VisitRow(customer_id=1, user_id=7, method=Method.FIELD, at=t),
        VisitRow(customer_id=2, user_id=7, method=Method.PHONE, at=t + timedelta(hours=5)),
        VisitRow(customer_id=3, user_id=8, method=Method.FIELD, at=t + timedelta(hours=1)),
        VisitRow(customer_id=4, user_id=7, method=Method.FIELD, at=t + timedelta(days=9)),
    ]
    listed = rep_visits(7, visits, start=t, end=t + timedelta(days=7))
    assert [v.customer_id for v in listed] == [2, 1]
