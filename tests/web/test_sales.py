"""The sales process on the web: stage moves with inline criteria, status, approvals, History."""

from urllib.parse import quote, urlencode

from sqlalchemy import func, select

from db.models import ApprovalRequest, AuditEvent, Customer, StageChange
from tests import factories as make
from tests.support import csrf_token, html, sign_in, texts


async def post(client, path: str, data: dict, *, htmx: bool = False):
    """Submit a form like a browser (CSRF token from a real page), without following redirects."""
    token = await csrf_token(client, "/customers/new" if "/approvals" not in path else "/")
    headers = {"HX-Request": "true"} if htmx else {}
    return await client.post(
        path, data={"_csrf_token": token, **data}, headers=headers, follow_redirects=False
    )


async def fresh(db, customer_id: int) -> Customer:
    stmt = select(Customer).where(Customer.id == customer_id)
    return (await db.execute(stmt.execution_options(populate_existing=True))).scalar_one()


async def world(db):
    """A team with a rep, two managers, and a rep's customer; a second team with a manager."""
    team = await make.team(db)
    rep = await make.user(db, name="陈静", role="rep", team=team, locale="en")
    boss = await make.user(db, name="王经理", role="manager", team=team, locale="en")
    boss2 = await make.user(db, name="李经理", role="manager", team=team, locale="en")
    other = await make.team(db, "华南二组")
    stranger = await make.user(db, name="赵经理", role="manager", team=other, locale="en")
    c = await make.customer(
        db, via_form=True, name="华东机械", phone="13800138000", team=team, owner=rep
    )
    return team, rep, boss, boss2, stranger, c


async def make_won(db, c: Customer) -> None:
    """Put a customer at Won (as if marked won earlier)."""
    row = await fresh(db, c.id)
    row.status, row.stage = "won", "won"
    await db.commit()


# --- stage moves ---------------------------------------------------------------------------


async def test_customer_page_shows_the_stage_control_and_history(client, db):
    _team, rep, *_rest, c = await world(db)
    await sign_in(client, db, rep)
    tree = html(await client.get(f"/customers/{c.id}"))
    assert tree.css_first("#sales-panel [aria-current=step]").text(strip=True) == "Lead"
    assert "Change stage" in texts(tree, "#sales-actions button")
    assert {"Mark as won", "Mark as lost"} <= set(texts(tree, "#sales-actions button"))
    assert texts(tree, "#sales-history-heading") == ["History"]
    assert "Created at stage Lead" in tree.css_first("#sales-history").text()


async def test_the_stage_steps_mark_the_stages_done_and_the_current_one(client, db):
    _team, rep, *_rest, c = await world(db)
    row = await fresh(db, c.id)
    row.stage = "proposal"
    await db.commit()
    await sign_in(client, db, rep)
    steps = html(await client.get(f"/customers/{c.id}")).css("#sales-panel .stage-step")
    assert [s.text(strip=True) for s in steps][:4] == [
        "Lead",
        "First contact",
        "Needs confirmed",
        "Proposal",
    ]
    states = [s.attributes["class"].removeprefix("stage-step").strip() for s in steps]
    assert states == ["is-done"] * 3 + ["is-current"] + [""] * 3
    assert [s.attributes.get("aria-current") for s in steps].count("step") == 1
    assert steps[3].attributes["aria-current"] == "step"


async def test_moving_forward_without_js_is_kept_in_the_history(client, db):
    _team, rep, *_rest, c = await world(db)
    await sign_in(client, db, rep)
    confirm = await client.get(f"/customers/{c.id}/sales/stage?to=first_contact")
    assert confirm.status_code == 200
    assert html(confirm).css_first("#sales-stage-form") is not None
    response = await post(
        client, f"/customers/{c.id}/sales/stage", {"to": "first_contact", "comment": "见面了"}
    )
    assert response.status_code == 303 and response.headers["location"] == f"/customers/{c.id}"
    assert (await fresh(db, c.id)).stage == "first_contact"
    tree = html(await client.get(f"/customers/{c.id}"))
    first = tree.css_first("#sales-history li")
    assert "Stage: Lead → First contact" in first.text() and "见面了" in first.text()
    assert "陈静" in first.text()


async def test_a_move_missing_criteria_asks_for_the_fields_inline(client, db):
    _team, rep, *_rest, c = await world(db)
    await sign_in(client, db, rep)
    confirm = html(await client.get(f"/customers/{c.id}/sales/stage?to=proposal"))
    # Jumping to Proposal enters Needs confirmed too: both required fields are asked for.
    assert confirm.css_first("#sales-expected_amount") is not None
    assert confirm.css_first("#sales-needs") is not None
    response = await post(client, f"/customers/{c.id}/sales/stage", {"to": "proposal"})
    assert response.status_code == 422
    tree = html(response)
    assert tree.css_first("#sales-expected_amount-error").text(strip=True) == (
        "Fill this in to enter the stage."
    )
    assert (await fresh(db, c.id)).stage == "lead"
    response = await post(
        client,
        f"/customers/{c.id}/sales/stage",
        {"to": "proposal", "expected_amount": "abc", "needs": "两台机床"},
    )
    assert response.status_code == 422
    assert html(response).css_first("#sales-needs").text() == "两台机床"  # input kept
    response = await post(
        client,
        f"/customers/{c.id}/sales/stage",
        {"to": "proposal", "expected_amount": "12000", "needs": "两台机床"},
        htmx=True,
    )
    assert response.status_code == 200 and response.headers["HX-Location"] == f"/customers/{c.id}"
    saved = await fresh(db, c.id)
    assert (saved.stage, saved.expected_amount_cents, saved.needs) == (
        "proposal",
        1_200_000,
        "两台机床",
    )


async def test_the_stage_form_is_a_fragment_for_htmx(client, db):
    _team, rep, *_rest, c = await world(db)
    await sign_in(client, db, rep)
    response = await client.get(
        f"/customers/{c.id}/sales/stage?to=first_contact", headers={"HX-Request": "true"}
    )
    assert "HX-Request" in response.headers["vary"]
    tree = html(response)
    assert tree.css_first("#sales-stage-form") is not None and tree.css_first("nav") is None


async def test_refused_moves_say_why(client, db):
    _team, rep, *_rest, c = await world(db)
    await sign_in(client, db, rep)
    response = await post(client, f"/customers/{c.id}/sales/stage", {"to": "won"})
    assert response.status_code == 422
    assert "Mark as won" in html(response).css_first("#sales-stage-form .field-error").text()
    response = await post(client, f"/customers/{c.id}/sales/stage", {"to": "nonsense"})
    assert response.status_code == 422
    assert (await fresh(db, c.id)).stage == "lead"


async def test_another_reps_or_teams_customer_is_404(client, db):
    team, _rep, _boss, _b2, stranger, c = await world(db)
    colleague = await make.user(db, name="刘洋", role="rep", team=team)
    for user in (colleague, stranger):
        await sign_in(client, db, user)
        confirm = await client.get(f"/customers/{c.id}/sales/stage?to=first_contact")
        assert confirm.status_code == 404
        response = await post(client, f"/customers/{c.id}/sales/stage", {"to": "first_contact"})
        assert response.status_code == 404
    assert (await fresh(db, c.id)).stage == "lead"


async def test_a_clerk_may_not_move_deals(client, db):
    store = await make.team(db, "南京路门店", store=True)
    clerk = await make.user(db, name="店员", role="clerk", team=store)
    c = await make.customer(
        db, via_form=True, name="张三", phone="13900139000", team=store, owner=clerk
    )
    await sign_in(client, db, clerk)
    assert html(await client.get(f"/customers/{c.id}")).css_first("#sales-actions") is None
    response = await post(client, f"/customers/{c.id}/sales/stage", {"to": "first_contact"})
    assert response.status_code == 403


# --- status ----------------------------------------------------------------------------------


async def test_mark_as_won_sets_the_stage_to_won(client, db):
    _team, rep, *_rest, c = await world(db)
    await sign_in(client, db, rep)
    response = await post(client, f"/customers/{c.id}/sales/status", {"to": "won"})
    assert response.status_code == 303
    saved = await fresh(db, c.id)
    assert (saved.status, saved.stage) == ("won", "won")


async def test_lost_needs_a_reason_and_other_needs_words(client, db):
    _team, rep, *_rest, c = await world(db)
    await sign_in(client, db, rep)
    confirm = html(await client.get(f"/customers/{c.id}/sales/status?to=lost"))
    assert len(confirm.css("input[name=reason]")) == 5
    response = await post(client, f"/customers/{c.id}/sales/status", {"to": "lost"})
    assert response.status_code == 422
    assert "Choose a reason" in html(response).css_first("#sales-reason-error").text()
    response = await post(
        client, f"/customers/{c.id}/sales/status", {"to": "lost", "reason": "other"}
    )
    assert response.status_code == 422
    assert html(response).css_first("#sales-comment-error") is not None
    response = await post(
        client,
        f"/customers/{c.id}/sales/status",
        {"to": "lost", "reason": "other", "comment": "公司倒闭"},
    )
    assert response.status_code == 303
    saved = await fresh(db, c.id)
    assert (saved.status, saved.loss_reason) == ("lost", "other")
    last = (
        await db.execute(select(StageChange).order_by(StageChange.id.desc()).limit(1))
    ).scalar_one()
    assert (last.to_status, last.reason, last.comment) == ("lost", "other", "公司倒闭")


# --- approvals ---------------------------------------------------------------------------------


async def request_lost(client, db, rep, c):
    await sign_in(client, db, rep)
    return await post(
        client,
        f"/customers/{c.id}/sales/status",
        {"to": "lost", "reason": "competitor", "comment": "对手降价"},
    )


async def pending(db) -> ApprovalRequest:
    stmt = select(ApprovalRequest).execution_options(populate_existing=True)
    return (await db.execute(stmt)).scalar_one()


async def test_won_to_lost_waits_for_a_manager_and_the_page_says_so(client, db):
    _team, rep, *_rest, c = await world(db)
    await make_won(db, c)
    response = await request_lost(client, db, rep, c)
    assert response.status_code == 303
    saved = await fresh(db, c.id)
    assert saved.status == "won"  # nothing changes until decided
    tree = html(await client.get(f"/customers/{c.id}"))
    notice = tree.css_first("#sales-pending").text()
    assert "Pending approval" in notice and "Competitor won" in notice and "陈静" in notice
    assert tree.css_first("#sales-actions") is None
    assert "Withdraw request" in texts(tree, "#sales-pending button")
    # A second change while pending is refused.
    response = await post(client, f"/customers/{c.id}/sales/stage", {"to": "after_sales"})
    assert response.status_code == 422
    assert (await fresh(db, c.id)).stage == "won"


async def test_manager_approves_from_today_and_the_rep_sees_the_decision(client, db):
    _team, rep, boss, *_rest, c = await world(db)
    await make_won(db, c)
    await request_lost(client, db, rep, c)
    req = await pending(db)
    await sign_in(client, db, boss)
    today = html(await client.get("/"))
    assert texts(today, "#approvals-heading .count") == ["1"]
    assert "华东机械" in today.css_first("#sales-today").text()
    assert {"Approve", "Reject"} <= set(texts(today, "#sales-today button"))
    response = await post(
        client, f"/approvals/{req.id}/decide", {"decision": "approve", "back": "today"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/"
    saved = await fresh(db, c.id)
    assert (saved.status, saved.loss_reason) == ("lost", "competitor")
    assert (await pending(db)).state == "approved"
    actions = [
        e.action for e in (await db.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars()
    ]
    assert "approval_requested" in actions and "approval_approved" in actions
    await sign_in(client, db, rep)
    # Today loads the decisions from their own URL (a link without JavaScript).
    today = html(await client.get("/"))
    link = today.css_first("#sales-decisions a").attributes["href"]
    assert link == today.css_first("#sales-decisions").attributes["hx-get"] == "/decisions"
    fragment = html(await client.get(link, headers={"HX-Request": "true"}))
    assert "Approved" in fragment.css_first("#sales-decisions .decision-list").text()
    assert fragment.css_first("nav") is None
    page = html(await client.get(link))
    assert "王经理" in page.css_first("#sales-decisions").text()
    history = html(await client.get(f"/customers/{c.id}")).css_first("#sales-history").text()
    assert "Status: Won → Lost" in history and "Approved" in history
    assert "Asked for approval" in history


async def test_reject_changes_nothing(client, db):
    _team, rep, boss, *_rest, c = await world(db)
    await make_won(db, c)
    await request_lost(client, db, rep, c)
    req = await pending(db)
    await sign_in(client, db, boss)
    response = await post(
        client, f"/approvals/{req.id}/decide", {"decision": "reject", "comment": "再跟一下"}
    )
    assert response.status_code == 303 and response.headers["location"] == "/approvals"
    assert (await fresh(db, c.id)).status == "won"
    assert (await pending(db)).state == "rejected"


async def test_a_rep_cannot_approve(client, db):
    team, rep, *_rest, c = await world(db)
    await make_won(db, c)
    await request_lost(client, db, rep, c)
    req = await pending(db)
    other_rep = await make.user(db, name="刘洋", role="rep", team=team)
    await sign_in(client, db, other_rep)
    assert (await client.get("/approvals")).status_code == 403
    response = await post(client, f"/approvals/{req.id}/decide", {"decision": "approve"})
    assert response.status_code == 403
    assert (await fresh(db, c.id)).status == "won"


async def test_a_manager_of_another_team_can_neither_see_nor_decide(client, db):
    _team, rep, _boss, _b2, stranger, c = await world(db)
    await make_won(db, c)
    await request_lost(client, db, rep, c)
    req = await pending(db)
    await sign_in(client, db, stranger)
    assert "华东机械" not in (await client.get("/approvals")).text
    assert "华东机械" not in (await client.get("/")).text
    response = await post(client, f"/approvals/{req.id}/decide", {"decision": "approve"})
    assert response.status_code == 404
    assert (await pending(db)).state == "pending"


async def test_a_managers_own_request_goes_to_another_manager(client, db):
    _team, _rep, boss, boss2, _s, c = await world(db)
    await make_won(db, c)
    await request_lost(client, db, boss, c)
    req = await pending(db)
    assert "华东机械" not in html(await client.get("/approvals")).text()
    response = await post(client, f"/approvals/{req.id}/decide", {"decision": "approve"})
    assert response.status_code == 404
    await sign_in(client, db, boss2)
    assert "华东机械" in html(await client.get("/approvals")).text()
    response = await post(client, f"/approvals/{req.id}/decide", {"decision": "approve"})
    assert response.status_code == 303 and (await fresh(db, c.id)).status == "lost"


async def test_a_decided_request_cannot_be_applied_twice(client, db):
    _team, rep, boss, boss2, _s, c = await world(db)
    await make_won(db, c)
    await request_lost(client, db, rep, c)
    req = await pending(db)
    await sign_in(client, db, boss)
    await post(client, f"/approvals/{req.id}/decide", {"decision": "approve"})
    await sign_in(client, db, boss2)
    response = await post(client, f"/approvals/{req.id}/decide", {"decision": "reject"})
    assert response.status_code == 303
    page = html(await client.get("/approvals"))
    assert "This request was already decided." in page.text()
    assert (await pending(db)).state == "approved"
    moves = await db.execute(
        select(func.count()).select_from(StageChange).where(StageChange.to_status == "lost")
    )
    assert moves.scalar_one() == 1


async def test_withdraw_before_and_after_a_decision(client, db):
    _team, rep, boss, *_rest, c = await world(db)
    await make_won(db, c)
    await request_lost(client, db, rep, c)
    req = await pending(db)
    response = await post(client, f"/customers/{c.id}/sales/requests/{req.id}/withdraw", {})
    assert response.status_code == 303
    assert (await pending(db)).state == "withdrawn"
    assert (await fresh(db, c.id)).status == "won"
    # A new request, decided: withdrawing it now is refused.
    await request_lost(client, db, rep, c)
    req2 = (
        await db.execute(select(ApprovalRequest).where(ApprovalRequest.state == "pending"))
    ).scalar_one()
    await sign_in(client, db, boss)
    await post(client, f"/approvals/{req2.id}/decide", {"decision": "reject"})
    await sign_in(client, db, rep)
    response = await post(client, f"/customers/{c.id}/sales/requests/{req2.id}/withdraw", {})
    assert response.status_code == 303
    page = html(await client.get(f"/customers/{c.id}"))
    assert "This request was already decided." in page.text()
    state = await db.execute(
        select(ApprovalRequest.state)
        .where(ApprovalRequest.id == req2.id)
        .execution_options(populate_existing=True)
    )
    assert state.scalar_one() == "rejected"


async def test_switching_the_approval_off_applies_won_to_lost_at_once(client, db):
    _team, rep, *_rest, c = await world(db)
    admin = await make.user(db, name="管理员", role="admin")
    await make_won(db, c)
    await sign_in(client, db, admin)
    page = html(await client.get("/admin/sales"))
    assert page.css_first("input[name=approval][value=won_to_lost][checked]") is not None
    response = await post(
        client,
        "/admin/sales",
        {"approval": "pool_release", "required_proposal": "expected_amount_cents"},
    )
    assert response.status_code == 303
    await request_lost(client, db, rep, c)
    assert (await fresh(db, c.id)).status == "lost"


async def test_admin_settings_refuse_a_wrong_number_of_days(client, db):
    admin = await make.user(db, name="管理员", role="admin", locale="en")
    await sign_in(client, db, admin)
    response = await post(client, "/admin/sales", {"stuck_lead": "-3"})
    assert response.status_code == 422
    assert html(response).css_first("#stuck_lead-error") is not None
    assert html(response).css_first("#stuck_lead").attributes["value"] == "-3"


async def test_the_edit_form_no_longer_changes_stage_or_status(client, db):
    _team, rep, *_rest, c = await world(db)
    await sign_in(client, db, rep)
    tree = html(await client.get(f"/customers/{c.id}/edit"))
    assert tree.css_first("#customer-form select[name=stage]") is None
    assert tree.css_first("#customer-form select[name=status]") is None


async def test_the_status_form_answers_htmx_with_the_fragment_and_422(client, db):
    _team, rep, *_rest, c = await world(db)
    await sign_in(client, db, rep)
    response = await post(client, f"/customers/{c.id}/sales/status", {"to": "lost"}, htmx=True)
    assert response.status_code == 422
    tree = html(response)
    assert tree.css_first("#sales-status-form") is not None and tree.css_first("nav") is None
    response = await post(client, f"/customers/{c.id}/sales/status", {"to": "won"}, htmx=True)
    assert response.headers["HX-Location"] == f"/customers/{c.id}"
    assert (await fresh(db, c.id)).status == "won"


async def test_admin_finds_the_sales_settings_in_settings(client, db):
    admin = await make.user(db, name="管理员", role="admin", locale="en")
    await sign_in(client, db, admin)
    links = html(await client.get("/settings")).css(".admin-links a")
    assert "/admin/sales" in [a.attributes["href"] for a in links]
    rep = await make.user(db, name="陈静2", role="rep", team=await make.team(db), locale="en")
    await sign_in(client, db, rep)
    assert (await client.get("/admin/sales")).status_code == 403


async def test_odd_input_never_answers_500(client, db):
    _team, rep, boss, *_rest, c = await world(db)
    admin = await make.user(db, name="管理员", role="admin", locale="en")
    odd = ["", "\x00", "x" * 6000, "won", "lost", "-1", "999999999999999999999", "<b>"]
    await sign_in(client, db, rep)
    for value in odd:
        for path, data in (
            (f"/customers/{c.id}/sales/stage", {"to": value, "comment": value, "needs": value}),
            (f"/customers/{c.id}/sales/status", {"to": value, "reason": value, "comment": value}),
            (f"/customers/{c.id}/sales/requests/99/withdraw", {"x": value}),
        ):
            assert (await post(client, path, data)).status_code < 500, (path, value)
        for path in ("/customers/{}/sales/stage?to=", "/customers/{}/sales/status?to="):
            response = await client.get(path.format(c.id) + quote(value))
            assert response.status_code < 500
    await sign_in(client, db, boss)
    for value in odd:
        response = await post(client, "/approvals/1/decide", {"decision": value, "back": value})
        assert response.status_code < 500
        query = urlencode({"owner": value, "level": value, "source": value})
        assert (await client.get(f"/pipeline?{query}")).status_code < 500
    await sign_in(client, db, admin)
    for value in odd:
        data = {"stuck_lead": value, "required_lead": value, "approval": value}
        assert (await post(client, "/admin/sales", data)).status_code < 500


async def test_huge_ids_in_the_path_are_not_found(client, db):
    _team, rep, boss, *_rest, c = await world(db)
    huge = "99999999999999999999"
    await sign_in(client, db, rep)
    response = await post(client, f"/customers/{c.id}/sales/requests/{huge}/withdraw", {})
    assert response.status_code == 404
    assert (await client.get(f"/customers/{huge}/sales/stage?to=lead")).status_code == 404
    await sign_in(client, db, boss)
    response = await post(client, f"/approvals/{huge}/decide", {"decision": "approve"})
    assert response.status_code == 404
