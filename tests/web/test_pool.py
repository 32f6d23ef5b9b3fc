"""The pool on the web: Claim from the list and the customer page, limits, Release to pool."""

from sqlalchemy import select, update

from db.models import ApprovalRequest, Customer, PoolSetting
from tests import factories as make
from tests.support import csrf_token, html, texts


async def owner_of(db, customer_id: int) -> int | None:
    return (
        await db.execute(select(Customer.owner_id).where(Customer.id == customer_id))
    ).scalar_one()


async def post(client, path: str, data: dict | None = None, *, htmx: bool = False):
    token = await csrf_token(client, "/customers")
    headers = {"HX-Request": "true"} if htmx else {}
    data = {"_csrf_token": token, **(data or {})}
    return await client.post(path, data=data, headers=headers, follow_redirects=False)


async def test_the_pool_filter_lists_pool_customers_with_a_claim_button(client, db, signed_in):
    team = await make.team(db)
    await signed_in("rep", locale="en")
    c = await make.customer(db, team=team, name="华东机械")
    tree = html(await client.get("/customers?owner=pool"))
    assert texts(tree, "#customer-list .customer-row > a") == ["华东机械"]
    form = tree.css_first(f"#pool-claim-{c.id}")
    assert form.attributes["action"] == f"/pool/{c.id}/claim"
    assert form.css_first("button").text(strip=True) == "Claim"


async def test_claim_without_javascript_makes_me_the_owner(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    c = await make.customer(db, team=team, name="华东机械")
    response = await post(client, f"/pool/{c.id}/claim")
    assert response.status_code == 303
    assert response.headers["location"] == f"/customers/{c.id}"
    assert await owner_of(db, c.id) == rep.id
    page = html(await client.get(f"/customers/{c.id}"))
    assert "You now own 华东机械." in page.text()
    assert page.css_first("#pool-actions a").text(strip=True) == "Release to pool"


async def test_the_daily_limit_says_which_limit_and_when_it_frees_up(client, db, signed_in):
    team = await make.team(db)
    await signed_in("rep", locale="en")
    await db.execute(update(PoolSetting).values(claims_per_day=1))
    await db.commit()
    first, second = await make.customer(db, team=team), await make.customer(db, team=team)
    assert (await post(client, f"/pool/{first.id}/claim", htmx=True)).status_code == 200
    response = await post(client, f"/pool/{second.id}/claim", htmx=True)
    assert response.status_code == 409
    result = html(response).css_first("#pool-claim-result")
    assert result.attributes["role"] == "alert"
    assert "the daily limit" in result.text() and "claim again from" in result.text()
    assert await owner_of(db, second.id) is None


async def test_the_limit_message_in_chinese(client, db, signed_in):
    team = await make.team(db)
    await signed_in("rep", locale="zh_CN")
    await db.execute(update(PoolSetting).values(max_owned=0))
    await db.commit()
    c = await make.customer(db, team=team)
    response = await post(client, f"/pool/{c.id}/claim", htmx=True)
    assert "最多可拥有" in html(response).css_first("#pool-claim-result").text()


async def test_a_customer_claimed_by_someone_else_is_told(client, db, signed_in):
    team = await make.team(db)
    await signed_in("rep", locale="en")
    other = await make.user(db, team=team, name="王芳")
    c = await make.customer(db, team=team)
    await db.execute(update(Customer).where(Customer.id == c.id).values(owner_id=other.id))
    await db.commit()
    response = await post(client, f"/pool/{c.id}/claim")
    # The rep may no longer see it at all: 404, nothing changes.
    assert response.status_code == 404
    assert await owner_of(db, c.id) == other.id


async def test_a_reps_release_waits_for_a_manager_then_the_customer_is_in_the_pool(
    client, db, signed_in
):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    c = await make.customer(db, owner=rep, name="华东机械")
    form = html(await client.get(f"/pool/{c.id}/release"))
    assert form.css_first("#pool-release-form textarea[name=reason]") is not None
    response = await post(client, f"/pool/{c.id}/release", {"reason": ""})
    assert response.status_code == 422
    assert html(response).css_first("#pool-reason-error") is not None
    response = await post(client, f"/pool/{c.id}/release", {"reason": "客户已搬迁"})
    assert response.status_code == 303
    assert await owner_of(db, c.id) == rep.id  # pending: nothing changed yet
    request = (await db.execute(select(ApprovalRequest))).scalar_one()
    assert request.kind == "pool_release" and request.payload == {"comment": "客户已搬迁"}
    assert "Pending approval" in html(await client.get(f"/customers/{c.id}")).text()
    # The manager approves it through the existing approvals.
    await signed_in("manager", team=team, name="李伟")
    token = await csrf_token(client, "/customers")
    decided = await client.post(
        f"/approvals/{request.id}/decide",
        data={"_csrf_token": token, "decision": "approve"},
        follow_redirects=False,
    )
    assert decided.status_code == 303
    assert await owner_of(db, c.id) is None


async def test_a_manager_releases_at_once(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", locale="en")
    rep = await make.user(db, team=team, name="王芳")
    c = await make.customer(db, owner=rep)
    response = await post(client, f"/pool/{c.id}/release", {"reason": "离职交接"})
    assert response.status_code == 303
    assert await owner_of(db, c.id) is None
    assert "Back in the public pool." in html(await client.get(f"/customers/{c.id}")).text()


async def test_a_rep_cannot_release_someone_elses_customer(client, db, signed_in):
    team = await make.team(db)
    await signed_in("rep", locale="en")
    other = await make.user(db, team=team, name="王芳")
    c = await make.customer(db, owner=other)
    assert (await client.get(f"/pool/{c.id}/release")).status_code == 404
    assert (await post(client, f"/pool/{c.id}/release", {"reason": "x"})).status_code == 404


async def test_today_offers_claim_from_pool(client, db, signed_in):
    team = await make.team(db)
    await signed_in("rep", locale="en")
    await make.customer(db, team=team)
    tree = html(await client.get("/"))
    link = next(a for a in tree.css("a") if a.text(strip=True).startswith("Claim from pool"))
    assert link.attributes["href"] == "/customers?owner=pool"


def test_the_pool_messages_are_translated():
    from domain import pool
    from web.core.i18n import load_catalogue

    catalogue = load_catalogue("zh_CN")
    assert [m for m in pool.MESSAGES if m not in catalogue] == []
