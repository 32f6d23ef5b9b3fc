"""Whereabouts retention: locations older than the admin-set period go, distance stays."""

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from db.models import Visit
from db.privacy import privacy_retention_run, privacy_settings_set
from tests import factories as make
from tests.factories import new_key

NOW = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


async def test_old_locations_are_dropped_and_recent_ones_kept(db):
    team = await make.team(db)
    rep = await make.user(db, team=team)
    customer = await make.customer(db, team=team, owner=rep)
    for days in (200, 181, 179, 1):
        db.add(
            Visit(
                customer_id=customer.id, user_id=rep.id, outcome="not_met", method="field",
                at=NOW - timedelta(days=days), lat=31.2, lng=121.4, accuracy_m=8.0,
                distance_m=55.0, idempotency_key=new_key(),
            )
        )  # fmt: skip
    await db.commit()
    assert await privacy_retention_run(db, now=NOW) == 2
    await db.commit()
    rows = (await db.execute(select(Visit).order_by(Visit.at))).scalars().all()
    assert [(v.lat is None, v.accuracy_m is None) for v in rows] == [
        (True, True), (True, True), (False, False), (False, False)
    ]  # fmt: skip
    assert all(v.distance_m == 55.0 for v in rows)
    # A shorter period set by an admin drops more on the next run.
    await privacy_settings_set(db, due_days=15, retention_days=30, actor_id=None)
    assert await privacy_retention_run(db, now=NOW) == 1
