"""The background retention run drops old visit locations (it used to fail on every run)."""

from datetime import timedelta

from sqlalchemy import select

from db.models import Visit
from db.types import utcnow
from tests import factories as make
from tests.factories import new_key
from web.privacy.retention import RetentionLoop


async def test_the_retention_loops_run_drops_locations_past_the_period(sessionmaker):
    async with sessionmaker() as db:
        team = await make.team(db)
        rep = await make.user(db, team=team)
        customer = await make.customer(db, team=team, owner=rep)
        for days in (200, 1):
            db.add(
                Visit(customer_id=customer.id, user_id=rep.id, outcome="not_met", method="field",
                      at=utcnow() - timedelta(days=days), lat=31.2, lng=121.4, accuracy_m=8.0,
                      idempotency_key=new_key())
            )  # fmt: skip
        await db.commit()
    assert await RetentionLoop(sessionmaker).run_once() == 1
    async with sessionmaker() as db:
        rows = (await db.execute(select(Visit.lat).order_by(Visit.at))).scalars().all()
    assert rows == [None, 31.2]
