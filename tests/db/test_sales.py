"""Sales commands and queries on a real migrated SQLite database."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import event, select

from db.models import ApprovalRequest, Customer, StageChange, Visit
from db.reports import report_moves
from db.sales import (
    AlreadyDecided,
    PendingApproval,
    PipelineFilter,
    approval_decide,
    approval_pending_for_customer,
    approval_request_add,
    approvals_pending_list,
    history_list,
    pipeline_cards,
    pipeline_totals,
    sales_history,
    sales_rules_get,
    sales_rules_save,
    stage_move,
    status_payload,
)
from domain.enums import Stage, Status
from domain.sales import DEFAULT_STUCK_DAYS, ApprovalKind, status_change
from tests import factories as make
from tests.factories import actor

NOW = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)


@pytest.fixture
async def world(db):
    team = await make.team(db, "华东销售一组")
    rep = await make.user(db, name="陈静", role="rep", team=team)
    rep2 = await make.user(db, name="刘洋", role="rep", team=team)
    boss = await make.user(db, name="王经理", role="manager", team=team)
    return {"team": team, "rep": rep, "rep2": rep2, "boss": boss}


async def reload(db, model, id_):
    stmt = select(model).where(model.id == id_).execution_options(populate_existing=True)
    return (await db.execute(stmt)).scalar_one()


async def won_to_lost_request(db, world) -> tuple[Customer, ApprovalRequest]:
    c = await make.customer(
        db, via_form=True, name="华东机械", phone="13800138000", team=world["team"]
    )
    c = await reload(db, Customer, c.id)
    c.status, c.stage, c.owner_id = "won", "won", world["rep"].id
    await db.commit()
    c = await reload(db, Customer, c.id)
    change, _ = status_change(
        current_status=Status.WON, current_stage=Stage.WON, target="lost", reason="competitor"
    )
    req = await approval_request_add(
        db,
        kind=ApprovalKind.WON_TO_LOST,
        customer=c,
        payload=status_payload(change),
        requested_by=world["rep"].id,
        now=NOW,
    )
    await db.commit()
    return c, req


async def test_rules_fall_back_to_defaults_and_save(db, world):
    rules = await sales_rules_get(db)
    assert rules.criteria["proposal"] == ("expected_amount_cents",)
    assert rules.stuck_days == DEFAULT_STUCK_DAYS
    assert rules.approval_kinds == {"won_to_lost", "pool_release"}
    await sales_rules_save(
        db,
        criteria={"negotiation": ["contact_name", "bogus"]},
        stuck_days={"lead": 5},
        approval_kinds=["pool_release"],
        actor_id=None,
    )
    await db.commit()
    rules = await sales_rules_get(db)
    assert rules.criteria["negotiation"] == ("contact_name",)
    assert rules.criteria["proposal"] == ()
    assert rules.stuck_days["lead"] == 5 and rules.stuck_days["proposal"] is None
    assert rules.approval_kinds == {"pool_release"}


async def test_a_second_request_while_one_is_pending_is_refused(db, world):
    c, _req = await won_to_lost_request(db, world)
    c = await reload(db, Customer, c.id)
    with pytest.raises(PendingApproval):
        await approval_request_add(
            db, kind=ApprovalKind.POOL_RELEASE, customer=c, payload={}, requested_by=None
        )
    with pytest.raises(PendingApproval):
        await stage_move(
            db, customer=c, to_stage=Stage.AFTER_SALES, fields={}, comment="", user_id=None
        )


async def test_the_slower_of_two_deciders_is_told_and_nothing_applies_twice(
    sessionmaker, db, world
):
    c, req = await won_to_lost_request(db, world)
    async with sessionmaker() as other:
        stale = await reload(other, ApprovalRequest, req.id)  # read while still pending
        first = await reload(db, ApprovalRequest, req.id)
        await approval_decide(db, request=first, approve=True, decided_by=world["boss"].id)
        await db.commit()
        with pytest.raises(AlreadyDecided):
            await approval_decide(other, request=stale, approve=False, decided_by=0)
        await other.rollback()
    assert (await reload(db, ApprovalRequest, req.id)).state == "approved"
    assert (await reload(db, Customer, c.id)).status == "lost"
    lost = await db.execute(
        select(StageChange).where(StageChange.customer_id == c.id, StageChange.to_status == "lost")
    )
    rows = lost.scalars().all()
    # Applied once, as the requester's change, with the reason: the report reads this row.
    assert len(rows) == 1 and rows[0].user_id == world["rep"].id
    assert rows[0].reason == "competitor"
    moves = await report_moves(db, team_id=world["team"].id, start=NOW - timedelta(days=1))
    assert [(m.to_status, m.reason) for m in moves if m.to_status == Status.LOST] == [
        (Status.LOST, "competitor")
    ]


async def test_the_pending_list_carries_recent_visits_and_history_orders_newest_first(db, world):
    c, req = await won_to_lost_request(db, world)
    for i in range(4):
        db.add(
            Visit(
                customer_id=c.id,
                user_id=world["rep"].id,
                outcome="called",
                method="phone",
                at=NOW - timedelta(days=i + 1),
                note=f"第{i}次",
                idempotency_key=f"k{i}",
            )
        )
    await db.commit()
    items = await approvals_pending_list(db, actor=actor(world["boss"]))
    assert [i.id for i in items] == [req.id]
    assert [v.note for v in items[0].recent_visits] == ["第0次", "第1次", "第2次"]
    assert await approvals_pending_list(db, actor=actor(world["rep2"])) == []
    first = await reload(db, ApprovalRequest, req.id)
    await approval_decide(db, request=first, approve=True, decided_by=world["boss"].id)
    await db.commit()
    events = [e.event for e in await history_list(db, customer_id=c.id)]
    # Decided now (after the customer was created, and the request at NOW before that).
    assert events[:2] == ["status", "approved"] and events[-1] == "requested"


async def test_board_is_one_aggregate_query_plus_one_for_cards(db, world):
    team, rep, rep2 = world["team"], world["rep"], world["rep2"]
    specs = [
        ("lead", rep, 100, "A"),
        ("proposal", rep, 200, "B"),
        ("proposal", rep2, 300, "B"),
        ("negotiation", None, None, "C"),
    ]
    ids = []
    for i, (stage, owner, cents, level) in enumerate(specs):
        c = await make.customer(
            db,
            via_form=True,
            name=f"客户{i}",
            phone=f"1380013800{i}",
            team=team,
            owner=owner,
            level=level,
        )
        c = await reload(db, Customer, c.id)
        c.stage, c.expected_amount_cents = stage, cents
        ids.append(c.id)
    lost = await make.customer(
        db, via_form=True, name="流失客户", phone="13900139000", team=team, owner=rep
    )
    lost = await reload(db, Customer, lost.id)
    lost.status, lost.stage = "lost", "proposal"
    await db.commit()
    # The proposal of rep has been there 20 days (stuck after 14 by default).
    c1 = await reload(db, Customer, ids[1])
    await stage_move(
        db,
        customer=c1,
        to_stage=Stage.NEGOTIATION,
        fields={},
        comment="",
        user_id=None,
        now=NOW - timedelta(days=30),
    )
    c1 = await reload(db, Customer, ids[1])
    await stage_move(
        db,
        customer=c1,
        to_stage=Stage.PROPOSAL,
        fields={},
        comment="",
        user_id=None,
        now=NOW - timedelta(days=20),
    )
    await db.commit()

    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = db.bind.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        boss = actor(world["boss"])
        totals = await pipeline_totals(
            db, actor=boss, filters=PipelineFilter(), stuck_days=DEFAULT_STUCK_DAYS, now=NOW
        )
        cards = await pipeline_cards(db, actor=boss, filters=PipelineFilter())
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert len(statements) == 2
    by_stage = {t.stage: t for t in totals}
    assert (by_stage["proposal"].count, by_stage["proposal"].amount_cents) == (2, 500)
    assert by_stage["proposal"].stuck == 1  # the lost customer is not on the board
    assert by_stage["lead"].count == 1 and by_stage["won"].count == 0
    assert [c.id for c in cards["proposal"]] == [ids[1], ids[2]]  # longest in stage first
    mine = await pipeline_totals(
        db,
        actor=actor(rep),
        filters=PipelineFilter(),
        stuck_days=DEFAULT_STUCK_DAYS,
        now=NOW,
    )
    # A rep sees their own customers and the pool, never a colleague's.
    assert {t.stage: t.count for t in mine if t.count} == {
        "lead": 1,
        "proposal": 1,
        "negotiation": 1,
    }
    pool = await pipeline_totals(
        db,
        actor=boss,
        filters=PipelineFilter(owner_id=0, level="C"),
        stuck_days=DEFAULT_STUCK_DAYS,
        now=NOW,
    )
    assert {t.stage: t.count for t in pool if t.count} == {"negotiation": 1}


async def test_the_pages_pending_request_comes_with_its_history(db, world):
    c, req = await won_to_lost_request(db, world)
    # Decided requests, one older and two stamped later than the pending one (a clock put
    # right): with a small limit the History's rows miss the pending request.
    for i in range(3):
        db.add(
            ApprovalRequest(
                kind=ApprovalKind.POOL_RELEASE,
                customer_id=c.id,
                team_id=world["team"].id,
                payload={"comment": f"第{i}次"},
                requested_by=world["rep"].id,
                requested_at=NOW + timedelta(days=i - 1),
                state="rejected",
                decided_by=world["boss"].id,
                decided_at=NOW + timedelta(days=i - 1, hours=1),
            )
        )
    await db.commit()
    expected = await approval_pending_for_customer(db, customer_id=c.id)
    assert expected is not None and expected.id == req.id
    for limit in (1, 2, 50):
        history = await sales_history(db, customer_id=c.id, limit=limit)
        assert history.pending == expected
        assert history.entries == await history_list(db, customer_id=c.id, limit=limit)
    await approval_decide(
        db,
        request=await reload(db, ApprovalRequest, req.id),
        approve=False,
        decided_by=world["boss"].id,
    )
    await db.commit()
    for limit in (1, 50):
        assert (await sales_history(db, customer_id=c.id, limit=limit)).pending is None
