"""The store Counter: phone lookup, store visibility, quick add with duplicates, member tiers."""

import uuid
from datetime import timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from db.models import Customer, Visit
from db.types import utcnow
from tests import factories as make
from tests.support import csrf_token, html, texts
from web.counter.controller import LOOKUP_LIMIT


async def _customer(db, team, name, phone, level="C", **kw) -> Customer:
    """A walk-in customer of a store (a person, level C unless told)."""
    return await make.customer(
        db, team=team, name=name, phone=phone, level=level, kind="person", source="walk_in", **kw
    )


@pytest.fixture
async def stores(db):
    store = await make.team(db, "南京西路门店", store=True)
    other = await make.team(db, "徐家汇门店", store=True)
    clerk = await make.user(db, name="吴婷", role="clerk", team=store, locale="en")
    other_clerk = await make.user(db, name="孙浩", role="clerk", team=other, locale="en")
    return {"store": store, "other": other, "clerk": clerk, "other_clerk": other_clerk}


async def test_last_four_digits_among_many_with_the_same_suffix(client, db, signed_in, stores):
    store = stores["store"]
    for i in range(30):
        await _customer(db, store, f"顾客{i:02d}", f"138{i:04d}8888")
    exact = await _customer(db, store, "林小姐", "13912348888")
    await _customer(db, store, "别的尾号", "13912341234")
    await signed_in(stores["clerk"])
    tree = html(await client.get("/counter?q=8888", headers={"HX-Request": "true"}))
    phones = texts(tree, ".counter-meta")
    assert len(phones) == LOOKUP_LIMIT
    assert all(p.split(" ")[0].endswith("8888") for p in phones)
    tree = html(await client.get("/counter?q=139 1234 8888", headers={"HX-Request": "true"}))
    first = tree.css_first("#counter-results [role=option] a")
    assert first.attributes["href"] == f"/counter/customers/{exact.id}"
    assert tree.css_first("[role=option]").attributes["aria-selected"] == "true"


async def test_clerk_never_sees_another_stores_customers(client, db, signed_in, stores):
    theirs = await _customer(db, stores["other"], "徐汇顾客", "13800007777")
    mine = await _customer(db, stores["store"], "南京顾客", "13900007777")
    await signed_in(stores["clerk"])
    tree = html(await client.get("/counter?q=7777"))
    assert texts(tree, ".counter-name") == ["南京顾客"]
    assert (await client.get(f"/counter/customers/{theirs.id}")).status_code == 404
    assert (await client.get(f"/counter/customers/{mine.id}")).status_code == 200


async def test_lookup_is_a_fragment_for_htmx_and_a_page_without_js(client, db, signed_in, stores):
    await _customer(db, stores["store"], "王先生", "13700001111")
    await signed_in(stores["clerk"])
    fragment = await client.get("/counter?q=1111", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and "王先生" in fragment.text
    page = html(await client.get("/counter?q=1111"))
    assert page.css_first("#counter-q").attributes["value"] == "1111"
    assert page.css_first("#counter-q").attributes["inputmode"] == "numeric"
    assert texts(page, ".counter-name") == ["王先生"]


async def test_not_found_offers_new_customer_prefilled_with_the_phone(
    client, db, signed_in, stores
):
    await signed_in(stores["clerk"])
    tree = html(await client.get("/counter?q=13812345678"))
    link = tree.css_first("#counter-results a.button")
    assert link.text(strip=True) == "New customer"
    form = html(await client.get(link.attributes["href"]))
    assert form.css_first("#quick-phone").attributes["value"] == "13812345678"


async def test_quick_add_needs_only_name_and_phone_and_catches_duplicates(
    client, db, signed_in, stores
):
    await signed_in(stores["clerk"])
    token = await csrf_token(client, "/counter/new")
    bad = await client.post(
        "/counter/customers", data={"_csrf_token": token, "name": "", "phone": "12"}
    )
    assert bad.status_code == 422
    tree = html(bad)
    assert tree.css_first("#quick-name-error") is not None
    assert tree.css_first("#quick-phone").attributes["value"] == "12"
    ok = await client.post(
        "/counter/customers",
        data={"_csrf_token": token, "name": "赵女士", "phone": "138 0013 8000"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    created = (await db.execute(select(Customer).where(Customer.name == "赵女士"))).scalar_one()
    assert created.team_id == stores["store"].id and created.phone == "13800138000"
    assert ok.headers["location"] == f"/counter/customers/{created.id}"
    again = await client.post(
        "/counter/customers",
        data={"_csrf_token": token, "name": "赵女士", "phone": "13800138000"},
    )
    assert again.status_code == 422
    warning = html(again).css_first("#customer-duplicate-warning")
    assert "赵女士" in warning.text()
    count = (await db.execute(select(func.count()).select_from(Customer))).scalar_one()
    assert count == 1
    confirmed = await client.post(
        "/counter/customers",
        data={
            "_csrf_token": token,
            "name": "赵女士",
            "phone": "13800138000",
            "confirm_duplicate": "1",
        },
        follow_redirects=False,
    )
    assert confirmed.status_code == 303
    assert (await db.execute(select(func.count()).select_from(Customer))).scalar_one() == 2


async def test_counter_customer_shows_store_history_tier_and_store_outcomes_first(
    client, db, signed_in, stores
):
    c = await _customer(db, stores["store"], "钱先生", "13600002222", level="B")
    now = utcnow()
    for i in range(6):
        db.add(
            Visit(
                customer_id=c.id,
                user_id=stores["clerk"].id,
                outcome="store_purchase",
                method="store",
                at=now - timedelta(days=i * 4),
                amount_cents=100_000,
                idempotency_key=uuid.uuid4().hex,
            )
        )
    c.last_visit_at = now
    db.add(c)
    await db.commit()
    await signed_in(stores["clerk"])
    tree = html(await client.get(f"/counter/customers/{c.id}"))
    assert tree.css_first("h1").text(strip=True) == "钱先生"
    assert "Core" in tree.css_first(".badge.tier-core").text()
    history = {
        d.css_first("dt").text(strip=True): d.css_first("dd").text(strip=True)
        for d in tree.css(".store-history > div")
    }
    tz = ZoneInfo("Asia/Shanghai")
    this_year = sum(
        1
        for i in range(6)
        if (now - timedelta(days=i * 4)).astimezone(tz).year == now.astimezone(tz).year
    )
    assert history["Purchases this year"] == str(this_year)
    assert history["Spent this year"].replace("\xa0", "") == f"CN¥{this_year * 1000:,}.00"
    outcome_buttons = [b.text(strip=True) for b in tree.css("#visit-panel button[name=outcome]")]
    assert outcome_buttons[:2] == ["Came to store", "Purchased in store"]


async def test_reps_cannot_use_the_counter(client, db, signed_in, stores):
    field = await make.team(db, "华东销售一组")
    await signed_in("rep", name="陈静", team=field)
    assert (await client.get("/counter")).status_code == 403


async def test_admin_sets_member_tier_thresholds_with_validation(client, db, signed_in):
    await signed_in("admin", name="王芳", locale="en")
    token = await csrf_token(client, "/admin/rfm")
    form = {
        "_csrf_token": token,
        "recency_core_days": "10",
        "recency_key_days": "5",
        "frequency_core": "6",
        "frequency_key": "3",
        "monetary_core_cents": "5000",
        "monetary_key_cents": "1000",
    }
    bad = await client.post("/admin/rfm", data=form)
    assert bad.status_code == 422
    assert html(bad).css_first("#rfm-recency_core_days").attributes["value"] == "10"
    form["recency_key_days"] = "60"
    ok = await client.post("/admin/rfm", data=form, follow_redirects=False)
    assert ok.status_code == 303
    tree = html(await client.get("/admin/rfm"))
    assert tree.css_first("#rfm-monetary_core_cents").attributes["value"] == "5000"


HX = {"HX-Request": "true"}


def _history(tree) -> dict[str, str]:
    return {
        d.css_first("dt").text(strip=True): d.css_first("dd").text(strip=True).replace("\xa0", "")
        for d in tree.css(".store-history > div")
    }


async def test_store_history_refreshes_after_a_purchase_and_its_amount(
    client, db, signed_in, stores
):
    from db.models import AuditEvent, RecentlyViewed

    c = await _customer(db, stores["store"], "林小姐", "13912348888", level="B")
    await signed_in(stores["clerk"])
    page = html(await client.get(f"/counter/customers/{c.id}"))
    card = page.css_first("#counter-card")
    assert card.attributes["hx-trigger"] == "visitsChanged from:body"
    assert _history(page)["Purchases this year"] == "0"
    # Opening the customer at the counter is a view: audited and listed on Today.
    viewed = select(func.count()).select_from(RecentlyViewed)
    assert (await db.execute(viewed)).scalar_one() == 1
    audited = select(func.count()).where(AuditEvent.action == "customer_viewed")
    assert (await db.execute(audited)).scalar_one() == 1

    token = await csrf_token(client, f"/counter/customers/{c.id}")
    saved = await client.post(
        f"/customers/{c.id}/visits",
        data={
            "_csrf_token": token,
            "outcome": "store_purchase",
            "idempotency_key": uuid.uuid4().hex,
        },
        headers=HX,
    )
    assert saved.headers["hx-trigger"] == "visitsChanged"
    visit_id = (await db.execute(select(Visit.id).where(Visit.customer_id == c.id))).scalar_one()
    amount = await client.post(
        f"/visits/{visit_id}/amount", data={"_csrf_token": token, "amount": "1280.50"}, headers=HX
    )
    assert amount.status_code == 200
    assert amount.headers["hx-trigger"] == "visitsChanged"

    fragment = html(await client.get(card.attributes["hx-get"], headers=HX))
    history = _history(fragment)
    assert history["Store visits this year"] == "1"
    assert history["Purchases this year"] == "1"
    assert history["Spent this year"] == "CN¥1,280.50"
    assert fragment.css_first("#counter-card").attributes["hx-get"] == card.attributes["hx-get"]


async def test_counter_card_fragment_is_checked_and_plain_gets_go_to_the_page(
    client, db, signed_in, stores
):
    mine = await _customer(db, stores["store"], "林小姐", "13912348888")
    theirs = await _customer(db, stores["other"], "徐汇顾客", "13800007777")
    await signed_in(stores["clerk"])
    plain = await client.get(f"/counter/customers/{mine.id}/card", follow_redirects=False)
    assert plain.status_code in (302, 303)
    assert plain.headers["location"] == f"/counter/customers/{mine.id}"
    hidden = await client.get(f"/counter/customers/{theirs.id}/card", headers=HX)
    assert hidden.status_code == 404
    assert "徐汇顾客" not in hidden.text
