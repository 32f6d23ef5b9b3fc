"""Customers and the counter: one URL per page and fragment, and the request's own clock."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from db.models import Customer
from tests import factories as make
from tests.support import csrf_token, html, sign_in

HX = {"HX-Request": "true"}
SHANGHAI = ZoneInfo("Asia/Shanghai")
# Far enough back to fall in another month than the real one, yet inside a session's life.
CLOCK = (datetime.now(UTC) - timedelta(days=40)).replace(microsecond=0)


@pytest.fixture
def settings(settings):
    """The app's clock is fixed: every request reads CLOCK as its time."""
    return replace(settings, extra={**settings.extra, "clock": lambda: CLOCK})


async def _created(db, name: str) -> Customer:
    stmt = select(Customer).where(Customer.name == name).execution_options(populate_existing=True)
    return (await db.execute(stmt)).scalar_one()


def _number_prefix() -> str:
    """Customer numbers count per month of the company's calendar."""
    return "C" + CLOCK.astimezone(SHANGHAI).strftime("%Y%m")


async def test_a_new_customer_is_numbered_and_stamped_by_the_request_clock(client, db):
    team = await make.team(db)
    await sign_in(client, db, await make.user(db, role="rep", team=team))
    token = await csrf_token(client, "/customers/new")
    data = {"name": "时钟机械", "phone": "13800138000", "level": "A", "source": "referral"}
    response = await client.post(
        "/customers", data={"_csrf_token": token, **data}, follow_redirects=False
    )
    assert response.status_code == 303
    created = await _created(db, "时钟机械")
    assert created.number.startswith(_number_prefix())
    assert created.created_at.replace(tzinfo=created.created_at.tzinfo or UTC) == CLOCK


async def test_a_walk_in_added_at_the_counter_is_numbered_by_the_request_clock(client, db):
    store = await make.team(db, "南京西路门店", store=True)
    await sign_in(client, db, await make.user(db, role="clerk", team=store))
    token = await csrf_token(client, "/counter/new")
    response = await client.post(
        "/counter/customers",
        data={"_csrf_token": token, "name": "钱先生", "phone": "13900139000"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert (await _created(db, "钱先生")).number.startswith(_number_prefix())


async def test_the_counter_lookup_is_one_url_for_the_page_and_the_results(client, db):
    store = await make.team(db, "南京西路门店", store=True)
    await make.customer(db, via_form=True, name="林小姐", phone="13912348888", team=store)
    await sign_in(client, db, await make.user(db, role="clerk", team=store, locale="en"))
    page = html(await client.get("/counter"))
    form = page.css_first("#counter-form")
    box = form.css_first("#counter-q")
    # The field asks, as you type, the very URL the form submits without JavaScript.
    assert box.attributes["hx-get"] == form.attributes["action"] == "/counter"
    fragment = await client.get("/counter?q=8888", headers=HX)
    assert "<html" not in fragment.text and "HX-Request" in fragment.headers["vary"]
    assert [a.text(strip=True) for a in html(fragment).css("#counter-results .counter-name")] == [
        "林小姐"
    ]
    full = html(await client.get("/counter?q=8888"))
    assert full.css_first("#counter-form") is not None
    assert [a.text(strip=True) for a in full.css("#counter-results .counter-name")] == ["林小姐"]


async def test_an_empty_search_submitted_without_javascript_shows_the_list(client, db):
    team = await make.team(db)
    rep = await make.user(db, role="rep", team=team, locale="en")
    await make.customer(
        db, via_form=True, name="华东机械", phone="13800138000", team=team, owner=rep
    )
    await sign_in(client, db, rep)
    tree = html(await client.get("/customers?q=+"))
    names = [a.text(strip=True) for a in tree.css("#customer-list .customer-row > a")]
    assert names == ["华东机械"]
    assert tree.css_first("h1").text(strip=True) == "Customers"


async def test_the_contacts_fragment_sends_a_plain_get_to_the_customer_page(client, db):
    team = await make.team(db)
    rep = await make.user(db, role="rep", team=team)
    customer = await make.customer(
        db, via_form=True, name="华东机械", phone="13800138000", team=team, owner=rep
    )
    await sign_in(client, db, rep)
    plain = await client.get(f"/customers/{customer.id}/contacts", follow_redirects=False)
    assert plain.status_code == 303
    assert plain.headers["location"] == f"/customers/{customer.id}#contacts"
    fragment = await client.get(f"/customers/{customer.id}/contacts", headers=HX)
    assert html(fragment).css_first("#contact-list") is not None
    assert "HX-Request" in fragment.headers["vary"]
