"""The admin's pool settings: limits and the return rule, with a preview count before saving."""

from datetime import timedelta

from sqlalchemy import select

from db.models import PoolSetting
from db.types import utcnow
from tests import factories as make
from tests.support import csrf_token, html

FORM = {
    "claims_per_day": "5",
    "max_owned": "100",
    "cooling_days": "3",
    "return_A": "10",
    "return_B": "60",
    "return_C": "90",
    "won_exempt": "1",
    "warn_days": "2",
    "run_hour": "3",
}


async def post(client, data):
    token = await csrf_token(client, "/admin/pool")
    return await client.post(
        "/admin/pool", data={"_csrf_token": token, **data}, follow_redirects=False
    )


async def test_preview_counts_what_the_rule_would_return_and_saves_nothing(client, db, signed_in):
    await signed_in("admin", locale="en")
    team = await make.team(db)
    rep = await make.user(db, team=team)
    old = utcnow() - timedelta(days=400)
    await make.customer(
        db, owner=rep, level="A", last_visit_at=utcnow() - timedelta(days=20), created_at=old
    )
    page = html(await client.get("/admin/pool"))
    assert page.css_first("#pool-would-return").text(strip=True) == (
        "This rule returns 0 customers to the pool now."
    )
    response = await post(client, {**FORM, "action": "preview"})
    assert response.status_code == 200
    assert html(response).css_first("#pool-would-return").text(strip=True) == (
        "This rule returns 1 customer to the pool now."
    )
    stored = (await db.execute(select(PoolSetting.return_a_days))).scalar_one()
    assert stored == 30


async def test_save_stores_the_rules(client, db, signed_in):
    await signed_in("admin", locale="en")
    response = await post(client, {**FORM, "action": "save"})
    assert response.status_code == 303
    row = (await db.execute(select(PoolSetting))).scalar_one()
    assert (row.claims_per_day, row.return_a_days, row.won_exempt, row.run_hour) == (5, 10, True, 3)


async def test_a_wrong_number_is_shown_beside_its_field(client, db, signed_in):
    await signed_in("admin", locale="en")
    response = await post(client, {**FORM, "run_hour": "25", "action": "save"})
    assert response.status_code == 422
    error = html(response).css_first("#ps-run_hour-error").text()
    assert error == "Enter a whole number this setting allows (hours 0–23, days up to 3650)."
