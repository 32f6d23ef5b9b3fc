"""The SQLite write gate inside visit_record: one visit write at a time, freed when it ends."""

import asyncio
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from db.visits import OutcomeUnknown, visit_count, visit_record
from tests import factories as make
from tests.factories import new_key

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def rep_and_customer(db):
    team = await make.team(db)
    rep = await make.user(db, name="陈静", role="rep", team=team)
    customer = await make.customer(db, team=team, owner=rep, level="A")
    return make.actor(rep), customer.id


async def _record(session, actor, customer_id, outcome="called"):
    return await visit_record(
        session, actor=actor, customer_id=customer_id, outcome=outcome, key=new_key(), tz=TZ
    )


@pytest.mark.sqlite_only("the write gate queues SQLite writers; a no-op on PostgreSQL")
async def test_a_second_visit_waits_for_the_first_transaction_to_commit(app, db, rep_and_customer):
    actor, customer_id = rep_and_customer
    inserts = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("INSERT INTO VISIT "):
            inserts.append(statement)

    engine = app.state.sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", count)
    async with app.state.sessionmaker() as first, app.state.sessionmaker() as second:
        await _record(first, actor, customer_id)
        waiting = asyncio.create_task(_record(second, actor, customer_id))
        await asyncio.sleep(0.2)
        # Queued in-process before its INSERT, not waiting for SQLite's lock inside it.
        assert not waiting.done()
        assert len(inserts) == 1
        await first.commit()
        await asyncio.wait_for(waiting, timeout=5)
        await second.commit()
    assert await visit_count(db, customer_id=customer_id) == 2


@pytest.mark.parametrize("end", ["rollback", "close"])
async def test_a_transaction_that_ends_without_commit_frees_the_gate(
    app, db, rep_and_customer, end
):
    actor, customer_id = rep_and_customer
    first = app.state.sessionmaker()
    await _record(first, actor, customer_id)
    await getattr(first, end)()
    async with app.state.sessionmaker() as second:
        await asyncio.wait_for(_record(second, actor, customer_id), timeout=5)
        await second.commit()
    await first.close()
    assert await visit_count(db, customer_id=customer_id) == 1


async def test_a_refused_visit_never_holds_the_gate(app, db, rep_and_customer):
    actor, customer_id = rep_and_customer
    async with app.state.sessionmaker() as first:
        with pytest.raises(OutcomeUnknown):
            await _record(first, actor, customer_id, outcome="nope")
        async with app.state.sessionmaker() as second:
            await asyncio.wait_for(_record(second, actor, customer_id), timeout=5)
            await second.commit()
    assert await visit_count(db, customer_id=customer_id) == 1


async def test_several_visits_in_one_transaction_take_the_gate_once(app, db, rep_and_customer):
    actor, customer_id = rep_and_customer
    async with app.state.sessionmaker() as session:
        for _ in range(3):
            await asyncio.wait_for(_record(session, actor, customer_id), timeout=5)
        await session.commit()
    assert await visit_count(db, customer_id=customer_id) == 3
