"""The hot reads built once and run as Core (db/reads.py) return what the ORM queries did.

Each reference below is the query as it was before issue 17 (built per call, run through
the ORM session); every kind of actor is checked against it on the same data.
"""

from dataclasses import astuple
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.orm import aliased

from db.custom_fields import custom_field_defs, custom_field_defs_active
from db.customers import customer_page
from db.models import (
    ApprovalRequest,
    Customer,
    CustomFieldDefinition,
    Outcome,
    RecentlyViewed,
    StageChange,
    Team,
    User,
    Visit,
)
from db.outcomes import outcome_list
from db.sales import approval_pending_for_customer, history_list
from db.today import _COLUMNS, TodayRow, recently_viewed_list, today_due
from db.visibility import visible_customers
from db.visits import (
    CustomerNotVisible,
    OutcomeUnknown,
    _to_view,
    _view_select,
    visit_list,
    visit_record,
    visit_view,
)
from domain.enums import Role
from domain.users import Actor
from tests import factories as make
from tests.factories import TODAY, new_key, utc

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
async def world(db):
    """Two sales teams and a store, every role, customers owned, pooled and elsewhere."""
    team = await make.team(db, "华东销售一组")
    other = await make.team(db, "华北销售组")
    store = await make.team(db, "静安门店", store=True)
    rep = await make.user(db, role="rep", team=team, name="陈静")
    rep2 = await make.user(db, role="rep", team=team, name="刘洋")
    manager = await make.user(db, role="manager", team=team, name="王经理")
    clerk = await make.user(db, role="clerk", team=store, name="吴婷")
    admin = await make.user(db, role="admin", name="管理员")
    loner = await make.user(db, role="rep", name="无组")
    customers = []
    for i, (owner, where) in enumerate(
        [(rep, team), (rep, team), (rep2, team), (None, team), (None, other), (None, store)] * 3
    ):
        due = TODAY + timedelta(days=(i % 5) - 3)
        customers.append(
            await make.customer(
                db,
                team=where,
                owner=owner,
                next_follow_up_on=due,
                last_visit_at=utc(2026, 11, i + 1),
            )
        )
    for i, c in enumerate(customers[:8]):
        for k in range(3):
            await make.visit(
                db, customer=c, user=rep if k % 2 else rep2, at=utc(2026, 11, 1 + k, i)
            )
    for user in (rep, manager, clerk, admin):
        for i, c in enumerate(customers):
            await make.viewed(db, user_id=user.id, customer_id=c.id, at=utc(2026, 11, 20, i))
    await db.commit()
    actors = [
        make.actor(rep),
        make.actor(rep2),
        make.actor(manager),
        make.actor(clerk, store=True),
        make.actor(admin),
        make.actor(loner),
    ]
    return actors, customers


async def _old_today_due(db, actor: Actor, limit: int):
    stmt = (
        select(*_COLUMNS)
        .outerjoin(User, User.id == Customer.owner_id)
        .where(
            visible_customers(actor),
            Customer.next_follow_up_on.is_not(None),
            Customer.next_follow_up_on <= TODAY,
        )
        .order_by(Customer.next_follow_up_on, Customer.last_visit_at, Customer.id)
        .limit(limit + 1)
    )
    if actor.role == Role.REP:
        stmt = stmt.where(Customer.owner_id == actor.id)
    rows = [TodayRow(*r) for r in (await db.execute(stmt)).all()]
    return rows[:limit], len(rows) > limit


async def _old_recently_viewed(db, actor: Actor, limit: int):
    stmt = (
        select(*_COLUMNS)
        .select_from(RecentlyViewed)
        .join(Customer, Customer.id == RecentlyViewed.customer_id)
        .outerjoin(User, User.id == Customer.owner_id)
        .where(RecentlyViewed.user_id == actor.id, visible_customers(actor))
        .order_by(RecentlyViewed.viewed_at.desc())
        .limit(limit)
    )
    return [TodayRow(*r) for r in (await db.execute(stmt)).all()]


async def test_today_lists_match_the_orm_queries_for_every_kind_of_actor(db, world):
    actors, _customers = world
    seen_any = False
    for actor in actors:
        for limit in (2, 100):
            got = await today_due(db, actor=actor, today=TODAY, limit=limit)
            assert got == await _old_today_due(db, actor, limit), (actor.role, limit)
            seen_any |= bool(got[0])
            recent = await recently_viewed_list(db, actor=actor, limit=limit)
            assert recent == await _old_recently_viewed(db, actor, limit), (actor.role, limit)
    assert seen_any  # the data has due customers at all, so equality says something
    rep_rows, _more = await today_due(db, actor=actors[0], today=TODAY)
    assert rep_rows and all(r.owner_id == actors[0].id for r in rep_rows)
    assert all(r.last_visit_at.tzinfo is not None for r in rep_rows)  # aware, as before


async def test_visit_list_and_visit_view_match_the_orm_queries(db, world):
    _actors, customers = world
    for c in customers[:9]:
        old = (
            await db.execute(
                _view_select()
                .where(Visit.customer_id == c.id)
                .order_by(Visit.at.desc(), Visit.id.desc())
                .limit(2)
            )
        ).all()
        assert await visit_list(db, customer_id=c.id, limit=2) == [_to_view(r) for r in old]
        for v in await visit_list(db, customer_id=c.id):
            row = (await db.execute(_view_select().where(Visit.id == v.id))).first()
            assert await visit_view(db, visit_id=v.id) == _to_view(row) == v
    assert await visit_view(db, visit_id=10**9) is None


async def test_customer_page_shows_exactly_the_customers_each_actor_may_see(db, world):
    actors, customers = world
    for actor in actors:
        for c in customers:
            old = (
                await db.execute(
                    select(Customer, User.name, Team.name)
                    .join(Team, Team.id == Customer.team_id)
                    .outerjoin(User, User.id == Customer.owner_id)
                    .where(Customer.id == c.id, visible_customers(actor))
                )
            ).first()
            page = await customer_page(db, actor=actor, customer_id=c.id)
            if old is None:
                assert page is None, (actor.role, c.id)
            else:
                assert (page.customer.id, page.owner_name, page.team_name) == (
                    old[0].id,
                    old[1],
                    old[2],
                )


async def test_recording_a_visit_reads_the_customer_only_where_visible(db, world):
    actors, customers = world
    ids = [c.id for c in customers[:6]]  # the rollbacks below expire the objects
    outcome = (await db.execute(select(Outcome.code).limit(1))).scalar_one()
    recorded = 0
    for actor in actors:
        for cid in ids:
            visible = (
                await db.execute(
                    select(Customer.id).where(Customer.id == cid, visible_customers(actor))
                )
            ).first() is not None
            if visible:
                await visit_record(
                    db, actor=actor, customer_id=cid, outcome=outcome, key=new_key(), tz=TZ
                )
                recorded += 1
            else:
                with pytest.raises(CustomerNotVisible):
                    await visit_record(
                        db, actor=actor, customer_id=cid, outcome=outcome, key=new_key(), tz=TZ
                    )
            await db.rollback()
    assert 0 < recorded < len(actors) * len(ids)
    with pytest.raises(OutcomeUnknown):
        await visit_record(
            db, actor=actors[4], customer_id=ids[0], outcome="no-such", key=new_key(), tz=TZ
        )


async def _old_history(db, customer_id: int, limit: int = 50):
    """The History region's reads as the ORM ran them before (moves, then requests)."""
    requester, decider = aliased(User, name="requester"), aliased(User, name="decider")
    moves = (
        await db.execute(
            select(StageChange, User.name)
            .outerjoin(User, User.id == StageChange.user_id)
            .where(StageChange.customer_id == customer_id)
            .order_by(StageChange.at.desc(), StageChange.id.desc())
            .limit(limit)
        )
    ).all()
    requests = (
        await db.execute(
            select(ApprovalRequest, Customer.name, Customer.status, requester.name, decider.name)
            .join(Customer, Customer.id == ApprovalRequest.customer_id)
            .outerjoin(requester, requester.id == ApprovalRequest.requested_by)
            .outerjoin(decider, decider.id == ApprovalRequest.decided_by)
            .where(ApprovalRequest.customer_id == customer_id)
            .order_by(ApprovalRequest.requested_at.desc())
            .limit(limit)
        )
    ).all()
    return moves, requests


async def test_history_and_pending_request_match_the_orm_queries(db, world):
    actors, customers = world
    rep, manager = actors[0], actors[2]
    first, second, third = customers[0], customers[1], customers[2]
    for i, (c, state) in enumerate(
        [(first, "approved"), (first, "rejected"), (first, "pending"), (second, "withdrawn")]
    ):
        decided = state != "pending"
        db.add(
            ApprovalRequest(
                kind="status",
                customer_id=c.id,
                team_id=c.team_id,
                payload={"to_status": "lost", "comment": f"第{i}次"},
                requested_by=rep.id,
                requested_at=utc(2026, 11, 10, i),
                state=state,
                decided_by=manager.id if decided else None,
                decided_at=utc(2026, 11, 10, i, 30) if decided else None,
                decision_comment="好" if decided else "",
            )
        )
    for i, c in enumerate([first, first, second]):
        db.add(
            StageChange(
                customer_id=c.id,
                user_id=rep.id if i else None,
                at=utc(2026, 11, 12, i),
                from_stage="lead",
                to_stage="qualified",
                from_status="open" if i == 2 else None,
                to_status="lost" if i == 2 else None,
                reason="price" if i == 2 else None,
                comment="说明" if i else "",
            )
        )
    await db.commit()
    for c in (first, second, third):
        moves, requests = await _old_history(db, c.id)
        history = await history_list(db, customer_id=c.id)
        assert [
            (h.at, h.user_name, h.to_stage, h.to_status) for h in history if h.kind is None
        ] == [(m.at, name or "", m.to_stage, m.to_status) for m, name in moves]
        asked = [h for h in history if h.event == "requested"]
        assert [(h.at, h.user_name, h.payload, h.comment) for h in asked] == [
            (r.requested_at, req or "", r.payload, r.payload["comment"])
            for r, _n, _s, req, _d in requests
        ]
        decided = [h for h in history if h.event in ("approved", "rejected", "withdrawn")]
        assert sorted((h.at, h.event, h.user_name, h.comment) for h in decided) == sorted(
            (r.decided_at, r.state, dec or "", r.decision_comment)
            for r, _n, _s, _req, dec in requests
            if r.decided_at is not None
        )
        pending = await approval_pending_for_customer(db, customer_id=c.id)
        old = [row for row in requests if row[0].state == "pending"]
        if old:
            r, name, status, req, _dec = old[0]
            assert pending is not None
            assert (pending.id, pending.customer_name, pending.customer_status) == (
                r.id,
                name,
                status,
            )
            assert (pending.requester_name, pending.payload, pending.requested_at) == (
                req,
                r.payload,
                r.requested_at,
            )
        else:
            assert pending is None
    assert len(await history_list(db, customer_id=first.id)) == 7  # 2 moves, 3 asked, 2 decided
    assert all(h.at.tzinfo is not None for h in await history_list(db, customer_id=first.id))


async def test_outcomes_and_custom_fields_match_the_orm_queries(db):
    db.add(CustomFieldDefinition(key="wechat", label_en="WeChat", label_zh="微信", position=2))
    db.add(
        CustomFieldDefinition(
            key="size", label_en="Size", label_zh="规模", kind="choice", choices=["小", "大"]
        )
    )
    db.add(CustomFieldDefinition(key="old", label_en="Old", label_zh="旧", active=False))
    db.add(
        Outcome(
            code="zz_retired",
            label_en="Retired",
            label_zh="停用",
            method="call",
            position=1,
            active=False,
        )
    )
    await db.commit()
    for active_only in (True, False):
        stmt = select(Outcome).order_by(Outcome.position, Outcome.code)
        if active_only:
            stmt = stmt.where(Outcome.active)
        old = [
            (o.code, o.label_en, o.label_zh, o.method, o.asks_amount, o.position, o.active)
            for o in (await db.execute(stmt)).scalars()
        ]
        got = await outcome_list(db, active_only=active_only)
        assert [astuple(o) for o in got] == old
        assert any(not o.active for o in got) is not active_only
    old_defs = (
        await db.execute(
            select(CustomFieldDefinition)
            .where(CustomFieldDefinition.active)
            .order_by(CustomFieldDefinition.position, CustomFieldDefinition.id)
        )
    ).scalars()
    got_defs = await custom_field_defs_active(db)
    assert got_defs == custom_field_defs(list(old_defs))
    assert [d.key for d in got_defs] == ["size", "wechat"]
    assert got_defs[0].choices == ("小", "大")
