"""Ownership changes in the customer's History; an approved release is a pool event too."""

from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select

from db.models import ApprovalRequest, PoolEvent
from db.pool import pool_assign, pool_claim, pool_counts_by_user
from db.types import utcnow
from domain.pool import Limit, PoolEventKind
from tests import factories as make
from tests.support import csrf_token, html


async def post(client, path: str, data: dict | None = None):
    token = await csrf_token(client, "/customers")
    data = {"_csrf_token": token, **(data or {})}
    return await client.post(path, data=data, follow_redirects=False)


def owner_lines(tree) -> list[str]:
    return [li.text(separator=" ", strip=True) for li in tree.css("#sales-history li.event-owner")]


async def test_claim_and_release_show_in_history_newest_first_with_who_and_reason(
    client, db, signed_in
):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en", name="王芳")
    c = await make.customer(db, team=team, name="华东机械")
    assert (await post(client, f"/pool/{c.id}/claim")).status_code == 303
    await signed_in("manager", team=team, name="李伟", locale="en")
    assert (await post(client, f"/pool/{c.id}/release", {"reason": "换人跟进"})).status_code == 303
    tree = html(await client.get(f"/customers/{c.id}"))
    lines = owner_lines(tree)
    assert len(lines) == 2
    assert "Released to the pool" in lines[0] and "王芳 → Public pool" in lines[0]
    assert "换人跟进" in lines[0] and "李伟" in lines[0]
    assert "Claimed from the pool" in lines[1] and "Public pool → 王芳" in lines[1]
    assert rep.name in lines[1]


async def test_reassign_shows_from_and_to_in_history_in_chinese(client, db, signed_in):
    team = await make.team(db)
    a = await make.user(db, team=team, name="王芳")
    b = await make.user(db, team=team, name="赵强")
    c = await make.customer(db, owner=a)
    manager = await signed_in("manager", team=team, name="李伟", locale="zh_CN")
    await pool_assign(
        db, moves={c.id: b.id}, kind=PoolEventKind.ASSIGN, by_id=manager.id, reason="reassign"
    )
    await db.commit()
    lines = owner_lines(html(await client.get(f"/customers/{c.id}")))
    assert lines and "已转移" in lines[0] and "王芳 → 赵强" in lines[0]
    assert "reassign" not in lines[0]  # the stored code is not shown as a reason


async def test_an_approved_release_is_a_pool_event_in_history_counts_and_cooling_off(
    client, db, signed_in
):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en", name="王芳")
    c = await make.customer(db, owner=rep, name="华东机械")
    assert (
        await post(client, f"/pool/{c.id}/release", {"reason": "客户已搬迁"})
    ).status_code == 303
    request = (await db.execute(select(ApprovalRequest))).scalar_one()
    await signed_in("manager", team=team, name="李伟", locale="en")
    decided = await post(client, f"/approvals/{request.id}/decide", {"decision": "approve"})
    assert decided.status_code == 303
    event = (await db.execute(select(PoolEvent))).scalar_one()
    assert (event.kind, event.from_user_id, event.to_user_id) == ("release", rep.id, None)
    lines = owner_lines(html(await client.get(f"/customers/{c.id}")))
    assert len(lines) == 1
    assert "Released to the pool" in lines[0] and "客户已搬迁" in lines[0]
    assert "李伟" in lines[0]
    now = utcnow()
    counts = await pool_counts_by_user(
        db, team_id=team.id, start=now - timedelta(days=1), end=now + timedelta(days=1)
    )
    assert counts == {rep.id: {"claim": 0, "release": 1, "return": 0}}
    # Cooling-off: the rep who gave it up cannot take it back at once.
    result = await pool_claim(
        db, customer_id=c.id, actor=make.actor(rep), now=now, tz=ZoneInfo("Asia/Shanghai")
    )
    assert not result.ok and result.refusal.limit == Limit.COOLING
