"""The Visits region over HTTP: two taps, idempotency, undo, details, no-JS, visibility."""

import asyncio
from datetime import date, timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select, update

from db.models import AuditEvent, Customer, RecentlyViewed, Visit
from db.types import utcnow
from tests import factories as make
from tests.support import csrf_token, html, texts

HX = {"HX-Request": "true"}


@pytest.fixture
async def world(client, db, signed_in):
    """A rep signed in (English UI) with one customer of theirs that has a location."""
    team = await make.team(db, "华东销售一组")
    rep = await signed_in("rep", name="陈静", team=team, locale="en")
    customer = await make.customer(
        db, team=team, owner=rep, level="A", lat=31.2304, lng=121.4737, name="上海华东机械"
    )
    token = await csrf_token(client, f"/customers/{customer.id}/visits")
    return {
        "team": team,
        "rep": rep,
        "customer": customer,
        "cid": customer.id,
        "token": token,
        "cookies": dict(client.cookies),
    }


def form(world, **extra) -> dict:
    """The fields an outcome tap sends."""
    return {"_csrf_token": world["token"], "idempotency_key": make.new_key(), **extra}


async def count(db, model=Visit, *where) -> int:
    """Count rows of a table."""
    return (await db.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


async def customer_row(db, cid: int) -> Customer:
    """Read a customer fresh from the database."""
    stmt = select(Customer).where(Customer.id == cid).execution_options(populate_existing=True)
    return (await db.execute(stmt)).scalar_one()


# --- the region: page and fragment ----------------------------------------------------


async def test_visit_panel_fragment_and_page(client, world):
    url = f"/customers/{world['cid']}/visits"
    page = await client.get(url)
    assert page.status_code == 200
    assert "<html" in page.text
    assert "HX-Request" in page.headers["vary"]
    tree = html(page)
    assert tree.css_first("h1").text(strip=True) == "上海华东机械"
    fragment = await client.get(url, headers=HX)
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    tree = html(fragment)
    section = tree.css_first("section#visit-panel")
    assert section.attributes["aria-labelledby"] == "visits-heading"
    assert tree.css_first("#visits-heading").text(strip=True) == "Visits"


async def test_region_has_record_visit_then_outcome_buttons_ready_in_the_page(client, world):
    tree = html(await client.get(f"/customers/{world['cid']}/visits", headers=HX))
    record = tree.css_first("button[data-visit-open]")
    assert record.text(strip=True) == "Record visit"
    assert record.attributes["aria-controls"] == "outcome-sheet"
    # Without JavaScript the same button opens the fallback page.
    opener = record.parent
    assert opener.tag == "form" and opener.attributes["method"] == "get"
    assert opener.attributes["action"] == f"/customers/{world['cid']}/visits/new"
    sheet = tree.css_first("form#outcome-sheet")
    assert "hidden" in sheet.attributes
    assert sheet.attributes["method"] == "post"
    assert sheet.attributes["action"] == sheet.attributes["hx-post"]
    assert sheet.css_first("input[name=_csrf_token]").attributes["value"]
    assert len(sheet.css_first("input[name=idempotency_key]").attributes["value"]) >= 32
    assert texts(sheet, "button[name=outcome]") == [
        "Met: interested",
        "Met: not now",
        "Not met",
        "Phone call",
        "Came to store",
        "Purchased in store",
        "Message / WeChat",
    ]
    # The visit script comes with every page (the base page), so a customer page that
    # arrives by an HTMX swap (e.g. right after saving a new customer) works at once.
    page = html(await client.get(f"/customers/{world['cid']}"))
    scripts = [n.attributes.get("src") or "" for n in page.css("head script")]
    assert sum(src.startswith("/static/js/visits.js") for src in scripts) == 1
    assert tree.css_first("script") is None  # the fragment needs no script of its own


async def test_region_in_chinese(client, db, signed_in, world):
    rep = await signed_in("rep", name="王五", team=world["team"])
    customer = await make.customer(db, team=world["team"], owner=rep)
    tree = html(await client.get(f"/customers/{customer.id}/visits", headers=HX))
    assert tree.css_first("#visits-heading").text(strip=True) == "拜访记录"
    assert tree.css_first("button[data-visit-open]").text(strip=True) == "记录拜访"
    assert texts(tree, "button[name=outcome]")[:3] == [
        "已面谈-有意向",
        "已面谈-暂无需求",
        "未见到人",
    ]


async def test_viewing_the_region_remembers_the_customer_as_recently_viewed(client, db, world):
    await client.get(f"/customers/{world['cid']}/visits")
    assert await count(db, RecentlyViewed, RecentlyViewed.customer_id == world["cid"]) == 1


# --- recording ------------------------------------------------------------------------


async def test_tap_outcome_saves_and_returns_the_timeline_with_undo(client, db, world):
    before = utcnow()
    response = await client.post(
        f"/customers/{world['cid']}/visits",
        data=form(world, outcome="met_interested", device_at=before.isoformat()),
        headers=HX,
    )
    assert response.status_code == 200
    assert "<html" not in response.text
    assert response.headers["hx-trigger"] == "visitsChanged"
    # Only the new visit comes back; the sheet prepends it to the list.
    tree = html(response)
    items = tree.css("li.visit-item")
    assert len(items) == 1
    first = items[0]
    assert "fresh" in first.attributes["class"]
    assert first.css_first(".visit-outcome").text(strip=True) == "Met: interested"
    assert first.css_first("time").attributes["datetime"]
    assert first.css_first("button.undo").text(strip=True) == "Undo"
    seconds = float(first.css_first("form.undo-form").attributes["data-undo-seconds"])
    assert 8 < seconds <= 10
    assert first.css_first("form.undo-form input[name=_csrf_token]") is not None
    sheet = html(await client.get(f"/customers/{world['cid']}/visits", headers=HX))
    form_node = sheet.css_first("form#outcome-sheet")
    assert form_node.attributes["hx-target"] == "#visit-list"
    assert form_node.attributes["hx-swap"] == "afterbegin"
    assert sheet.css_first("ol#visit-list li.visit-item").attributes["id"] == first.attributes["id"]
    visit = (await db.execute(select(Visit))).scalar_one()
    assert visit.outcome == "met_interested" and visit.method == "field"
    assert visit.device_at is not None
    c = await customer_row(db, world["cid"])
    assert c.last_visit_at == visit.at
    assert c.next_follow_up_on is not None


async def test_new_visit_is_at_the_top(client, db, world):
    for outcome in ("called", "message"):
        await client.post(
            f"/customers/{world['cid']}/visits", data=form(world, outcome=outcome), headers=HX
        )
    tree = html(await client.get(f"/customers/{world['cid']}/visits", headers=HX))
    assert texts(tree, "li.visit-item .visit-outcome") == ["Message / WeChat", "Phone call"]


async def test_location_is_stored_and_the_distance_shown(client, db, world):
    response = await client.post(
        f"/customers/{world['cid']}/visits",
        data=form(world, outcome="met_not_now", lat="31.2333", lng="121.4737", accuracy="18"),
        headers=HX,
    )
    visit = (await db.execute(select(Visit))).scalar_one()
    assert visit.accuracy_m == 18 and visit.distance_m == pytest.approx(322, abs=1)
    distance = html(response).css_first(".visit-distance").text(strip=True)
    assert distance == "322 m from customer"


async def test_far_away_distance_in_km(client, db, world):
    response = await client.post(
        f"/customers/{world['cid']}/visits",
        data=form(world, outcome="called", lat="31.30", lng="121.4737"),
        headers=HX,
    )
    assert html(response).css_first(".visit-distance").text(strip=True) == "7.7 km from customer"


async def test_no_location_no_distance_and_nonsense_location_is_dropped(client, db, world):
    for extra in ({}, {"lat": "abc", "lng": "999"}):
        response = await client.post(
            f"/customers/{world['cid']}/visits",
            data=form(world, outcome="not_met", **extra),
            headers=HX,
        )
        assert response.status_code == 200
        assert html(response).css_first(".visit-distance") is None
    rows = (await db.execute(select(Visit.lat, Visit.distance_m))).all()
    assert rows == [(None, None), (None, None)]


async def test_same_key_twice_gets_the_same_answer_and_one_row(client, db, world):
    data = form(world, outcome="called")
    first = await client.post(f"/customers/{world['cid']}/visits", data=data, headers=HX)
    second = await client.post(f"/customers/{world['cid']}/visits", data=data, headers=HX)
    assert first.status_code == second.status_code == 200
    ids = [html(r).css_first("li.visit-item").attributes["id"] for r in (first, second)]
    assert ids[0] == ids[1]
    assert await count(db) == 1
    assert await count(db, AuditEvent, AuditEvent.action == "visit_recorded") == 1


async def test_concurrent_duplicate_submissions_store_one_visit(app, db, world):
    """Several clients (a double tap, a retry, an offline replay) send one key at once."""
    data = form(world, outcome="met_interested")

    async def submit():
        async with AsyncTestClient(app=app, base_url="http://localhost:8000") as c:
            for name, value in world["cookies"].items():
                c.cookies.set(name, value)
            return await c.post(f"/customers/{world['cid']}/visits", data=data, headers=HX)

    responses = await asyncio.gather(*(submit() for _ in range(8)))
    assert {r.status_code for r in responses} == {200}
    ids = {html(r).css_first("li.visit-item").attributes["id"] for r in responses}
    assert len(ids) == 1
    assert await count(db) == 1
    assert await count(db, AuditEvent, AuditEvent.action == "visit_recorded") == 1


async def test_no_js_flow_form_page_then_post_then_303(client, db, world):
    page = await client.get(f"/customers/{world['cid']}/visits/new")
    assert page.status_code == 200
    tree = html(page)
    assert tree.css_first("h1").text(strip=True) == "Record visit"
    sheet = tree.css_first("form.outcome-sheet")
    assert sheet.attributes["method"] == "post"
    assert sheet.attributes["action"] == f"/customers/{world['cid']}/visits"
    assert "hx-post" not in sheet.attributes
    key = sheet.css_first("input[name=idempotency_key]").attributes["value"]
    token = sheet.css_first("input[name=_csrf_token]").attributes["value"]
    buttons = sheet.css("button[type=submit][name=outcome]")
    assert len(buttons) == 7
    data = {"_csrf_token": token, "idempotency_key": key, "outcome": "store_visit"}
    response = await client.post(
        f"/customers/{world['cid']}/visits", data=data, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/customers/{world['cid']}"
    # A browser re-submitting the same page (back button, double click) adds nothing.
    again = await client.post(
        f"/customers/{world['cid']}/visits", data=data, follow_redirects=False
    )
    assert again.status_code == 303
    assert await count(db) == 1


async def test_no_js_customer_page_shows_the_visit_with_undo(client, db, world):
    await client.post(
        f"/customers/{world['cid']}/visits",
        data=form(world, outcome="called"),
        follow_redirects=False,
    )
    tree = html(await client.get(f"/customers/{world['cid']}/visits"))
    assert tree.css_first(".flash").text(strip=True).startswith("Visit saved.")
    assert tree.css_first("li.visit-item button.undo") is not None


async def test_missing_key_is_generated_bad_key_refused(client, db, world):
    data = {"_csrf_token": world["token"], "outcome": "called"}
    response = await client.post(f"/customers/{world['cid']}/visits", data=data, headers=HX)
    assert response.status_code == 200
    data["idempotency_key"] = "bad key!"
    response = await client.post(f"/customers/{world['cid']}/visits", data=data, headers=HX)
    assert response.status_code == 400
    assert response.headers["hx-retarget"] == "#error-banner"
    assert "Reload the page" in response.text
    assert await count(db) == 1


async def test_unknown_outcome_is_a_clear_400(client, db, world):
    response = await client.post(
        f"/customers/{world['cid']}/visits", data=form(world, outcome="danced"), headers=HX
    )
    assert response.status_code == 400
    assert "no longer offered" in response.text
    assert await count(db) == 0


async def test_post_without_csrf_is_refused(client, db, world):
    data = form(world, outcome="called")
    del data["_csrf_token"]
    response = await client.post(f"/customers/{world['cid']}/visits", data=data, headers=HX)
    assert response.status_code == 403
    assert await count(db) == 0


# --- visibility -----------------------------------------------------------------------


async def test_customers_you_may_not_see_are_404(client, db, world):
    other_team = await make.team(db, "华北销售组")
    elsewhere = await make.customer(db, team=other_team)
    colleague = await make.user(db, name="刘洋", role="rep", team=world["team"])
    theirs = await make.customer(db, team=world["team"], owner=colleague)
    for customer in (elsewhere, theirs):
        url = f"/customers/{customer.id}/visits"
        assert (await client.get(url)).status_code == 404
        assert (await client.get(url + "/new")).status_code == 404
        response = await client.post(url, data=form(world, outcome="called"), headers=HX)
        assert response.status_code == 404
    assert (
        await client.post("/customers/99999/visits", data=form(world, outcome="called"))
    ).status_code == 404
    assert await count(db) == 0


async def test_signed_out_visitor_goes_to_sign_in(app, world):
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as anon:
        response = await anon.get(f"/customers/{world['cid']}/visits", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


# --- undo -----------------------------------------------------------------------------


async def _record(client, world, outcome="called", headers=HX) -> int:
    response = await client.post(
        f"/customers/{world['cid']}/visits", data=form(world, outcome=outcome), headers=headers
    )
    assert response.status_code == 200
    return int(html(response).css_first("li.visit-item").attributes["id"].removeprefix("visit-"))


async def test_undo_within_window_removes_visit_and_restores_cadence(client, db, world):
    await db.execute(
        update(Customer)
        .where(Customer.id == world["cid"])
        .values(next_follow_up_on=date(2026, 1, 2), last_visit_at=None)
    )
    await db.commit()
    visit_id = await _record(client, world)
    assert (await customer_row(db, world["cid"])).next_follow_up_on != date(2026, 1, 2)
    response = await client.post(
        f"/visits/{visit_id}/undo", data={"_csrf_token": world["token"]}, headers=HX
    )
    assert response.status_code == 200
    tree = html(response)
    assert tree.css_first("#visit-timeline") is not None
    assert tree.css_first("li.visit-item") is None
    assert tree.css_first("[role=status]").text(strip=True) == "Visit removed."
    assert await count(db) == 0
    c = await customer_row(db, world["cid"])
    assert c.next_follow_up_on == date(2026, 1, 2) and c.last_visit_at is None
    actions = (await db.execute(select(AuditEvent.action).order_by(AuditEvent.id))).scalars()
    assert [a for a in actions if a.startswith("visit_")] == ["visit_recorded", "visit_undone"]


async def test_undo_after_window_is_refused_with_a_clear_message(client, db, world):
    visit_id = await _record(client, world)
    await db.execute(
        update(Visit).where(Visit.id == visit_id).values(at=utcnow() - timedelta(seconds=30))
    )
    await db.commit()
    response = await client.post(
        f"/visits/{visit_id}/undo", data={"_csrf_token": world["token"]}, headers=HX
    )
    assert response.status_code == 409
    assert response.headers["hx-retarget"] == "#error-banner"
    assert "Too late to undo" in html(response).css_first("#error-banner").text()
    # Without JavaScript: back to the customer with the same message.
    response = await client.post(
        f"/visits/{visit_id}/undo", data={"_csrf_token": world["token"]}, follow_redirects=False
    )
    assert response.status_code == 303
    page = await client.get(response.headers["location"])
    assert "Too late to undo" in html(page).css_first(".flash-error").text()
    assert await count(db) == 1


async def test_undo_button_is_gone_after_the_window(client, db, world):
    visit_id = await _record(client, world)
    await db.execute(
        update(Visit).where(Visit.id == visit_id).values(at=utcnow() - timedelta(seconds=11))
    )
    await db.commit()
    tree = html(await client.get(f"/customers/{world['cid']}/visits", headers=HX))
    assert tree.css_first("button.undo") is None


async def test_no_js_undo_redirects_back(client, db, world):
    visit_id = await _record(client, world)
    response = await client.post(
        f"/visits/{visit_id}/undo", data={"_csrf_token": world["token"]}, follow_redirects=False
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/customers/{world['cid']}"
    assert await count(db) == 0


async def test_undo_only_your_own_visit_and_only_where_you_can_see(client, db, signed_in, world):
    visit_id = await _record(client, world)
    await signed_in("manager", name="李伟", team=world["team"], locale="en")
    token = await csrf_token(client, "/")
    response = await client.post(
        f"/visits/{visit_id}/undo", data={"_csrf_token": token}, headers=HX
    )
    assert response.status_code == 403
    assert "Only the person who recorded" in response.text
    other_team = await make.team(db, "华北销售组")
    await signed_in("rep", name="黄丽", team=other_team, locale="en")
    token = await csrf_token(client, "/")
    response = await client.post(
        f"/visits/{visit_id}/undo", data={"_csrf_token": token}, headers=HX
    )
    assert response.status_code == 404
    assert await count(db) == 1


# --- details after the fact -----------------------------------------------------------


async def test_edit_details_fragment_and_page(client, db, world):
    visit_id = await _record(client, world)
    fragment = await client.get(f"/visits/{visit_id}/edit", headers=HX)
    assert fragment.status_code == 200 and "<html" not in fragment.text
    tree = html(fragment)
    li = tree.css_first(f"li#visit-{visit_id}")
    assert li is not None
    assert li.css_first("form").attributes["hx-post"] == f"/visits/{visit_id}/edit"
    labels = texts(tree, "label")
    assert labels == [
        "Note",
        "Customer feedback",
        "Next action",
        "Next action due",
        "Milestone",
        "Amount (CNY)",
    ]
    assert texts(tree, "select[name=milestone] option") == [
        "None",
        "Contract submitted",
        "First payment received",
        "Contract signed",
    ]
    page = await client.get(f"/visits/{visit_id}/edit")
    assert "<html" in page.text
    page_form = html(page).css_first("form.visit-form")
    assert "hx-post" not in page_form.attributes
    assert page_form.attributes["action"] == f"/visits/{visit_id}/edit"


async def test_save_details_inline(client, db, world):
    visit_id = await _record(client, world)
    data = {
        "_csrf_token": world["token"],
        "note": "Met the purchaser",
        "feedback": "Price is high",
        "next_action": "Send a quote",
        "next_action_due": "2026-12-01",
        "milestone": "contract_submitted",
        "amount": "1,280.50",
    }
    response = await client.post(f"/visits/{visit_id}/edit", data=data, headers=HX)
    assert response.status_code == 200
    tree = html(response)
    item = tree.css_first(f"li#visit-{visit_id}")
    assert item.css_first(".visit-note").text(strip=True) == "Met the purchaser"
    assert "Contract submitted" in item.text()
    assert item.css_first(".visit-amount").text(strip=True) == "CN¥1,280.50"
    visit = await db.get(Visit, visit_id)
    await db.refresh(visit)
    assert visit.amount_cents == 128050
    assert visit.next_action_due == date(2026, 12, 1)
    event = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "visit_updated"))
    ).scalar_one()
    assert set(event.detail["fields"]) == {
        "note",
        "feedback",
        "next_action",
        "next_action_due",
        "milestone",
        "amount_cents",
    }


async def test_save_details_without_js_redirects(client, db, world):
    visit_id = await _record(client, world)
    response = await client.post(
        f"/visits/{visit_id}/edit",
        data={"_csrf_token": world["token"], "note": "ok"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/customers/{world['cid']}"


async def test_details_validation_422_keeps_input_and_says_why(client, db, world):
    visit_id = await _record(client, world)
    data = {
        "_csrf_token": world["token"],
        "note": "keep me",
        "next_action_due": "next week",
        "amount": "12.345",
    }
    for headers in (HX, {}):
        response = await client.post(f"/visits/{visit_id}/edit", data=data, headers=headers)
        assert response.status_code == 422
        tree = html(response)
        assert tree.css_first("#f-note").text() == "keep me"
        due = tree.css_first("#f-next_action_due")
        assert due.attributes["value"] == "next week"
        assert due.attributes["aria-invalid"] == "true"
        error = tree.css_first("#" + due.attributes["aria-describedby"])
        assert error.text(strip=True) == "Enter a date such as 2026-11-30."
        assert tree.css_first("#f-amount-error").text(strip=True) == (
            "Use at most two decimal places (fen)."
        )
    visit = await db.get(Visit, visit_id)
    assert visit.note == ""


async def test_purchase_saves_in_two_taps_then_offers_add_amount(client, db, world):
    response = await client.post(
        f"/customers/{world['cid']}/visits",
        data=form(world, outcome="store_purchase"),
        headers=HX,
    )
    tree = html(response)
    item = tree.css_first("li.visit-item")
    visit_id = int(item.attributes["id"].removeprefix("visit-"))
    amount = item.css_first("form.amount-form")
    assert amount.css_first("label").text(strip=True) == "Add amount"
    field = amount.css_first("input[name=amount]")
    assert field.attributes["inputmode"] == "decimal"
    assert "data-autofocus" in field.attributes
    bad = await client.post(
        f"/visits/{visit_id}/amount",
        data={"_csrf_token": world["token"], "amount": "twelve"},
        headers=HX,
    )
    assert bad.status_code == 422
    bad_tree = html(bad)
    assert bad_tree.css_first("input[name=amount]").attributes["value"] == "twelve"
    assert bad_tree.css_first(".field-error").text(strip=True) == (
        "Enter an amount in yuan, e.g. 1,280.50."
    )
    ok = await client.post(
        f"/visits/{visit_id}/amount",
        data={"_csrf_token": world["token"], "amount": "1,280.50"},
        headers=HX,
    )
    assert ok.status_code == 200
    ok_tree = html(ok)
    assert ok_tree.css_first(".visit-amount").text(strip=True) == "CN¥1,280.50"
    assert ok_tree.css_first("form.amount-form") is None
    visit = await db.get(Visit, visit_id)
    await db.refresh(visit)
    assert visit.amount_cents == 128050


async def test_amount_without_js(client, db, world):
    visit_id = await _record(client, world, outcome="store_purchase")
    response = await client.post(
        f"/visits/{visit_id}/amount",
        data={"_csrf_token": world["token"], "amount": "99"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    bad = await client.post(
        f"/visits/{visit_id}/amount", data={"_csrf_token": world["token"], "amount": "-1"}
    )
    assert bad.status_code == 422
    assert html(bad).css_first("#f-amount").attributes["value"] == "-1"


async def test_details_of_others_visits(client, db, signed_in, world):
    visit_id = await _record(client, world)
    colleague = await make.user(db, name="刘洋", role="rep", team=world["team"], locale="en")
    # A pool customer both reps may see: the colleague may look but not edit.
    pool = await make.customer(db, team=world["team"], owner=None)
    pool_visit = await client.post(
        f"/customers/{pool.id}/visits", data=form(world, outcome="called"), headers=HX
    )
    pool_visit_id = int(html(pool_visit).css_first("li.visit-item").attributes["id"][6:])
    await signed_in(colleague)
    token = await csrf_token(client, "/")
    assert (await client.get(f"/visits/{visit_id}/edit")).status_code == 404
    assert (await client.get(f"/visits/{pool_visit_id}/edit")).status_code == 403
    response = await client.post(
        f"/visits/{pool_visit_id}/edit", data={"_csrf_token": token, "note": "x"}, headers=HX
    )
    assert response.status_code == 403
    await signed_in("manager", name="李伟", team=world["team"], locale="en")
    token = await csrf_token(client, "/")
    response = await client.post(
        f"/visits/{visit_id}/edit", data={"_csrf_token": token, "note": "checked"}, headers=HX
    )
    assert response.status_code == 200


async def test_cancel_inline_edit_returns_the_item(client, db, world):
    visit_id = await _record(client, world)
    response = await client.get(f"/visits/{visit_id}", headers=HX)
    assert response.status_code == 200
    assert html(response).css_first(f"li#visit-{visit_id}") is not None
    response = await client.get(f"/visits/{visit_id}", follow_redirects=False)
    assert response.status_code == 303


# --- the next follow-up line refreshes after a visit -----------------------------------


async def test_follow_up_line_refreshes_itself_after_a_visit(client, db, world):
    page = html(await client.get(f"/customers/{world['cid']}"))
    line = page.css_first("#customer-follow-up")
    assert line.attributes["hx-trigger"] == "visitsChanged from:body"
    assert line.css_first("time") is None  # never visited: no follow-up yet
    url = line.attributes["hx-get"]

    response = await client.post(
        f"/customers/{world['cid']}/visits", data=form(world, outcome="met_interested"), headers=HX
    )
    assert response.headers["hx-trigger"] == "visitsChanged"
    fragment = html(await client.get(url, headers=HX))
    due = (await customer_row(db, world["cid"])).next_follow_up_on
    assert due is not None
    assert fragment.css_first("#customer-follow-up time").attributes["datetime"] == due.isoformat()
    assert fragment.css_first("#customer-follow-up").attributes["hx-get"] == url  # keeps listening


async def test_follow_up_fragment_is_checked_and_plain_gets_go_to_the_page(client, db, world):
    plain = await client.get(f"/customers/{world['cid']}/follow-up", follow_redirects=False)
    assert plain.status_code in (302, 303)
    assert plain.headers["location"] == f"/customers/{world['cid']}"
    other_team = await make.team(db, "华北销售组")
    outsider = await make.user(db, name="黄丽", role="rep", team=other_team)
    theirs = await make.customer(db, team=other_team, owner=outsider, name="北京长城商贸")
    hidden = await client.get(f"/customers/{theirs.id}/follow-up", headers=HX)
    assert hidden.status_code == 404
    assert "北京长城商贸" not in hidden.text


@pytest.mark.sqlite_only("the write gate's file lock orders SQLite writers of several processes")
async def test_a_visit_refused_as_busy_says_so_saves_nothing_and_the_retry_saves_it_once(
    client, db, world, database_url, monkeypatch
):
    """Another process holds the write lock past the timeout: 503 with a reason, then a retry."""
    import fcntl
    import os

    monkeypatch.setattr("db.engine.GATE_TIMEOUT_S", 0.3)
    path = database_url.split("///", 1)[1] + ".write-lock"
    other_process = os.open(path, os.O_RDWR | os.O_CREAT)  # its own lock, as a worker's
    fcntl.flock(other_process, fcntl.LOCK_EX)
    data = form(world, outcome="called")
    try:
        busy = await client.post(f"/customers/{world['cid']}/visits", data=data, headers=HX)
    finally:
        fcntl.flock(other_process, fcntl.LOCK_UN)
        os.close(other_process)
    assert busy.status_code == 503
    assert busy.headers["retry-after"] == "2"
    assert "busy saving other changes, so this was not saved" in html(busy).text()
    assert await count(db) == 0

    retry = await client.post(f"/customers/{world['cid']}/visits", data=data, headers=HX)
    assert retry.status_code == 200
    assert await count(db) == 1
