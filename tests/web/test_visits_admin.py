"""Admins edit the outcome list and the cadence; nobody else may."""

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Customer, Outcome
from tests import factories as make
from tests.support import csrf_token, html, texts

HX = {"HX-Request": "true"}


@pytest.fixture
async def admin(client, db, signed_in):
    """An English-speaking admin, signed in."""
    return await signed_in("admin", name="王芳", locale="en")


async def post_form(client, path: str, token: str, headers: dict | None = None, **fields):
    """Submit an admin form as a browser does (CSRF field, redirect not followed)."""
    data = {"_csrf_token": token, **fields}
    return await client.post(path, data=data, headers=headers or {}, follow_redirects=False)


@pytest.mark.parametrize("role", ["rep", "clerk", "manager"])
async def test_only_admins(client, db, signed_in, role):
    team = await make.team(db, "南京西路门店", store=role == "clerk")
    await signed_in(role, name="某人", team=team, locale="en")
    token = await csrf_token(client, "/")
    for path in ("/admin/outcomes", "/admin/cadence"):
        assert (await client.get(path)).status_code == 403
        response = await client.post(path, data={"_csrf_token": token, "days_A": "1"})
        assert response.status_code == 403
    response = await post_form(client, "/admin/outcomes/called", token, label_en="x")
    assert response.status_code == 403


async def test_outcome_list_page(client, admin):
    tree = html(await client.get("/admin/outcomes"))
    assert tree.css_first("h1").text(strip=True) == "Visit outcomes"
    forms = tree.css("form.outcome-admin")
    assert len(forms) == 8  # seven defaults and the new one
    first = forms[0]
    assert first.attributes["action"] == "/admin/outcomes/met_interested"
    assert first.css_first("input[name=label_zh]").attributes["value"] == "已面谈-有意向"
    assert first.css_first("input[name=_csrf_token]") is not None


async def _panel_outcomes(client, db, signed_in, team_name="华东销售一组") -> list[str]:
    """Sign in as a rep and read the outcome buttons of a customer's Visits region."""
    rep = await signed_in("rep", team=await make.team(db, team_name), locale="en")
    customer = await make.customer(db, owner=rep)
    tree = html(await client.get(f"/customers/{customer.id}/visits", headers=HX))
    return texts(tree, "button[name=outcome]")


async def test_edit_an_outcome_without_a_code_change(client, db, signed_in, admin):
    token = await csrf_token(client, "/admin/outcomes")
    response = await post_form(
        client,
        "/admin/outcomes/called",
        token,
        label_en="Phone call (answered)",
        label_zh="电话已接通",
        method="phone",
        position="5",
        active="1",
    )
    assert response.status_code == 303
    response = await post_form(
        client,
        "/admin/outcomes/not_met",
        token,
        label_en="Not met",
        label_zh="未见到人",
        method="field",
        position="30",
    )
    assert response.status_code == 303
    outcomes = await _panel_outcomes(client, db, signed_in)
    assert outcomes[0] == "Phone call (answered)"
    assert "Not met" not in outcomes
    events = (
        await db.execute(select(AuditEvent.action).where(AuditEvent.entity == "outcome"))
    ).scalars()
    assert list(events) == ["outcome_updated", "outcome_updated"]


async def test_add_an_outcome_and_record_with_it(client, db, signed_in, admin):
    token = await csrf_token(client, "/admin/outcomes")
    response = await post_form(
        client,
        "/admin/outcomes",
        token,
        code="site_survey",
        label_en="Site survey",
        label_zh="现场勘察",
        method="field",
        position="15",
        active="1",
        asks_amount="1",
    )
    assert response.status_code == 303
    row = await db.get(Outcome, "site_survey")
    assert row.asks_amount and row.active and row.position == 15
    outcomes = await _panel_outcomes(client, db, signed_in)
    assert outcomes[1] == "Site survey"
    customer = (await db.execute(select(Customer))).scalars().first()
    token = await csrf_token(client, f"/customers/{customer.id}/visits")
    response = await client.post(
        f"/customers/{customer.id}/visits",
        data={"_csrf_token": token, "outcome": "site_survey", "idempotency_key": make.new_key()},
        headers=HX,
    )
    item = html(response).css_first("li.visit-item")
    assert item.css_first(".visit-outcome").text(strip=True) == "Site survey"
    assert item.css_first("form.amount-form") is not None


async def test_outcome_validation_422(client, db, admin):
    token = await csrf_token(client, "/admin/outcomes")
    response = await post_form(
        client,
        "/admin/outcomes",
        token,
        code="called",
        label_en="Dup",
        label_zh="",
        method="fax",
        position="x",
    )
    assert response.status_code == 422
    tree = html(response)
    assert tree.css_first("#o-new-code").attributes["value"] == "called"
    assert tree.css_first("#o-new-code-error").text(strip=True) == (
        "An outcome with this code already exists."
    )
    assert tree.css_first("#o-new-label_en").attributes["value"] == "Dup"
    assert tree.css_first("#o-new-label_zh-error").text(strip=True) == "Enter a label."
    response = await post_form(
        client,
        "/admin/outcomes/called",
        token,
        label_en="",
        label_zh="电话",
        method="phone",
        position="1",
    )
    assert response.status_code == 422
    assert html(response).css_first("#o-called-label_en-error") is not None
    assert (await post_form(client, "/admin/outcomes/nope", token)).status_code == 404


async def test_cadence_page_edit_and_use(client, db, admin):
    tree = html(await client.get("/admin/cadence"))
    values = [tree.css_first(f"#days-{lvl}").attributes["value"] for lvl in "ABC"]
    assert values == ["3", "7", "14"]
    token = await csrf_token(client, "/admin/cadence")
    bad = await post_form(client, "/admin/cadence", token, days_A="0", days_B="7", days_C="x")
    assert bad.status_code == 422
    bad_tree = html(bad)
    assert bad_tree.css_first("#days-A").attributes["value"] == "0"
    assert bad_tree.css_first("#days-A-error").text(strip=True) == (
        "Enter a whole number of days between 1 and 365."
    )
    assert bad_tree.css_first("#days-C-error") is not None
    ok = await post_form(client, "/admin/cadence", token, days_A="2", days_B="10", days_C="30")
    assert ok.status_code == 303
    tree = html(await client.get("/admin/cadence"))
    assert [tree.css_first(f"#days-{lvl}").attributes["value"] for lvl in "ABC"] == [
        "2",
        "10",
        "30",
    ]
    event = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "cadence_updated"))
    ).scalar_one()
    assert event.detail == {"A": [3, 2], "B": [7, 10], "C": [14, 30]}
