"""The automatic return: the rule in SQL, dry runs, idempotence, the lease, races, warnings."""

import asyncio
import time
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, insert, select

from db.models import AuditEvent, Customer, PoolEvent
from db.pool import pool_claim, pool_rules_get
from db.pool_reclaim import pool_lease_take, pool_reclaim_count, pool_warnings
from db.visits import visit_record
from domain.pool import PoolRules
from tests import factories as make
from web.pool.handover import reassign_in_batches
from web.pool.reclaim import reclaim_run

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 4, tzinfo=UTC)
OLD = NOW - timedelta(days=400)


async def _world(db):
    team = await make.team(db)
    rep = await make.user(db, team=team)
    made = {}
    for name, level, last, status in [
        ("A 31 days", "A", NOW - timedelta(days=31), "intent"),
        ("A 29 days", "A", NOW - timedelta(days=29), "intent"),
        ("B 61 days", "B", NOW - timedelta(days=61), "intent"),
        ("C 61 days", "C", NOW - timedelta(days=61), "intent"),
        ("A won", "A", NOW - timedelta(days=100), "won"),
        ("never visited", "C", None, "potential"),
    ]:
        c = await make.customer(
            db,
            owner=rep,
            name=name,
            level=level,
            last_visit_at=last,
            status=status,
            created_at=OLD,
            commit=False,
        )
        made[name] = c.id
    await db.commit()
    return team, make.actor(rep), made


async def owner(db, customer_id):
    return (
        await db.execute(select(Customer.owner_id).where(Customer.id == customer_id))
    ).scalar_one()


async def test_returns_by_level_exempts_won_and_is_idempotent(sessionmaker, db):
    _, rep, made = await _world(db)
    assert await reclaim_run(sessionmaker, now=NOW, tz=TZ, dry_run=True) == 3
    assert await owner(db, made["A 31 days"]) == rep.id  # a dry run changes nothing
    assert await reclaim_run(sessionmaker, now=NOW, tz=TZ) == 3
    for name in ("A 31 days", "B 61 days", "never visited"):
        assert await owner(db, made[name]) is None, name
    for name in ("A 29 days", "C 61 days", "A won"):
        assert await owner(db, made[name]) == rep.id, name
    assert await reclaim_run(sessionmaker, now=NOW, tz=TZ) == 0
    audited = await db.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "pool_return")
    )
    assert audited.scalar_one() == 3
    event = (
        await db.execute(select(PoolEvent).where(PoolEvent.customer_id == made["A 31 days"]))
    ).scalar_one()
    assert event.kind == "return" and event.from_user_id == rep.id


async def test_the_admin_sees_how_many_a_rule_would_return(db):
    await _world(db)
    rules = await pool_rules_get(db)
    assert await pool_reclaim_count(db, rules=rules, now=NOW) == 3
    stricter = PoolRules(return_days={"A": 20, "B": 60, "C": 60}, won_exempt=False)
    assert await pool_reclaim_count(db, rules=stricter, now=NOW) == 6


async def test_a_just_claimed_customer_gets_the_full_period(sessionmaker, db):
    team = await make.team(db)
    rep = make.actor(await make.user(db, team=team))
    c = await make.customer(db, team=team, level="A", last_visit_at=OLD, created_at=OLD)
    c_id = c.id
    assert (await pool_claim(db, actor=rep, customer_id=c_id, now=NOW, tz=TZ)).ok
    await db.commit()
    assert await reclaim_run(sessionmaker, now=NOW + timedelta(days=1), tz=TZ) == 0
    assert await reclaim_run(sessionmaker, now=NOW + timedelta(days=31), tz=TZ) == 1


async def test_a_claim_racing_the_return_keeps_its_customer(sessionmaker, db):
    team = await make.team(db)
    rep = make.actor(await make.user(db, team=team))
    c = await make.customer(db, team=team, level="A", last_visit_at=OLD, created_at=OLD)
    c_id = c.id

    async def claim():
        async with sessionmaker() as s:
            result = await pool_claim(s, actor=rep, customer_id=c_id, now=NOW, tz=TZ)
            await s.commit()
            return result.ok

    claimed, returned = await asyncio.gather(claim(), reclaim_run(sessionmaker, now=NOW, tz=TZ))
    assert claimed and returned == 0
    assert await owner(db, c_id) == rep.id


async def test_a_visit_racing_the_return_keeps_its_customer(sessionmaker, db):
    _, rep, made = await _world(db)
    c_id = made["A 31 days"]

    async def visit():
        async with sessionmaker() as s:
            await visit_record(
                s, actor=rep, customer_id=c_id, outcome="called", key=make.new_key(), tz=TZ, now=NOW
            )
            await s.commit()

    await asyncio.gather(visit(), reclaim_run(sessionmaker, now=NOW, tz=TZ))
    # Whichever went first, the customer ends visited; returned only if the return won.
    visited = (
        await db.execute(select(Customer.last_visit_at).where(Customer.id == c_id))
    ).scalar_one()
    assert visited == NOW


async def test_only_one_process_holds_the_lease(db):
    ttl = timedelta(minutes=30)
    assert await pool_lease_take(db, holder="a", now=NOW, ttl=ttl)
    await db.commit()
    assert not await pool_lease_take(db, holder="b", now=NOW + timedelta(minutes=1), ttl=ttl)
    await db.commit()
    # A lease its holder never gave back expires.
    assert await pool_lease_take(db, holder="b", now=NOW + timedelta(minutes=31), ttl=ttl)
    await db.commit()


async def test_the_daily_run_happens_once_per_local_day(sessionmaker, db):
    await _world(db)
    assert await reclaim_run(sessionmaker, now=NOW, tz=TZ, daily=True) == 3
    assert await reclaim_run(sessionmaker, now=NOW + timedelta(hours=1), tz=TZ, daily=True) is None
    assert await reclaim_run(sessionmaker, now=NOW + timedelta(days=1), tz=TZ, daily=True) == 0


async def test_warnings_list_customers_returning_within_the_window(db):
    team = await make.team(db)
    rep = await make.user(db, team=team)
    soon = await make.customer(
        db, owner=rep, level="A", last_visit_at=NOW - timedelta(days=28), created_at=OLD
    )
    await make.customer(
        db, owner=rep, level="A", last_visit_at=NOW - timedelta(days=20), created_at=OLD
    )
    await make.customer(
        db, owner=rep, level="A", last_visit_at=NOW - timedelta(days=31), created_at=OLD
    )
    warned = await pool_warnings(db, user_id=rep.id, rules=PoolRules(), now=NOW)
    assert [w.id for w in warned] == [soon.id]


async def test_reassigning_10000_customers_lets_visits_through_within_a_second(sessionmaker, db):
    team = await make.team(db)
    rep = await make.user(db, team=team)
    other = await make.user(db, team=team, name="王芳")
    rows = [
        {
            "number": f"CB{i:07d}",
            "name": f"批量{i}",
            "team_id": team.id,
            "owner_id": rep.id,
            "custom": {},
            "tags": [],
        }
        for i in range(10_000)
    ]
    await db.execute(insert(Customer), rows)
    await db.commit()
    ids = list((await db.execute(select(Customer.id).order_by(Customer.id))).scalars())
    target_id, rep_actor, visit_customer = other.id, make.actor(rep), ids[-1]
    waits = []

    async def visits():
        for _ in range(5):
            await asyncio.sleep(0.05)
            async with sessionmaker() as s:
                started = time.perf_counter()
                await visit_record(
                    s,
                    actor=rep_actor,
                    customer_id=visit_customer,
                    outcome="called",
                    key=make.new_key(),
                    tz=TZ,
                )
                await s.commit()
                waits.append(time.perf_counter() - started)

    async def move():
        async with sessionmaker() as s:
            return await reassign_in_batches(s, ids=ids[:-1], target=target_id, by_id=None, now=NOW)

    moved, _ = await asyncio.gather(move(), visits())
    assert moved == 9_999
    assert len(waits) == 5 and max(waits) < 1.0, waits
