"""Making a custom field required: existing customers are listed and only the full edit asks."""

from sqlalchemy import func, select

from db.models import Customer, CustomFieldDefinition, StageChange, Visit
from tests import factories as make
from tests.support import csrf_token, html, sign_in

PAGE = "/admin/custom-fields"


async def post(client, path: str, data: dict, token_from: str):
    token = await csrf_token(client, token_from)
    return await client.post(path, data={"_csrf_token": token, **data}, follow_redirects=False)


async def world(db):
    """A rep's two customers, saved before any custom field existed."""
    team = await make.team(db)
    rep = await make.user(db, name="陈静", role="rep", team=team, locale="en")
    admin = await make.user(db, name="王芳", role="admin", locale="en")
    first = await make.customer(
        db, via_form=True, name="华东机械", phone="13800138000", team=team, owner=rep
    )
    second = await make.customer(
        db, via_form=True, name="杭州恒通", phone="13900139000", team=team, owner=rep
    )
    return rep, admin, first, second


async def make_required(client, db, admin):
    await sign_in(client, db, admin)
    data = {"key": "budget", "label_en": "Budget", "label_zh": "预算", "kind": "text"}
    assert (await post(client, PAGE, data, PAGE)).status_code == 303
    field = (await db.execute(select(CustomFieldDefinition))).scalar_one()
    response = await post(client, f"{PAGE}/{field.id}/edit", {**data, "required": "1"}, PAGE)
    assert response.status_code == 303
    return field


async def test_admin_sees_the_customers_missing_a_field_made_required(client, db):
    _rep, admin, first, second = await world(db)
    await make_required(client, db, admin)
    tree = html(await client.get(PAGE))
    flashes = " ".join(n.text() for n in tree.css("#flash, .flash"))
    assert "2 existing customers have no value yet" in flashes
    missing = tree.css_first("details.missing-values")
    assert "2 customers without a value" in missing.css_first("summary").text()
    links = {a.text(strip=True): a.attributes["href"] for a in missing.css("a")}
    assert links == {
        "华东机械": f"/customers/{first.id}/edit",
        "杭州恒通": f"/customers/{second.id}/edit",
    }


async def test_stage_moves_and_visits_are_not_blocked_but_the_full_edit_asks(client, db):
    rep, admin, first, _second = await world(db)
    await make_required(client, db, admin)
    await sign_in(client, db, rep)
    customer_page = f"/customers/{first.id}"

    response = await post(
        client, f"{customer_page}/sales/stage", {"to": "first_contact"}, customer_page
    )
    assert response.status_code == 303
    moves = (
        select(func.count())
        .select_from(StageChange)
        .where(StageChange.customer_id == first.id, StageChange.to_stage == "first_contact")
    )
    assert (await db.execute(moves)).scalar_one() == 1

    token = await csrf_token(client, customer_page)
    response = await client.post(
        f"{customer_page}/visits",
        data={"_csrf_token": token, "idempotency_key": make.new_key(), "outcome": "called"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    visits = select(func.count()).select_from(Visit).where(Visit.customer_id == first.id)
    assert (await db.execute(visits)).scalar_one() == 1

    form = html(await client.get(f"{customer_page}/edit"))
    hint = form.css_first(
        "#" + form.css_first("[name=custom_budget]").attributes["aria-describedby"]
    )
    assert hint.text(strip=True).startswith("Required since this customer was saved")
    values = {
        i.attributes["name"]: i.attributes.get("value") or ""
        for i in form.css("#customer-form input[name]")
    }
    values.update(
        {
            s.attributes["name"]: (
                s.css_first("option[selected]") or s.css_first("option")
            ).attributes.get("value", "")
            for s in form.css("#customer-form select[name]")
        }
    )
    values["phone"] = "13800138001"
    response = await client.post(f"{customer_page}/edit", data=values, follow_redirects=False)
    assert response.status_code == 422
    again = html(response)
    assert again.css_first("[name=custom_budget]").attributes.get("aria-invalid") == "true"
    assert "Required since this customer was saved" in again.css_first("#customer-form").text()
    values["custom_budget"] = "50万"
    response = await client.post(f"{customer_page}/edit", data=values, follow_redirects=False)
    assert response.status_code == 303
    row = (
        await db.execute(
            select(Customer)
            .where(Customer.id == first.id)
            .execution_options(populate_existing=True)
        )
    ).scalar_one()
    assert row.custom == {"budget": "50万"} and row.phone == "13800138001"
