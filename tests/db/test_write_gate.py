"""The SQLite write gate: one write transaction at a time, across processes, freed when it ends."""

import asyncio
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event

from db.visits import OutcomeUnknown, visit_count, visit_record
from tests import factories as make
from tests.factories import new_key

TZ = ZoneInfo("Asia/Shanghai")
ROOT = Path(__file__).resolve().parents[2]


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


# A writer process: `count` visits, each its own transaction, on a connection that would
# fail at once instead of sleeping in SQLite's busy handler (busy_timeout=0), so any wait
# for another process's write lock shows up as "database is locked". It says "ready" and
# starts when told to on stdin (so the two processes write at once), then prints how often
# it met the lock. The control (no file lock) stops at the first time it meets it.
_WRITER = """
import asyncio, sys
from zoneinfo import ZoneInfo
from sqlalchemy import event
import db.engine
from db.engine import make_engine, make_sessionmaker
from db.visits import visit_record
from domain.users import Actor, Role
from tests.factories import new_key

url, rep_id, team_id, customer_id, count, gated = sys.argv[1:]
if gated == "0":  # the control: only the in-process queue, as before the file lock
    real = db.engine._Gate.__init__
    def no_file(self, database):
        real(self, database)
        self.file = None
    db.engine._Gate.__init__ = no_file

async def main():
    engine = make_engine(url)
    event.listen(engine.sync_engine, "connect",
                 lambda conn, _r: conn.execute("PRAGMA busy_timeout=0"))
    factory = make_sessionmaker(engine)
    actor = Actor(id=int(rep_id), name="rep", role=Role.REP, team_id=int(team_id))
    locked = 0
    async with factory() as session:  # connect and import everything before the start
        await session.connection()
    print("ready", flush=True)
    sys.stdin.readline()
    for _ in range(int(count)):
        async with factory() as session:
            try:
                await visit_record(session, actor=actor, customer_id=int(customer_id),
                                   outcome="called", key=new_key(), tz=ZoneInfo("Asia/Shanghai"))
                await asyncio.sleep(0.003)  # the rest of a request, inside the transaction
                await session.commit()
            except Exception as exc:
                if "database is locked" not in str(exc):
                    raise
                locked += 1
                if gated == "0":
                    break
    print(locked, flush=True)
    await engine.dispose()

asyncio.run(main())
"""


def _writers(database_url: str, actor, customer_id: int, *, count: int, gated: bool) -> list[int]:
    """Run two writer processes at once; return how often each met "database is locked"."""
    args = [database_url, actor.id, actor.team_id, customer_id, count, int(gated)]
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _WRITER, *map(str, args)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready"
    for proc in procs:
        proc.stdin.write("go\n")
        proc.stdin.flush()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        results.append(int(out.split()[-1]))
    return results


@pytest.mark.sqlite_only("the file lock orders SQLite writers of several processes")
async def test_two_processes_writing_at_once_never_meet_in_the_busy_handler(
    database_url, db, rep_and_customer
):
    actor, customer_id = rep_and_customer
    before = await visit_count(db, customer_id=customer_id)
    assert _writers(database_url, actor, customer_id, count=40, gated=True) == [0, 0]
    assert await visit_count(db, customer_id=customer_id) == before + 80


@pytest.mark.sqlite_only("the control of the test above: SQLite's lock without the gate")
async def test_without_the_file_lock_two_processes_do_meet_in_the_busy_handler(
    database_url, db, rep_and_customer
):
    actor, customer_id = rep_and_customer
    assert sum(_writers(database_url, actor, customer_id, count=400, gated=False)) > 0


# A process that takes the write gate, writes, says so and then waits (to be killed).
_HOLDER = """
import asyncio, sys
from sqlalchemy import text
from db.engine import make_engine, make_sessionmaker, write_gate

async def main():
    factory = make_sessionmaker(make_engine(sys.argv[1]))
    async with factory() as session:
        await write_gate(session)
        await session.execute(text("UPDATE customer SET level = level"))
        print("holding", flush=True)
        await asyncio.sleep(600)

asyncio.run(main())
"""


@pytest.mark.sqlite_only("the file lock orders SQLite writers of several processes")
async def test_a_killed_holder_frees_the_gate(app, database_url, db, rep_and_customer, monkeypatch):
    actor, customer_id = rep_and_customer
    monkeypatch.setattr("db.engine.GATE_TIMEOUT_S", 60.0)  # a loaded machine is slow to kill
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _HOLDER, database_url, cwd=ROOT, stdout=subprocess.PIPE
    )
    try:
        line = await asyncio.wait_for(holder.stdout.readline(), timeout=60)
        assert line.strip() == b"holding"
        async with app.state.sessionmaker() as session:
            waiting = asyncio.create_task(_record(session, actor, customer_id))
            await asyncio.sleep(0.5)
            assert not waiting.done()  # the other process's write transaction is open
            holder.kill()  # SIGKILL: no clean-up runs in the holder
            await asyncio.wait_for(holder.wait(), timeout=10)
            await asyncio.wait_for(waiting, timeout=30)
            await session.commit()
    finally:
        if holder.returncode is None:
            holder.kill()
            await holder.wait()
    assert await visit_count(db, customer_id=customer_id) == 1
