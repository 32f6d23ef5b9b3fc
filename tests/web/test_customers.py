"""Customer pages and forms over HTTP: create, edit, duplicates, conflicts, contacts, owners."""

from sqlalchemy import event, func, select, update

from db.customers import contact_add
from db.models import AuditEvent, Contact, Customer, StageChange, User, Visit
from domain.contacts import validate_contact
from tests import factories as make
from tests.support import csrf_token, html, texts

BASIC = {
    "name": "上海华东机械有限公司",
    "phone": "138 0013 8000",
    "level": "A",
    "source": "referral",
}


async def post_form(client, path: str, data: dict, *, htmx: bool = False, token_from: str = ""):
    """Submit a form the way a browser does (with the CSRF field of a real page)."""
    token = await csrf_token(client, token_from or "/customers/new")
    headers = {"HX-Request": "true"} if htmx else {}
    return await client.post(
        path, data={"_csrf_token": token, **data}, headers=headers, follow_redirects=False
    )


async def get_customer(db, customer_id: int) -> Customer:
    stmt = select(Customer).where(Customer.id == customer_id)
    return (await db.execute(stmt.execution_options(populate_existing=True))).scalar_one()


async def count(db, model, *where) -> int:
    return (await db.execute(select(func.count()).select_from(model).where(*where))).scalar_one()


def field_error(tree, name: str) -> str:
    """Return the message shown beside an input, checking it is wired for screen readers."""
    node = tree.css_first(f"[name={name}]")
    assert node.attributes.get("aria-invalid") == "true", name
    described = node.attributes["aria-describedby"]
    message = tree.css_first(f"#{described}")
    assert message is not None, described
    return message.text(strip=True)


# --- the form and its stable names -------------------------------------------------------------


async def test_new_customer_form_uses_the_stable_names_in_english(client, db, signed_in):
    await signed_in("rep", locale="en")
    tree = html(await client.get("/customers"))
    assert tree.css_first("a[href='/customers/new']").text(strip=True) == "New customer"
    tree = html(await client.get("/customers/new"))
    labels = {n.attributes["for"]: n.text(strip=True) for n in tree.css("#customer-form label")}
    assert labels["f-name"] == "Name"
    assert labels["f-phone"] == "Phone"
    assert labels["f-level"] == "Level"
    assert labels["f-source"] == "Source"
    assert tree.css_first("#customer-form button[type=submit]").text(strip=True) == "Save"
    form = tree.css_first("form#customer-form")
    assert form.attributes["method"] == "post" and form.attributes["action"] == "/customers"
    assert form.css_first("input[name=_csrf_token]") is not None
    # A rep does not choose the owner: their new customers are theirs.
    assert tree.css_first("[name=owner_id]") is None


async def test_new_customer_form_uses_the_stable_names_in_chinese(client, db, signed_in):
    await signed_in("rep")
    tree = html(await client.get("/customers"))
    assert "新建客户" in texts(tree, "a")
    tree = html(await client.get("/customers/new"))
    labels = {n.attributes["for"]: n.text(strip=True) for n in tree.css("#customer-form label")}
    assert (labels["f-name"], labels["f-phone"], labels["f-level"], labels["f-source"]) == (
        "名称",
        "电话",
        "客户级别",
        "客户来源",
    )
    assert tree.css_first("#customer-form button[type=submit]").text(strip=True) == "保存"


# --- create ----------------------------------------------------------------------------------


async def test_create_without_javascript_redirects_to_the_customer_page(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    response = await post_form(client, "/customers", {**BASIC, "tags": "VIP, 展会"})
    assert response.status_code == 303
    customer = (await db.execute(select(Customer))).scalar_one()
    assert response.headers["location"] == f"/customers/{customer.id}"
    assert (customer.owner_id, customer.team_id, customer.phone) == (rep.id, team.id, "13800138000")
    assert customer.number.startswith("C") and customer.tags == ["VIP", "展会"]
    assert await count(db, StageChange, StageChange.customer_id == customer.id) == 1
    assert await count(db, AuditEvent, AuditEvent.action == "customer_created") == 1

    page = await client.get(response.headers["location"])
    tree = html(page)
    assert tree.css_first("h1").text(strip=True) == "上海华东机械有限公司"
    assert customer.number in tree.css_first(".customer-meta").text()
    assert tree.css_first("a[href='tel:13800138000']") is not None
    assert tree.css_first("a[href='sms:13800138000']") is not None
    badges = [n.text(separator=" ", strip=True) for n in tree.css(".badges .badge")]
    assert badges == ["Level A", "Stage Lead", "Status Potential"]
    assert tree.css_first("#visits-heading").text(strip=True) == "Visits"
    assert "Customer " + customer.number + " saved." in page.text  # the flash message
    assert [t.text(strip=True) for t in tree.css(".tag")] == ["VIP", "展会"]
    assert await count(db, AuditEvent, AuditEvent.action == "customer_viewed") == 1


async def test_create_with_htmx_answers_with_hx_location(client, db, signed_in):
    await signed_in("rep")
    response = await post_form(client, "/customers", BASIC, htmx=True)
    assert response.status_code == 200
    customer = (await db.execute(select(Customer))).scalar_one()
    assert response.headers["hx-location"] == f"/customers/{customer.id}"


async def test_invalid_form_is_shown_again_with_input_kept_and_messages_beside_fields(
    client, db, signed_in
):
    await signed_in("rep", locale="en")
    data = {
        "name": "  ",
        "phone": "12345",
        "level": "A",
        "source": "referral",
        "email": "not-an-email",
        "industry": "机械制造",
        "expected_amount": "1.2万",
    }
    response = await post_form(client, "/customers", data)
    assert response.status_code == 422
    tree = html(response)
    assert tree.css_first("html") is not None  # a full page for a plain form post
    assert field_error(tree, "name") == "Enter a name."
    assert field_error(tree, "phone") == "Enter a valid phone number, e.g. 138 0013 8000."
    assert field_error(tree, "email") == "Enter a valid email address."
    assert tree.css_first("input[name=phone]").attributes["value"] == "12345"
    assert tree.css_first("input[name=industry]").attributes["value"] == "机械制造"
    assert tree.css_first("input[name=expected_amount]").attributes["value"] == "1.2万"
    assert tree.css_first("select[name=level] option[selected]").attributes["value"] == "A"
    assert tree.css_first("input[name=industry]").attributes.get("aria-invalid") is None
    assert await count(db, Customer) == 0


async def test_invalid_form_over_htmx_gets_only_the_form_fragment(client, db, signed_in):
    await signed_in("rep")
    response = await post_form(client, "/customers", {**BASIC, "phone": ""}, htmx=True)
    assert response.status_code == 422
    assert "<html" not in response.text
    tree = html(response)
    assert tree.css_first("form#customer-form") is not None
    assert field_error(tree, "phone") == "请输入电话号码。"


async def test_lost_needs_a_reason_and_is_recorded_with_it(client, db, signed_in):
    await signed_in("rep", locale="en")
    response = await post_form(client, "/customers", {**BASIC, "status": "lost"})
    assert response.status_code == 422
    assert field_error(html(response), "loss_reason") == "Choose a reason the customer was lost."
    response = await post_form(
        client, "/customers", {**BASIC, "status": "lost", "loss_reason": "price"}
    )
    assert response.status_code == 303
    move = (await db.execute(select(StageChange))).scalar_one()
    assert (move.to_status, move.reason) == ("lost", "price")


# --- duplicates --------------------------------------------------------------------------------


async def test_same_phone_shows_the_existing_customer_before_saving(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    existing = await make.customer(
        db, via_form=True, name="老客户", phone="13800138000", team=team, owner=rep
    )
    response = await post_form(client, "/customers", {**BASIC, "name": "新名字"})
    assert response.status_code == 422
    tree = html(response)
    warning = tree.css_first("#customer-duplicate-warning")
    link = warning.css_first(f"a[href='/customers/{existing.id}']")
    assert link.text(strip=True) == "老客户"
    button = warning.css_first("button[name=confirm_duplicate]")
    assert button.attributes["value"] == "1" and button.text(strip=True) == "Save as a new customer"
    assert tree.css_first("input[name=name]").attributes["value"] == "新名字"
    assert await count(db, Customer) == 1

    response = await post_form(
        client, "/customers", {**BASIC, "name": "新名字", "confirm_duplicate": "1"}
    )
    assert response.status_code == 303
    assert await count(db, Customer) == 2


async def test_same_name_after_normalising_is_a_duplicate(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep")
    await make.customer(
        db,
        via_form=True,
        name="ＡＢＣ Trading Co., Ltd.",
        phone="13900139000",
        team=team,
        owner=rep,
    )
    response = await post_form(client, "/customers", {**BASIC, "name": "abc trading"})
    assert response.status_code == 422
    tree = html(response)
    assert (
        tree.css_first("#customer-duplicate-warning a").text(strip=True)
        == "ＡＢＣ Trading Co., Ltd."
    )
    assert tree.css_first("#customer-duplicate-warning button").text(strip=True) == "另存为新客户"


async def test_a_duplicate_the_user_may_not_see_is_reported_without_details(client, db, signed_in):
    team = await make.team(db)
    other = await make.team(db, "华北销售组")
    await signed_in("rep", locale="en")
    colleague = await make.user(db, name="刘洋", role="rep", team=team)
    outsider = await make.user(db, name="黄丽", role="rep", team=other)
    await make.customer(
        db, via_form=True, name="秘密客户", phone="13800138000", team=other, owner=outsider
    )
    await make.customer(
        db, via_form=True, name="同事客户", phone="13900139000", team=team, owner=colleague
    )
    response = await post_form(client, "/customers", BASIC)
    assert response.status_code == 422
    warning = html(response).css_first("#customer-duplicate-warning")
    assert "already exists in another team; ask your manager" in warning.text()
    assert "秘密客户" not in response.text and "黄丽" not in response.text
    assert warning.css_first("a") is None
    response = await post_form(
        client, "/customers", {**BASIC, "name": "同事客户", "phone": "13700137000"}
    )
    warning = html(response).css_first("#customer-duplicate-warning")
    assert "belongs to a colleague; ask your manager" in warning.text()
    assert "同事客户" not in warning.text()


# --- owners --------------------------------------------------------------------------------------


async def test_rep_cannot_give_a_new_customer_to_someone_else(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep")
    colleague = await make.user(db, name="刘洋", role="rep", team=team)
    response = await post_form(client, "/customers", {**BASIC, "owner_id": str(colleague.id)})
    assert response.status_code == 303
    customer = (await db.execute(select(Customer))).scalar_one()
    assert customer.owner_id == rep.id


async def test_manager_creates_pool_customers_or_for_a_rep_of_the_team(client, db, signed_in):
    team = await make.team(db)
    other = await make.team(db, "华北销售组")
    await signed_in("manager", name="李伟", locale="en")
    rep = await make.user(db, name="陈静", role="rep", team=team)
    outsider = await make.user(db, name="黄丽", role="rep", team=other)
    tree = html(await client.get("/customers/new"))
    options = texts(tree, "select[name=owner_id] option")
    assert options == ["Public pool (no owner)", "李伟", "陈静"]
    assert (await post_form(client, "/customers", BASIC)).status_code == 303
    response = await post_form(
        client,
        "/customers",
        {**BASIC, "name": "B公司", "phone": "13900139000", "owner_id": str(rep.id)},
    )
    assert response.status_code == 303
    response = await post_form(
        client,
        "/customers",
        {**BASIC, "name": "C公司", "phone": "13700137000", "owner_id": str(outsider.id)},
    )
    assert response.status_code == 422
    assert field_error(html(response), "owner_id") == "Choose an owner from the list."
    owners = (await db.execute(select(Customer.name, Customer.owner_id))).all()
    assert sorted(owners, key=lambda r: r[0]) == [("B公司", rep.id), (BASIC["name"], None)]


async def test_clerk_creates_store_customers(client, db, signed_in):
    store = await make.team(db, "南京西路门店", store=True)
    await signed_in("clerk", name="吴婷", team=store, locale="en")
    tree = html(await client.get("/customers/new"))
    assert texts(tree, "select[name=owner_id] option") == [
        "The store (no single owner)",
        "Me (吴婷)",
    ]
    assert (await post_form(client, "/customers", BASIC)).status_code == 303
    customer = (await db.execute(select(Customer))).scalar_one()
    assert (customer.team_id, customer.owner_id) == (store.id, None)


async def test_admin_chooses_the_team(client, db, signed_in):
    team = await make.team(db)
    await signed_in("admin", name="王芳", locale="en")
    response = await post_form(client, "/customers", BASIC)
    assert response.status_code == 422
    assert field_error(html(response), "team_id") == "Choose a team."
    response = await post_form(client, "/customers", {**BASIC, "team_id": str(team.id)})
    assert response.status_code == 303


async def test_manager_reassigns_and_it_is_audited(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", name="李伟")
    rep = await make.user(db, name="陈静", role="rep", team=team)
    c = await make.customer(db, via_form=True, name="华东机械", phone="13800138000", team=team)
    form = await edit_form(client, c.id)
    response = await post_form(client, f"/customers/{c.id}/edit", {**form, "owner_id": str(rep.id)})
    assert response.status_code == 303
    assert (await get_customer(db, c.id)).owner_id == rep.id
    event_ = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "customer_owner_changed"))
    ).scalar_one()
    assert event_.detail == {"from": None, "to": rep.id}


# --- edit and concurrent edits -------------------------------------------------------------------


def form_values(tree, *, checkboxes: bool = False) -> dict[str, str]:
    """What a browser submits from a rendered customer form (checkboxes only when asked)."""
    data: dict[str, str] = {}
    for node in tree.css("#customer-form input, #customer-form textarea"):
        name = node.attributes.get("name")
        is_checkbox = node.attributes.get("type") == "checkbox"
        if name and name != "_csrf_token" and (checkboxes or not is_checkbox):
            data[name] = node.attributes.get("value") or node.text() or ""
    for node in tree.css("#customer-form select"):
        selected = node.css_first("option[selected]")
        data[node.attributes["name"]] = selected.attributes["value"] if selected else ""
    return data


async def edit_form(client, customer_id: int) -> dict[str, str]:
    """Load the edit form and return what the browser would submit unchanged."""
    response = await client.get(f"/customers/{customer_id}/edit")
    assert response.status_code == 200
    return form_values(html(response))


async def test_edit_saves_changes_and_bumps_the_version(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep")
    c = await make.customer(
        db, via_form=True, name="华东机械", phone="13800138000", team=team, owner=rep
    )
    form = await edit_form(client, c.id)
    assert form["version"] == "1" and form["phone"] == "138 0013 8000"
    # Stage moves on the customer page now (tests/web/test_sales.py): edit another field.
    form.update(industry="机械", needs="两台机床")
    response = await post_form(client, f"/customers/{c.id}/edit", form)
    assert response.status_code == 303 and response.headers["location"] == f"/customers/{c.id}"
    saved = await get_customer(db, c.id)
    assert (saved.industry, saved.needs, saved.version) == ("机械", "两台机床", 2)
    event_ = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "customer_updated"))
    ).scalar_one()
    assert event_.detail["fields"] == ["industry", "needs"]


async def test_saving_over_a_newer_version_is_a_conflict_and_overwrites_nothing(
    client, db, signed_in
):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    c = await make.customer(
        db, via_form=True, name="华东机械", phone="13800138000", team=team, owner=rep
    )
    mine = await edit_form(client, c.id)
    theirs = await edit_form(client, c.id)
    theirs.update(name="华东机械集团", industry="重工")
    assert (await post_form(client, f"/customers/{c.id}/edit", theirs)).status_code == 303

    mine.update(name="华东机械设备", needs="想要报价")
    response = await post_form(client, f"/customers/{c.id}/edit", mine)
    assert response.status_code == 409
    tree = html(response)
    notice = tree.css_first("#customer-edit-conflict")
    assert "Someone else saved this customer after you opened it" in notice.text()
    rows = [[td.text(strip=True) for td in tr.css("th, td")] for tr in notice.css("tbody tr")]
    assert rows == [["Name", "华东机械设备", "华东机械集团"]]
    saved = await get_customer(db, c.id)
    assert (saved.name, saved.industry, saved.needs, saved.version) == (
        "华东机械集团",
        "重工",
        "",
        2,
    )
    # The form now carries the new version and their values merged with my other edits.
    assert tree.css_first("input[name=version]").attributes["value"] == "2"
    assert tree.css_first("input[name=industry]").attributes["value"] == "重工"
    assert tree.css_first("textarea[name=needs]").text() == "想要报价"
    # Saving again is a conscious choice: it goes through.
    again = form_values(tree, checkboxes=True)
    assert (await post_form(client, f"/customers/{c.id}/edit", again)).status_code == 303
    saved = await get_customer(db, c.id)
    assert (saved.name, saved.industry, saved.needs) == ("华东机械设备", "重工", "想要报价")


async def test_conflict_over_htmx_swaps_the_form(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep")
    c = await make.customer(
        db, via_form=True, name="华东机械", phone="13800138000", team=team, owner=rep
    )
    mine = await edit_form(client, c.id)
    theirs = dict(mine, level="A")
    await post_form(client, f"/customers/{c.id}/edit", theirs)
    response = await post_form(client, f"/customers/{c.id}/edit", dict(mine, level="C"), htmx=True)
    assert response.status_code == 409
    assert "<html" not in response.text
    assert "您打开此客户后，其他人已保存了修改" in response.text


async def test_changes_to_different_fields_merge(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep")
    c = await make.customer(
        db, via_form=True, name="华东机械", phone="13800138000", team=team, owner=rep
    )
    mine = await edit_form(client, c.id)
    theirs = dict(mine, name="华东机械集团")
    assert (await post_form(client, f"/customers/{c.id}/edit", theirs)).status_code == 303
    response = await post_form(client, f"/customers/{c.id}/edit", dict(mine, industry="机械"))
    assert response.status_code == 303
    saved = await get_customer(db, c.id)
    assert (saved.name, saved.industry, saved.version) == ("华东机械集团", "机械", 3)


async def test_editing_the_phone_to_another_customers_phone_warns(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep")
    other = await make.customer(
        db, via_form=True, name="另一家", phone="13900139000", team=team, owner=rep
    )
    c = await make.customer(
        db, via_form=True, name="华东机械", phone="13800138000", team=team, owner=rep
    )
    form = await edit_form(client, c.id)
    response = await post_form(client, f"/customers/{c.id}/edit", dict(form, phone="139 0013 9000"))
    assert response.status_code == 422
    tree = html(response)
    assert (
        tree.css_first(f"#customer-duplicate-warning a[href='/customers/{other.id}']") is not None
    )
    assert tree.css_first("#customer-duplicate-warning button").text(strip=True) == "仍然保存"
    form["phone"] = "139 0013 9000"
    form["confirm_duplicate"] = "1"
    assert (await post_form(client, f"/customers/{c.id}/edit", form)).status_code == 303


# --- contacts ------------------------------------------------------------------------------------


async def test_contacts_add_edit_remove_without_javascript(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    c = await make.customer(
        db, via_form=True, name="华东机械", phone="13800138000", team=team, owner=rep
    )
    page = f"/customers/{c.id}"
    response = await post_form(
        client,
        f"{page}/contacts",
        {"name": "", "role": "purchaser", "phone": "123"},
        token_from=page,
    )
    assert response.status_code == 422
    tree = html(response)
    assert field_error(tree, "name") == "Enter the contact's name."
    assert tree.css_first("#contact-list input[name=phone]").attributes["value"] == "123"

    response = await post_form(
        client,
        f"{page}/contacts",
        {"name": "欧阳明月", "role": "purchaser", "phone": "13912345678", "note": "周一在"},
        token_from=page,
    )
    assert response.status_code == 303 and response.headers["location"] == page + "#contacts"
    contact = (await db.execute(select(Contact))).scalar_one()
    tree = html(await client.get(page))
    item = tree.css_first("#contact-list .contact-item")
    assert item.css_first(".contact-name").text(strip=True) == "欧阳明月"
    assert "Purchaser" in item.text()
    assert item.css_first("a[href='tel:13912345678']") is not None

    edit = f"{page}/contacts/{contact.id}/edit"
    tree = html(await client.get(edit))
    assert tree.css_first("#contact-form input[name=name]").attributes["value"] == "欧阳明月"
    response = await post_form(
        client, edit, {"name": "欧阳明", "role": "decision_maker"}, token_from=page
    )
    assert response.status_code == 303
    assert (await db.execute(select(Contact.name, Contact.role))).one() == (
        "欧阳明",
        "decision_maker",
    )

    response = await post_form(client, f"{page}/contacts/{contact.id}/delete", {}, token_from=page)
    assert response.status_code == 303
    assert await count(db, Contact) == 0
    actions = (await db.execute(select(AuditEvent.action))).scalars().all()
    assert {"contact_added", "contact_updated", "contact_removed"} <= set(actions)


async def test_a_contact_of_another_customer_is_not_found(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep")
    a = await make.customer(db, via_form=True, name="甲", phone="13800138000", team=team, owner=rep)
    b = await make.customer(db, via_form=True, name="乙", phone="13900139000", team=team, owner=rep)
    data, _ = validate_contact({"name": "张三", "role": "user"})
    contact = await contact_add(db, customer_id=b.id, data=data, user_id=rep.id)
    await db.commit()
    response = await client.get(f"/customers/{a.id}/contacts/{contact.id}/edit")
    assert response.status_code == 404


# --- the customer page ------------------------------------------------------------------------


async def test_customer_page_needs_a_fixed_number_of_queries(app, client, db, signed_in):
    """The page is built from the same queries whether it has 0 or many contacts and visits."""
    team = await make.team(db)
    rep = await signed_in("rep")
    empty = await make.customer(
        db, via_form=True, name="空客户", phone="13800138000", team=team, owner=rep
    )
    full = await make.customer(
        db, via_form=True, name="满客户", phone="13900139000", team=team, owner=rep
    )
    for i in range(6):
        data, _ = validate_contact({"name": f"联系人{i}", "role": "user"})
        await contact_add(db, customer_id=full.id, data=data, user_id=rep.id)
        db.add(
            Visit(
                customer_id=full.id,
                user_id=rep.id,
                outcome="called",
                method="phone",
                idempotency_key=f"k{i}",
            )
        )
    await db.commit()
    statements: list[str] = []

    def count_it(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = app.state.engine.sync_engine
    counts = []
    for c in (empty, full, empty):
        statements.clear()
        event.listen(engine, "before_cursor_execute", count_it)
        try:
            response = await client.get(f"/customers/{c.id}")
        finally:
            event.remove(engine, "before_cursor_execute", count_it)
        assert response.status_code == 200
        counts.append(len(statements))
    assert counts[0] == counts[1] == counts[2], counts
    assert counts[0] <= 12, statements
    assert len(html(response).css(".contact-item")) == 0


async def test_customer_page_shows_completeness_and_custom_fields(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    c = await make.customer(
        db,
        via_form=True,
        name="华东机械",
        phone="13800138000",
        team=team,
        owner=rep,
        contact_name="王经理",
        industry="机械",
    )
    tree = html(await client.get(f"/customers/{c.id}"))
    facts = tree.css_first(".customer-facts").text()
    # contact name, industry and the next follow-up day are 3 of the 9 recommended fields.
    assert "Completeness" in facts and "33%" in facts
    assert "Next follow-up" in facts


async def test_customer_list_pages_by_fifty(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    for i in range(51):
        await make.customer(
            db, via_form=True, name=f"客户{i:02d}", phone=f"1380000{i:04d}", team=team, owner=rep
        )
    tree = html(await client.get("/customers"))
    assert len(tree.css("#customer-list .customer-row")) == 50
    assert tree.css_first("a[rel=next]").attributes["href"] == "/customers?page=2"
    tree = html(await client.get("/customers?page=2"))
    assert len(tree.css("#customer-list .customer-row")) == 1
    assert tree.css_first("a[rel=prev]") is not None
    fragment = await client.get("/customers?page=2", headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="customer-list"' in fragment.text


async def test_editing_keeps_an_owner_who_no_longer_qualifies(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", name="李伟")
    rep = await make.user(db, name="陈静", role="rep", team=team)
    c = await make.customer(
        db, via_form=True, name="华东机械", phone="13800138000", team=team, owner=rep
    )
    await db.execute(update(User).where(User.id == rep.id).values(active=False))
    await db.commit()
    form = await edit_form(client, c.id)
    assert form["owner_id"] == str(rep.id)
    response = await post_form(client, f"/customers/{c.id}/edit", dict(form, industry="机械"))
    assert response.status_code == 303
    assert (await get_customer(db, c.id)).owner_id == rep.id
    # Choosing them anew is refused: they no longer qualify.
    other = await make.customer(db, via_form=True, name="江南纺织", phone="13900139000", team=team)
    form = await edit_form(client, other.id)
    response = await post_form(
        client, f"/customers/{other.id}/edit", dict(form, owner_id=str(rep.id))
    )
    assert response.status_code == 422
