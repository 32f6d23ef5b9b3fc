"""The weekly report counts claims, releases and returns per rep."""

from datetime import timedelta

from db.models import PoolEvent
from db.types import utcnow
from tests import factories as make
from tests.support import html


async def test_the_weekly_report_counts_pool_moves_per_rep(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", locale="en", name="李伟")
    rep = await make.user(db, team=team, name="陈静")
    c = await make.customer(db, team=team)
    last_week = utcnow() - timedelta(days=7)
    for kind, from_id, to_id in [
        ("claim", None, rep.id),
        ("claim", None, rep.id),
        ("release", rep.id, None),
        ("return", rep.id, None),
        ("assign", rep.id, None),  # a manager's move is not the rep's
    ]:
        db.add(
            PoolEvent(
                customer_id=c.id,
                team_id=team.id,
                kind=kind,
                from_user_id=from_id,
                to_user_id=to_id,
                at=last_week,
            )
        )
    await db.commit()
    tree = html(await client.get("/reports/weekly"))
    rows = {
        tr.css_first("th").text(): [td.text() for td in tr.css("td")]
        for tr in tree.css("#pool-weekly tbody tr")
    }
    assert rows["陈静"] == ["2", "1", "1"]
