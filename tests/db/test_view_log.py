"""Customer views are written after the response, in batches, and none is lost."""

import asyncio

from sqlalchemy import func, select

from db.models import AuditEvent, RecentlyViewed
from db.view_log import ViewLog
from tests import factories as make


async def _counts(db) -> tuple[int, int]:
    audits = await db.execute(
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "customer_viewed")
    )
    recent = await db.execute(select(func.count()).select_from(RecentlyViewed))
    return audits.scalar_one(), recent.scalar_one()


async def test_views_written_while_a_writer_runs_are_not_lost(sessionmaker, db):
    team = await make.team(db)
    rep = await make.user(db, role="rep", team=team)
    a = await make.customer(db, team=team, owner=rep, name="上海华东机械")
    b = await make.customer(db, team=team, owner=rep, name="杭州西湖贸易")
    await db.commit()
    log = ViewLog(sessionmaker)

    log.add(user_id=rep.id, customer_id=a.id, ip="10.0.0.1", audited=True)
    writer = asyncio.create_task(log.write_pending())
    await asyncio.sleep(0)  # the writer holds the lock and is writing the first batch
    # Views arriving meanwhile: their own write_pending returns at once ...
    log.add(user_id=rep.id, customer_id=b.id, audited=True)
    log.add(user_id=rep.id, customer_id=a.id, audited=False)  # the Visits region
    await asyncio.wait_for(log.write_pending(), timeout=0.05)
    # ... and the running writer takes them before it stops.
    await writer
    assert log.pending == 0
    assert await _counts(db) == (2, 2)  # two audited views; one row per customer

    rows = (await db.execute(select(RecentlyViewed.customer_id, RecentlyViewed.viewed_at))).all()
    newest = dict(rows)
    assert newest[a.id] > newest[b.id]  # the later view of `a` won


async def test_flush_keeps_views_when_the_write_fails_and_retries(sessionmaker, db):
    team = await make.team(db)
    rep = await make.user(db, role="rep", team=team)
    c = await make.customer(db, team=team, owner=rep, name="上海华东机械")
    await db.commit()
    log = ViewLog(sessionmaker)
    log.add(user_id=rep.id, customer_id=999_999, audited=True)  # no such customer: FK fails
    await log.flush()
    assert log.pending == 1  # kept, not dropped, and the page view did not fail
    log._pending.clear()
    log.add(user_id=rep.id, customer_id=c.id, audited=True)
    await log.flush()
    assert log.pending == 0
    assert await _counts(db) == (1, 1)


async def test_today_lists_a_customer_viewed_just_before(client, db, signed_in):
    from tests.support import html

    rep = await signed_in("rep")
    c = await make.customer(db, owner=rep, name="苏州工业园设备")
    page = await client.get(f"/customers/{c.id}")
    assert page.status_code == 200
    today = html(await client.get("/"))
    assert "苏州工业园设备" in today.text()
