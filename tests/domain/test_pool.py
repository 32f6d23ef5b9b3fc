"""Pool rules: the three claim limits, cooling-off, the return rule and its warning, spreading."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from domain.enums import Role
from domain.pool import (
    Limit,
    PoolRules,
    claim_refusal,
    local_day,
    may_claim,
    may_release_directly,
    next_day_start,
    return_at,
    returns_now,
    spread,
    warned,
)

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 4, tzinfo=UTC)  # 12:00 in Shanghai
RULES = PoolRules(claims_per_day=3, max_owned=5, cooling_days=7)


def refuse(**kw):
    args = {"role": Role.REP, "rules": RULES, "claims_today": 0, "owned": 0, "left_me_at": None}
    return claim_refusal(**{**args, **kw}, now=kw.pop("now", NOW), tz=TZ)


def test_a_claim_within_every_limit_is_allowed():
    assert refuse() is None
    assert refuse(claims_today=2, owned=4) is None


def test_the_daily_limit_frees_up_at_the_next_shanghai_midnight():
    r = refuse(claims_today=3)
    assert r.limit == Limit.DAILY and r.n == 3
    assert r.frees_at == datetime(2026, 11, 24, tzinfo=TZ)


def test_the_day_is_the_shanghai_day_not_the_utc_day():
    late = datetime(2026, 11, 23, 16, 30, tzinfo=UTC)  # 00:30 on the 24th in Shanghai
    assert local_day(late, TZ) == date(2026, 11, 24)
    assert next_day_start(late, TZ) == datetime(2026, 11, 25, tzinfo=TZ)
    assert local_day(datetime(2026, 11, 23, 15, 59, 59, tzinfo=UTC), TZ) == date(2026, 11, 23)


def test_the_owned_limit_says_it_frees_up_by_releasing():
    r = refuse(owned=5)
    assert r.limit == Limit.OWNED and r.frees_at is None and r.n == 5


def test_cooling_off_applies_until_the_period_ends():
    left = NOW - timedelta(days=2)
    r = refuse(left_me_at=left)
    assert r.limit == Limit.COOLING and r.frees_at == left + timedelta(days=7)
    assert refuse(left_me_at=NOW - timedelta(days=7)) is None
    no_cooling = PoolRules(cooling_days=0)
    assert refuse(left_me_at=NOW, rules=no_cooling) is None


def test_who_may_do_what():
    assert may_claim(Role.REP) and may_claim(Role.MANAGER)
    assert not may_claim(Role.CLERK) and not may_claim(Role.ADMIN)
    assert refuse(role=Role.CLERK).limit == Limit.ROLE
    assert may_release_directly(Role.MANAGER) and not may_release_directly(Role.REP)


def test_the_return_rule_per_level_and_won_exempt():
    rules = PoolRules()
    since = NOW - timedelta(days=30)
    assert return_at(level="A", status="intent", since=since, rules=rules) == NOW
    assert returns_now(level="A", status="intent", since=since, rules=rules, now=NOW)
    assert not returns_now(level="B", status="intent", since=since, rules=rules, now=NOW)
    assert return_at(level="A", status="won", since=since, rules=rules) is None
    not_exempt = PoolRules(won_exempt=False)
    assert returns_now(level="A", status="won", since=since, rules=not_exempt, now=NOW)
    off = PoolRules(return_days={"A": 0, "B": 60, "C": 90})
    assert return_at(level="A", status="intent", since=since, rules=off) is None


def test_the_warning_counts_local_days():
    at = datetime(2026, 11, 26, 1, tzinfo=UTC)  # 09:00 on the 26th in Shanghai
    assert warned(at=at, now=NOW, tz=TZ, warn_days=3) == 3
    assert warned(at=at, now=NOW, tz=TZ, warn_days=2) is None
    assert warned(at=NOW, now=NOW, tz=TZ, warn_days=3) is None  # due now: it returns, no warning
    assert warned(at=None, now=NOW, tz=TZ, warn_days=3) is None


def test_spreading_evenly_over_colleagues():
    assert spread([1, 2, 3, 4, 5], [10, 20]) == {1: 10, 2: 20, 3: 10, 4: 20, 5: 10}
    assert spread([1], []) == {}
