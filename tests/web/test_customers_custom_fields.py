"""Admin-defined custom fields: the admin page, and the fields on the customer form and page."""

from sqlalchemy import select

from db.models import Customer, CustomFieldDefinition
from tests import factories as make
from tests.support import csrf_token, html, texts


async def post(client, path: str, data: dict, token_from: str):
    token = await csrf_token(client, token_from)
    return await client.post(path, data={"_csrf_token": token, **data}, follow_redirects=False)


def error_of(tree, name: str) -> str:
    node = tree.css_first(f"[name={name}]")
    assert node.attributes.get("aria-invalid") == "true"
    return tree.css_first("#" + node.attributes["aria-describedby"]).text(strip=True)


async def test_only_admins_define_fields(client, db, signed_in):
    await signed_in("manager")
    assert (await client.get("/admin/custom-fields")).status_code == 403


async def test_admin_defines_fields_and_mistakes_are_explained(client, db, signed_in):
    await signed_in("admin", name="王芳", locale="en")
    page = "/admin/custom-fields"
    response = await post(
        client,
        page,
        {"key": "Budget Year", "label_en": "", "label_zh": "预算", "kind": "choice"},
        page,
    )
    assert response.status_code == 422
    tree = html(response)
    assert error_of(tree, "key").startswith("Use lowercase letters")
    assert error_of(tree, "label_en") == "Enter the English label."
    assert error_of(tree, "choices") == "Enter at least one choice, one per line."
    assert tree.css_first("input[name=label_zh]").attributes["value"] == "预算"

    data = {
        "key": "budget_year",
        "label_en": "Budget year",
        "label_zh": "预算年度",
        "kind": "number",
    }
    response = await post(client, page, {**data, "required": "1"}, page)
    assert response.status_code == 303 and response.headers["location"] == page
    response = await post(client, page, data, page)
    assert response.status_code == 422
    assert error_of(html(response), "key") == "This key is already used by another field."
    response = await post(
        client,
        page,
        {
            "key": "channel",
            "label_en": "Channel",
            "label_zh": "渠道",
            "kind": "choice",
            "choices": "Online\nDealer\nDealer",
        },
        page,
    )
    assert response.status_code == 303
    rows = (
        (await db.execute(select(CustomFieldDefinition).order_by(CustomFieldDefinition.id)))
        .scalars()
        .all()
    )
    assert [(r.key, r.kind, r.required, r.choices) for r in rows] == [
        ("budget_year", "number", True, []),
        ("channel", "choice", False, ["Online", "Dealer"]),
    ]
    tree = html(await client.get(page))
    assert texts(tree, "table.custom-fields code") == ["budget_year", "channel"]


async def test_custom_fields_are_on_the_customer_form_validated_and_shown(client, db, signed_in):
    admin = await make.user(db, name="王芳", role="admin", locale="en")
    await signed_in("rep", name="陈静")
    db.add(
        CustomFieldDefinition(
            key="budget_year",
            label_en="Budget year",
            label_zh="预算年度",
            kind="number",
            required=True,
        )
    )
    db.add(
        CustomFieldDefinition(
            key="channel",
            label_en="Channel",
            label_zh="渠道",
            kind="choice",
            choices=["Online", "Dealer"],
        )
    )
    await db.commit()
    tree = html(await client.get("/customers/new"))
    assert tree.css_first("label[for=f-custom_budget_year]").text(strip=True) == "预算年度"
    assert texts(tree, "select[name=custom_channel] option")[1:] == ["Online", "Dealer"]
    base = {"name": "华东机械", "phone": "13800138000", "level": "B", "source": "website"}
    response = await post(
        client, "/customers", {**base, "custom_budget_year": "明年"}, "/customers/new"
    )
    assert response.status_code == 422
    assert error_of(html(response), "custom_budget_year") == "请输入数字，例如 12 或 3.5。"
    response = await post(
        client,
        "/customers",
        {**base, "custom_budget_year": "2,027", "custom_channel": "dealer"},
        "/customers/new",
    )
    assert response.status_code == 303
    customer = (await db.execute(select(Customer))).scalar_one()
    assert customer.custom == {"budget_year": "2027", "channel": "Dealer"}
    tree = html(await client.get(response.headers["location"]))
    facts = {
        dt.text(strip=True): dd.text(strip=True)
        for dt, dd in zip(tree.css(".facts dt"), tree.css(".facts dd"), strict=True)
    }
    assert facts["预算年度"] == "2027" and facts["渠道"] == "Dealer"

    # A retired field leaves the form; its stored value stays.
    await signed_in(admin)
    row = (
        await db.execute(
            select(CustomFieldDefinition).where(CustomFieldDefinition.key == "channel")
        )
    ).scalar_one()
    page = "/admin/custom-fields"
    assert (await post(client, f"{page}/{row.id}/retire", {}, page)).status_code == 303
    tree = html(await client.get("/customers/new"))
    assert tree.css_first("[name=custom_channel]") is None
    # Changing a field keeps its key.
    response = await post(
        client,
        f"{page}/{row.id}/edit",
        {
            "key": "other",
            "label_en": "Sales channel",
            "label_zh": "销售渠道",
            "kind": "choice",
            "choices": "Online",
        },
        page,
    )
    assert response.status_code == 303
    await db.refresh(row)
    assert (row.key, row.label_en, row.active, row.choices) == (
        "channel",
        "Sales channel",
        True,
        ["Online"],
    )
