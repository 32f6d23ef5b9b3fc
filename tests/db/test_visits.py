"""Visit commands and queries on a real migrated SQLite database."""

import asyncio
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, update

from db.models import AuditEvent, Cadence, Customer, Outcome, RecentlyViewed, Visit
from db.outcomes import cadence_get, cadence_set, outcome_list
from db.today import recently_viewed_list, today_due
from db.types import utcnow
from db.visits import (
    CustomerNotVisible,
    KeyReused,
    NotYours,
    OutcomeUnknown,
    UndoTooLate,
    VisitNotVisible,
    visit_count,
    visit_list,
    visit_record,
    visit_undo,
)
from domain.cadence import DEFAULT_CADENCE_DAYS, follow_up_after
from domain.outcomes import DEFAULT_OUTCOMES
from domain.visits import Location
from tests import factories as make
from tests.factories import actor as actor_of
from tests.factories import new_key, utc

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def world(db):
    """A team with a rep, a second rep, a manager, and a customer of the first rep."""
    team = await make.team(db, "华东销售一组")
    other_team = await make.team(db, "华北销售组")
    rep = await make.user(db, name="陈静", role="rep", team=team)
    rep2 = await make.user(db, name="刘洋", role="rep", team=team)
    manager = await make.user(db, name="李伟", role="manager", team=team)
    outsider = await make.user(db, name="黄丽", role="rep", team=other_team)
    customer = await make.customer(
        db, team=team, owner=rep, level="A", lat=31.2304, lng=121.4737, name="上海华东机械"
    )
    return {
        "team": team,
        "other_team": other_team,
        "rep": rep,
        "rep2": rep2,
        "manager": manager,
        "outsider": outsider,
        "customer": customer,
    }


async def record(db, user, customer_id: int, outcome: str, **kw):
    """Record a visit as `user` in Shanghai time, with a fresh key unless given one."""
    kw.setdefault("key", new_key())
    return await visit_record(
        db, actor=actor_of(user), customer_id=customer_id, outcome=outcome, tz=TZ, **kw
    )


async def undo(db, user, visit_id: int, **kw):
    """Undo a visit as `user` in Shanghai time."""
    return await visit_undo(db, actor=actor_of(user), visit_id=visit_id, tz=TZ, **kw)


async def _customer(db, customer_id: int) -> Customer:
    stmt = (
        select(Customer).where(Customer.id == customer_id).execution_options(populate_existing=True)
    )
    return (await db.execute(stmt)).scalar_one()


async def test_migration_seeds_default_outcomes_and_cadence(db):
    rows = await outcome_list(db, active_only=False)
    assert [(o.code, o.label_en, o.label_zh, o.method, o.asks_amount) for o in rows] == [
        (o.code, o.label_en, o.label_zh, o.method.value, o.asks_amount) for o in DEFAULT_OUTCOMES
    ]
    assert all(o.active for o in rows)
    assert await cadence_get(db) == {k.value: v for k, v in DEFAULT_CADENCE_DAYS.items()}
    assert await cadence_get(db) == {"A": 3, "B": 7, "C": 14}


async def test_record_stores_visit_and_moves_follow_up_in_the_same_transaction(db, world):
    rep, customer = world["rep"], world["customer"]
    now = utc(2026, 11, 20, 17, 30)  # 01:30 on 21 Nov in Shanghai
    rec = await record(
        db,
        rep,
        customer.id,
        "met_interested",
        where=Location(31.2333, 121.4737, 12.0),
        device_at=now - timedelta(seconds=2),
        now=now,
    )
    await db.commit()
    assert rec.created
    visit = await db.get(Visit, rec.visit_id)
    assert visit.method == "field" and visit.user_id == rep.id and visit.at == now
    assert visit.device_at == now - timedelta(seconds=2)
    assert (visit.lat, visit.lng, visit.accuracy_m) == (31.2333, 121.4737, 12.0)
    assert visit.distance_m == pytest.approx(322, abs=1)
    c = await _customer(db, customer.id)
    assert c.last_visit_at == now
    assert c.next_follow_up_on == date(2026, 11, 24)  # local 21 Nov + 3 days (level A)


async def test_nothing_is_written_when_the_transaction_is_rolled_back(db, world):
    customer_id = world["customer"].id
    await record(db, world["rep"], customer_id, "called")
    await db.rollback()
    assert await visit_count(db) == 0
    assert (await _customer(db, customer_id)).last_visit_at is None


@pytest.mark.parametrize(("level", "days"), [("A", 3), ("B", 7), ("C", 14)])
async def test_cadence_per_level(db, world, level, days):
    customer = await make.customer(db, team=world["team"], owner=world["rep"], level=level)
    now = utc(2026, 12, 28, 2, 0)
    await record(db, world["rep"], customer.id, "called", now=now)
    await db.commit()
    assert (await _customer(db, customer.id)).next_follow_up_on == date(2026, 12, 28) + timedelta(
        days=days
    )


async def test_cadence_edited_by_an_admin_applies_to_the_next_visit(db, world):
    changed = await cadence_set(db, days={"A": 2, "B": 10, "C": 30})
    await db.commit()
    assert changed == {"A": (3, 2), "B": (7, 10), "C": (14, 30)}
    customer = await make.customer(db, team=world["team"], owner=world["rep"], level="B")
    now = utc(2026, 1, 25, 4, 0)
    await record(db, world["rep"], customer.id, "called", now=now)
    await db.commit()
    assert (await _customer(db, customer.id)).next_follow_up_on == date(2026, 2, 4)


async def test_location_absent_stores_no_coordinates_and_no_distance(db, world):
    rec = await record(db, world["rep"], world["customer"].id, "not_met")
    visit = await db.get(Visit, rec.visit_id)
    assert (visit.lat, visit.lng, visit.accuracy_m, visit.distance_m) == (None, None, None, None)


async def test_customer_without_location_gets_coordinates_but_no_distance(db, world):
    customer = await make.customer(db, team=world["team"], owner=world["rep"])
    rec = await record(
        db, world["rep"], customer.id, "met_not_now", where=Location(31.2, 121.4, 30.0)
    )
    visit = await db.get(Visit, rec.visit_id)
    assert (visit.lat, visit.lng, visit.accuracy_m) == (31.2, 121.4, 30.0)
    assert visit.distance_m is None


async def test_same_key_twice_is_one_visit_with_the_same_answer(db, world):
    key = new_key()
    args = dict(
        actor=actor_of(world["rep"]),
        customer_id=world["customer"].id,
        outcome="called",
        key=key,
        tz=TZ,
    )
    first = await visit_record(db, **args)
    await db.commit()
    second = await visit_record(db, **args)
    await db.commit()
    assert first.created and not second.created
    assert first.visit_id == second.visit_id and first.at == second.at
    assert await visit_count(db) == 1
    recorded = (
        await db.execute(select(func.count()).where(AuditEvent.action == "visit_recorded"))
    ).scalar_one()
    assert recorded == 1


async def test_concurrent_duplicates_from_many_sessions_store_one_row(sessionmaker, db, world):
    key = new_key()
    actor = actor_of(world["rep"])

    async def submit():
        async with sessionmaker() as session:
            rec = await visit_record(
                session,
                actor=actor,
                customer_id=world["customer"].id,
                outcome="met_interested",
                key=key,
                tz=TZ,
            )
            await session.commit()
            return rec

    results = await asyncio.gather(*(submit() for _ in range(8)))
    assert len({r.visit_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    assert await visit_count(db) == 1


async def test_concurrent_distinct_keys_all_stored(sessionmaker, db, world):
    actor = actor_of(world["rep"])

    async def submit():
        async with sessionmaker() as session:
            rec = await visit_record(
                session,
                actor=actor,
                customer_id=world["customer"].id,
                outcome="called",
                key=new_key(),
                tz=TZ,
            )
            await session.commit()
            return rec

    results = await asyncio.gather(*(submit() for _ in range(12)))
    assert len({r.visit_id for r in results}) == 12
    assert await visit_count(db) == 12


async def test_a_key_used_by_someone_else_is_refused(db, world):
    key = new_key()
    await record(db, world["rep"], world["customer"].id, "called", key=key)
    await db.commit()
    with pytest.raises(KeyReused):
        await record(db, world["manager"], world["customer"].id, "called", key=key)
    await db.rollback()
    assert await visit_count(db) == 1


async def test_visibility_rep_of_another_team_and_rep_not_owner(db, world):
    for user in (world["outsider"], world["rep2"]):
        with pytest.raises(CustomerNotVisible):
            await record(db, user, world["customer"].id, "called")
    # The manager of the team may record on any team customer.
    rec = await record(db, world["manager"], world["customer"].id, "called")
    assert rec.created


async def test_pool_customer_is_visible_to_every_rep_of_the_team(db, world):
    pool = await make.customer(db, team=world["team"], owner=None)
    rec = await record(db, world["rep2"], pool.id, "called")
    assert rec.created


async def test_unknown_outcome_is_refused(db, world):
    with pytest.raises(OutcomeUnknown):
        await record(db, world["rep"], world["customer"].id, "danced")


async def test_undo_within_the_window_removes_and_restores_follow_up(db, world):
    customer, rep = world["customer"], world["rep"]
    before_visit = utc(2026, 11, 1, 2, 0)
    await db.execute(
        update(Customer)
        .where(Customer.id == customer.id)
        .values(last_visit_at=before_visit, next_follow_up_on=date(2026, 11, 25))
    )
    await db.commit()
    now = utc(2026, 11, 20, 2, 0)
    rec = await record(db, rep, customer.id, "called", now=now)
    await db.commit()
    assert (await _customer(db, customer.id)).next_follow_up_on == date(2026, 11, 23)
    customer_id = await undo(db, rep, rec.visit_id, now=now + timedelta(seconds=8))
    await db.commit()
    assert customer_id == customer.id
    assert await visit_count(db) == 0
    c = await _customer(db, customer.id)
    # The manually set follow-up day and the last visit are back as they were.
    assert c.last_visit_at == before_visit
    assert c.next_follow_up_on == date(2026, 11, 25)
    actions = (await db.execute(select(AuditEvent.action).order_by(AuditEvent.id))).scalars().all()
    assert actions == ["visit_recorded", "visit_undone"]


async def test_undo_of_the_first_visit_clears_the_dates(db, world):
    customer, rep = world["customer"], world["rep"]
    rec = await record(db, rep, customer.id, "called")
    await db.commit()
    await undo(db, rep, rec.visit_id)
    await db.commit()
    c = await _customer(db, customer.id)
    assert c.last_visit_at is None and c.next_follow_up_on is None


async def test_undo_recomputes_from_the_remaining_latest_visit(db, world):
    customer, rep, manager = world["customer"], world["rep"], world["manager"]
    t1 = utcnow() - timedelta(seconds=5)
    v1 = await record(db, manager, customer.id, "called", now=t1)
    await db.commit()
    t2 = t1 + timedelta(seconds=3)
    v2 = await record(db, rep, customer.id, "met_interested", now=t2)
    await db.commit()
    # Undoing the older visit leaves the customer alone: a newer visit set its dates.
    await undo(db, manager, v1.visit_id, now=t2 + timedelta(seconds=1))
    await db.commit()
    c = await _customer(db, customer.id)
    assert c.last_visit_at == t2
    # Undoing the newer one now falls back to nothing left.
    await undo(db, rep, v2.visit_id, now=t2 + timedelta(seconds=2))
    await db.commit()
    c = await _customer(db, customer.id)
    assert c.last_visit_at is None and c.next_follow_up_on is None
    assert v1.visit_id != v2.visit_id


async def test_undo_keeps_an_earlier_visit_as_the_last_one(db, world):
    customer, rep = world["customer"], world["rep"]
    t1 = utc(2026, 11, 10, 2, 0)
    await record(db, rep, customer.id, "called", now=t1)
    await db.commit()
    t2 = utc(2026, 11, 20, 2, 0)
    v2 = await record(db, rep, customer.id, "called", now=t2)
    await db.commit()
    await undo(db, rep, v2.visit_id, now=t2)
    await db.commit()
    c = await _customer(db, customer.id)
    assert c.last_visit_at == t1
    assert c.next_follow_up_on == follow_up_after(t1, TZ, "A") == date(2026, 11, 13)


async def test_undo_after_the_window_is_refused_and_changes_nothing(db, world):
    customer, rep = world["customer"], world["rep"]
    now = utc(2026, 11, 20, 2, 0)
    rec = await record(db, rep, customer.id, "called", now=now)
    await db.commit()
    with pytest.raises(UndoTooLate) as info:
        await undo(db, rep, rec.visit_id, now=now + timedelta(seconds=60))
    assert info.value.args[0] == rec.customer_id
    await db.rollback()
    assert await visit_count(db) == 1
    assert (await _customer(db, rec.customer_id)).next_follow_up_on == date(2026, 11, 23)


async def test_only_the_author_may_undo_and_only_on_visible_customers(db, world):
    customer, rep = world["customer"], world["rep"]
    rec = await record(db, rep, customer.id, "called")
    await db.commit()
    with pytest.raises(NotYours):
        await undo(db, world["manager"], rec.visit_id)
    with pytest.raises(VisitNotVisible):
        await undo(db, world["outsider"], rec.visit_id)
    with pytest.raises(VisitNotVisible):
        await undo(db, rep, 999999)
    await db.rollback()
    assert await visit_count(db) == 1


async def test_visit_list_newest_first_with_labels(db, world):
    customer, rep = world["customer"], world["rep"]
    for i, outcome in enumerate(["called", "store_purchase", "message"]):
        await record(db, rep, customer.id, outcome, now=utc(2026, 11, 20, 2, i))
    await db.commit()
    visits = await visit_list(db, customer_id=customer.id)
    assert [v.outcome for v in visits] == ["message", "store_purchase", "called"]
    assert visits[0].label("zh_CN") == "微信/短信"
    assert visits[0].label("en") == "Message / WeChat"
    assert visits[1].asks_amount and not visits[0].asks_amount
    assert visits[0].user_name == "陈静"


async def test_renamed_outcome_label_shows_on_old_visits(db, world):
    await record(db, world["rep"], world["customer"].id, "called")
    await db.execute(
        update(Outcome).where(Outcome.code == "called").values(label_zh="电话跟进", active=False)
    )
    await db.commit()
    visits = await visit_list(db, customer_id=world["customer"].id)
    assert visits[0].label("zh_CN") == "电话跟进"


async def test_recently_viewed_upsert_and_visibility(db, world):
    rep = world["rep"]
    a = world["customer"]
    b = await make.customer(db, team=world["team"], owner=rep, name="乙公司")
    hidden = await make.customer(db, team=world["team"], owner=world["rep2"], name="别人的客户")
    t = utcnow()
    await make.viewed(db, user_id=rep.id, customer_id=a.id, at=t - timedelta(minutes=5))
    await make.viewed(db, user_id=rep.id, customer_id=b.id, at=t - timedelta(minutes=3))
    await make.viewed(db, user_id=rep.id, customer_id=hidden.id, at=t)
    await make.viewed(db, user_id=rep.id, customer_id=a.id, at=t - timedelta(minutes=1))
    await db.commit()
    count = (await db.execute(select(func.count()).select_from(RecentlyViewed))).scalar_one()
    assert count == 3
    rows = await recently_viewed_list(db, actor=actor_of(rep))
    assert [r.name for r in rows] == ["上海华东机械", "乙公司"]


async def test_today_due_scope_order_and_limit(db, world):
    team, rep, rep2 = world["team"], world["rep"], world["rep2"]
    today = date(2026, 11, 20)
    mine = [
        await make.customer(
            db, team=team, owner=rep, name=f"mine-{d}", next_follow_up_on=today - timedelta(days=d)
        )
        for d in (1, 5, 0, 3)
    ]
    await make.customer(
        db, team=team, owner=rep, name="future", next_follow_up_on=today + timedelta(days=1)
    )
    await make.customer(
        db, team=team, owner=rep2, name="rep2-old", next_follow_up_on=today - timedelta(days=9)
    )
    await make.customer(
        db, team=team, owner=None, name="pool", next_follow_up_on=today - timedelta(days=2)
    )
    other = world["other_team"]
    await make.customer(
        db,
        team=other,
        owner=world["outsider"],
        name="elsewhere",
        next_follow_up_on=today - timedelta(days=20),
    )
    rows, more = await today_due(db, actor=actor_of(rep), today=today)
    assert [r.name for r in rows] == ["mine-5", "mine-3", "mine-1", "mine-0"]
    assert not more
    rows, more = await today_due(db, actor=actor_of(world["manager"]), today=today)
    assert [r.name for r in rows] == ["rep2-old", "mine-5", "mine-3", "pool", "mine-1", "mine-0"]
    assert rows[0].owner_name == "刘洋"
    rows, more = await today_due(db, actor=actor_of(world["manager"]), today=today, limit=2)
    assert len(rows) == 2 and more
    assert len(mine) == 4


async def test_cadence_table_rows_can_be_missing(db):
    await db.execute(Cadence.__table__.delete().where(Cadence.level == "C"))
    await db.commit()
    assert (await cadence_get(db))["C"] == 14
    await cadence_set(db, days={"C": 21})
    await db.commit()
    assert (await cadence_get(db))["C"] == 21
