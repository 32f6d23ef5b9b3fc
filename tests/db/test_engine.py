"""SQLite statements run inline on the event loop, except where they could wait for a lock."""

import asyncio
import time

import pytest
from sqlalchemy import func, select, text

from db.engine import InlineConnection, sql_in_thread
from db.models import Team


async def test_a_second_writer_waits_without_blocking_the_event_loop(sessionmaker):
    """A holds the write lock across an await; B's write must wait off the loop, not stall it."""
    maker = sessionmaker
    ticks = 0

    async def ticker():
        nonlocal ticks
        while True:
            await asyncio.sleep(0.01)
            ticks += 1

    async def writer_a():
        async with maker() as db:
            db.add(Team(name="A组"))
            await db.flush()  # A now holds SQLite's write lock
            await asyncio.sleep(0.3)  # ... and yields to the loop before committing
            await db.commit()

    async def writer_b():
        await asyncio.sleep(0.05)
        async with maker() as db:
            db.add(Team(name="B组"))
            await db.flush()  # waits for A's lock in SQLite's busy handler
            await db.commit()

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    await asyncio.wait_for(asyncio.gather(writer_a(), writer_b()), timeout=4)
    took = time.perf_counter() - started
    tick.cancel()
    assert took < 1.5  # no busy-timeout stall (5 s) and no "database is locked"
    assert ticks >= 15  # the loop kept running while B waited
    async with maker() as db:
        names = (await db.execute(select(Team.name).order_by(Team.name))).scalars().all()
    assert names == ["A组", "B组"]


@pytest.mark.sqlite_only("aiosqlite inline connections")
async def test_reads_run_inline_and_sql_in_thread_uses_the_connection_thread(sessionmaker):
    async with sessionmaker() as db:
        raw = (await (await db.connection()).get_raw_connection()).driver_connection
        assert isinstance(raw, InlineConnection)
        execute = raw._connection.execute
        assert raw._inline(execute, ("SELECT 1",)) is True
        assert raw._inline(execute, ("INSERT INTO team (name) VALUES (?)",)) is False
        with sql_in_thread():
            assert raw._inline(execute, ("SELECT 1",)) is False
            assert (await db.execute(text("SELECT 41 + 1"))).scalar_one() == 42
        assert (await db.execute(select(func.count()).select_from(Team))).scalar_one() >= 0
