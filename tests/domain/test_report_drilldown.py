"""The lists behind the Team page's numbers have exactly as many entries as the numbers."""

import random
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.enums import Level, Method, Stage, Status
from domain.report import CustomerRow, RepInfo, VisitRow, rep_drilldown, rep_rows

TZ = ZoneInfo("Asia/Shanghai")


def _world(seed: int):
    rng = random.Random(seed)
    now = datetime(2026, 11, 19, 6, 0, tzinfo=UTC)
    start = datetime(2026, 11, 15, 16, 0, tzinfo=UTC)  # Monday 00:00 in Shanghai
    reps = [RepInfo(1, "陈静"), RepInfo(2, "刘洋")]
    customers = []
    for cid in range(1, 60):
        last = now - timedelta(days=rng.randint(0, 30)) if rng.random() < 0.8 else None
        customers.append(
            CustomerRow(
                id=cid,
                name=f"客户{cid}",
                owner_id=rng.choice([1, 2, None]),
                owner_name=None,
                level=rng.choice(list(Level)),
                status=rng.choice(list(Status)),
                stage=rng.choice(list(Stage)),
                created_at=now - timedelta(days=rng.randint(0, 40)),
                last_visit_at=last,
                next_follow_up_on=date(2026, 11, rng.randint(5, 25)),
                completeness=0.5,
                loss_reason=None,
            )
        )
    visits = [
        VisitRow(
            customer_id=rng.randint(1, 59),
            user_id=rng.choice([1, 2]),
            method=rng.choice(list(Method)),
            at=start + timedelta(hours=rng.randint(0, 80)),
        )
        for _ in range(80)
    ]
    return reps, customers, visits, start, now


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_drilldown_counts_match_rep_rows(seed):
    reps, customers, visits, start, now = _world(seed)
    rows = rep_rows(reps, customers, visits, start=start, end=now, tz=TZ)
    for row in rows:

        def ids(what, row=row):
            return rep_drilldown(row.rep_id, what, customers, visits, start=start, end=now, tz=TZ)

        assert len(ids("touched")) == row.customers_touched
        assert len(ids("new")) == row.new_customers
        assert len(ids("overdue")) == row.overdue
        assert len(ids("a_uncovered")) == row.a_customers - row.a_covered


def test_unknown_drilldown_is_refused():
    _reps, customers, visits, start, now = _world(1)
    with pytest.raises(ValueError):
        rep_drilldown(1, "everything", customers, visits, start=start, end=now, tz=TZ)
