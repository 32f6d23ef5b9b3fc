"""The pool in the database: claims with counters and limits, races, release, bulk assign."""

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from db.models import AuditEvent, Customer, PoolClaimCount, PoolEvent
from db.pool import (
    pool_assign,
    pool_claim,
    pool_claims_today,
    pool_counts_by_user,
    pool_history,
    pool_release,
    pool_rules_get,
    pool_rules_set,
)
from domain.pool import Limit, PoolEventKind
from tests import factories as make

TZ = ZoneInfo("Asia/Shanghai")
NOON = datetime(2026, 11, 23, 4, tzinfo=UTC)  # 12:00 in Shanghai


async def _claim(session, user, customer_id, now=NOON):
    """Claim as the handler does: commit when it worked, roll back when refused.

    `user` is a User or an Actor (an Actor survives the rollback, which expires the User).
    """
    who = user if not hasattr(user, "webauthn_handle") else make.actor(user)
    result = await pool_claim(session, actor=who, customer_id=customer_id, now=now, tz=TZ)
    await (session.commit() if result.ok else session.rollback())
    return result


async def test_a_claim_makes_the_rep_the_owner_counts_and_audits(db):
    team = await make.team(db)
    rep = await make.user(db, team=team)
    c = await make.customer(db, team=team)
    result = await _claim(db, rep, c.id)
    assert result.ok and result.name == c.name
    owner = (await db.execute(select(Customer.owner_id).where(Customer.id == c.id))).scalar_one()
    assert owner == rep.id
    assert await pool_claims_today(db, user_id=rep.id, now=NOON, tz=TZ) == 1
    audit = (
        await db.execute(select(AuditEvent.action).where(AuditEvent.entity_id == c.id))
    ).scalars()
    assert "pool_claim" in list(audit)
    assert [h.kind for h in await pool_history(db, customer_id=c.id)] == ["claim"]


async def test_the_daily_limit_counts_by_the_shanghai_day(db):
    team = await make.team(db)
    rep = await make.user(db, team=team)
    rules = await pool_rules_get(db)
    await pool_rules_set(db, rules=type(rules)(**{**rules.__dict__, "claims_per_day": 2}))
    await db.commit()
    pool = [(await make.customer(db, team=team)).id for _ in range(4)]
    rep = make.actor(rep)
    late = datetime(2026, 11, 23, 15, 59, tzinfo=UTC)  # 23:59 in Shanghai
    assert (await _claim(db, rep, pool[0], late)).ok
    assert (await _claim(db, rep, pool[1], late)).ok
    refused = await _claim(db, rep, pool[2], late)
    assert not refused.ok and refused.refusal.limit == Limit.DAILY
    assert refused.refusal.frees_at == datetime(2026, 11, 24, tzinfo=TZ)
    # One minute later it is a new day in Shanghai (still the same UTC day).
    assert (await _claim(db, rep, pool[2], late + timedelta(minutes=1))).ok
    days = (await db.execute(select(PoolClaimCount.day, PoolClaimCount.claims))).all()
    assert sorted((d.isoformat(), n) for d, n in days) == [("2026-11-23", 2), ("2026-11-24", 1)]


async def test_the_owned_limit_and_a_refusal_writes_nothing(db):
    team = await make.team(db)
    rep = await make.user(db, team=team)
    rules = await pool_rules_get(db)
    await pool_rules_set(db, rules=type(rules)(**{**rules.__dict__, "max_owned": 1}))
    await db.commit()
    await make.customer(db, owner=rep)
    c = await make.customer(db, team=team)
    rep = make.actor(rep)
    refused = await _claim(db, rep, c.id)
    assert refused.refusal.limit == Limit.OWNED
    assert await pool_claims_today(db, user_id=rep.id, now=NOON, tz=TZ) == 0
    assert (await db.execute(select(func.count()).select_from(PoolEvent))).scalar_one() == 0


async def test_cooling_off_keeps_the_previous_owner_away(db):
    team = await make.team(db)
    rep = await make.user(db, team=team)
    other = await make.user(db, team=team, name="王芳")
    manager = await make.user(db, team=team, role="manager", name="李伟")
    c = await make.customer(db, owner=rep)
    d = await make.customer(db, owner=rep)
    rep, other, manager = make.actor(rep), make.actor(other), make.actor(manager)
    c_id, d_id = c.id, d.id
    assert await pool_release(db, customer=c, by=manager, reason="换人跟进", now=NOON)
    assert await pool_release(db, customer=d, by=manager, reason="x", now=NOON)
    await db.commit()
    refused = await _claim(db, rep, c_id, NOON + timedelta(days=1))
    assert refused.refusal.limit == Limit.COOLING
    assert refused.refusal.frees_at == NOON + timedelta(days=7)
    assert (await _claim(db, rep, c_id, NOON + timedelta(days=7))).ok
    # Someone else may claim at once.
    assert (await _claim(db, other, d_id, NOON + timedelta(hours=1))).ok


async def test_another_teams_pool_and_owned_customers_cannot_be_claimed(db):
    team = await make.team(db)
    far = await make.team(db, "华南销售组")
    rep = await make.user(db, team=team)
    theirs = await make.customer(db, team=far)
    owned = await make.customer(db, owner=await make.user(db, team=team, name="王芳"))
    rep = make.actor(rep)
    for c_id in (theirs.id, owned.id):
        result = await _claim(db, rep, c_id)
        assert (
            not result.ok and result.refusal.message == "Someone else claimed this customer first."
        )


async def test_sixteen_reps_claiming_one_customer_at_once_make_one_owner(sessionmaker, db):
    team = await make.team(db)
    reps = [make.actor(await make.user(db, team=team, name=f"代表{i}")) for i in range(16)]
    c = await make.customer(db, team=team)
    c_id = c.id

    async def claim(rep):
        async with sessionmaker() as session:
            return await _claim(session, rep, c_id)

    results = await asyncio.gather(*(claim(r) for r in reps))
    winners = [r for r, res in zip(reps, results, strict=True) if res.ok]
    assert len(winners) == 1
    assert all(
        res.refusal.message == "Someone else claimed this customer first."
        for res in results
        if not res.ok
    )
    owner = (await db.execute(select(Customer.owner_id).where(Customer.id == c_id))).scalar_one()
    assert owner == winners[0].id
    counted = (await db.execute(select(func.sum(PoolClaimCount.claims)))).scalar_one()
    assert counted == 1


async def test_bulk_assign_moves_audits_and_skips_unchanged(db):
    team = await make.team(db)
    rep = await make.user(db, team=team)
    other = await make.user(db, team=team, name="王芳")
    cs = [await make.customer(db, owner=rep, commit=False) for _ in range(3)]
    await db.commit()
    moves = {cs[0].id: other.id, cs[1].id: None, cs[2].id: rep.id}
    assert await pool_assign(db, moves=moves, kind=PoolEventKind.ASSIGN, by_id=None, now=NOON) == 2
    await db.commit()
    owners = dict((await db.execute(select(Customer.id, Customer.owner_id))).all())
    assert owners[cs[0].id] == other.id and owners[cs[1].id] is None and owners[cs[2].id] == rep.id
    history = await pool_history(db, customer_id=cs[0].id)
    assert (history[0].from_name, history[0].to_name) == (rep.name, other.name)


async def test_weekly_counts_per_rep(db):
    team = await make.team(db)
    rep = await make.user(db, team=team)
    manager = await make.user(db, team=team, role="manager", name="李伟")
    a, b = await make.customer(db, team=team), await make.customer(db, team=team)
    rep, manager = make.actor(rep), make.actor(manager)
    assert (await _claim(db, rep, a.id)).ok
    assert (await _claim(db, rep, b.id)).ok
    fresh = (await db.execute(select(Customer).where(Customer.id == a.id))).scalar_one()
    await db.refresh(fresh)
    assert await pool_release(db, customer=fresh, by=manager, reason="r", now=NOON)
    await db.commit()
    counts = await pool_counts_by_user(
        db, team_id=team.id, start=NOON - timedelta(days=1), end=NOON + timedelta(days=1)
    )
    assert counts == {rep.id: {"claim": 2, "release": 1, "return": 0}}
