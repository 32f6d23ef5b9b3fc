"""Import: the sheet's contact columns become the customers' contacts; the upload size limit."""

from sqlalchemy import func, select

from db.models import Contact, Customer, ImportJob, ImportRow
from tests import factories as make
from tests.imports_support import csv_bytes
from tests.support import csrf_token, html, texts
from tests.web.test_imports import _imported, _manager, _upload

HEADER = ["客户名称", "手机", "联系人", "联系人电话", "职务", "决策角色"]


async def _contacts(db, customer_id: int) -> list[tuple]:
    rows = await db.execute(
        select(Contact.name, Contact.phone, Contact.note, Contact.role)
        .where(Contact.customer_id == customer_id)
        .order_by(Contact.id)
    )
    return [tuple(r) for r in rows]


async def _undo(client, url: str, tree) -> None:
    token = tree.css_first("form input[name=_csrf_token]").attributes["value"]
    undone = await client.post(url.replace("/progress", "/undo"), data={"_csrf_token": token})
    assert undone.status_code == 200


async def test_contact_columns_become_the_new_customers_contacts_shown_on_its_page(
    client, db, signed_in
):
    rows = [HEADER, ["杭州新客户", "13912345678", "张伟", "139 1111 2222", "采购经理", "采购"]]
    _team, _boss, url, tree = await _imported(client, db, signed_in, rows=rows)
    assert tree.css_first("dd[data-count=created]").text() == "1"
    customer = (
        await db.execute(select(Customer).where(Customer.name == "杭州新客户"))
    ).scalar_one()
    assert customer.contact_name == "张伟"
    assert await _contacts(db, customer.id) == [("张伟", "13911112222", "采购经理", "purchaser")]
    page = html(await client.get(f"/customers/{customer.id}"))
    assert "张伟" in page.css_first("#contact-list").text()

    await _undo(client, url, tree)
    assert (await db.execute(select(func.count()).select_from(Contact))).scalar_one() == 0


async def test_a_bad_contact_phone_or_role_is_an_error_with_the_column_named(client, db, signed_in):
    rows = [
        HEADER,
        ["坏电话公司", "13912345671", "李四", "12345", "", ""],
        ["坏角色公司", "13912345672", "王五", "", "", "老板娘"],
        ["无名联系人公司", "13912345673", "", "13911113333", "", ""],
    ]
    _team, _boss, _url, tree = await _imported(client, db, signed_in, rows=rows)
    assert tree.css_first("dd[data-count=failed]").text() == "3"
    job = (await db.execute(select(ImportJob))).scalar_one()
    page = html(await client.get(f"/imports/{job.id}/preview?verdict=error"))
    reasons = " ".join(texts(page, "#import-preview tbody td"))
    assert "Contact's phone" in reasons
    assert "Unknown contact role." in reasons
    assert "Enter the contact's name." in reasons
    assert (await db.execute(select(func.count()).select_from(Contact))).scalar_one() == 0


async def test_fill_empty_fills_the_same_contact_adds_a_new_one_and_undo_reverses_both(
    client, db, signed_in
):
    team, _boss = await _manager(db, signed_in)
    existing = await db.scalar(select(Customer).where(Customer.phone == "13800138000"))
    db.add(Contact(customer_id=existing.id, name="张经理", phone="", note=""))
    other = await make.customer(db, team=team, name="华南贸易", phone="13700137000")
    await db.commit()
    rows = [
        HEADER,
        ["华东机械", "13800138000", "张经理", "13922223333", "采购经理", ""],
        ["华南贸易", "13700137000", "刘总", "13933334444", "总经理", "决策人"],
    ]
    uploaded = await _upload(client, "客户.csv", csv_bytes(rows, encoding="gbk"))
    from tests.web.test_imports import _map, _run_to_end

    mapped = await _map(client, uploaded.headers["location"], duplicate_mode="fill_empty")
    url, tree = await _run_to_end(client, mapped.headers["location"])
    assert tree.css_first("dd[data-count=updated]").text() == "2"
    assert await _contacts(db, existing.id) == [("张经理", "13922223333", "采购经理", "other")]
    assert await _contacts(db, other.id) == [("刘总", "13933334444", "总经理", "decision_maker")]

    await _undo(client, url, tree)
    assert await _contacts(db, existing.id) == [("张经理", "", "", "other")]
    assert await _contacts(db, other.id) == []


async def test_skip_leaves_the_existing_customers_contacts_alone(client, db, signed_in):
    rows = [HEADER, ["华东机械", "13800138000", "张经理", "13922223333", "采购经理", ""]]
    _team, _boss, _url, tree = await _imported(client, db, signed_in, rows=rows)
    assert tree.css_first("dd[data-count=skipped]").text() == "1"
    assert (await db.execute(select(func.count()).select_from(Contact))).scalar_one() == 0


async def _set_limit(client, mb: str, **extra):
    token = await csrf_token(client, "/admin/transfer/")
    return await client.post(
        "/admin/transfer/",
        data={"_csrf_token": token, "max_upload_mb": mb, "import": "manager", **extra},
        follow_redirects=False,
    )


async def test_the_admin_sets_the_upload_limit_and_a_larger_file_gets_one_sentence(
    client, db, signed_in
):
    team = await make.team(db)
    await signed_in("admin", name="管理员", locale="en")
    page = html(await client.get("/admin/transfer/"))
    assert page.css_first("#import-max-upload").attributes["value"] == "20"
    assert (await _set_limit(client, "1")).status_code == 303
    assert (
        html(await client.get("/admin/transfer/"))
        .css_first("#import-max-upload")
        .attributes["value"]
        == "1"
    )

    await signed_in("manager", team=team, name="王经理", locale="en")
    new_page = html(await client.get("/imports/new"))
    assert "at most 1 MB" in new_page.css_first("main").text()
    big = csv_bytes(
        [["客户名称", "手机", "备注"]] + [[f"客户{n}", "", "备" * 200] for n in range(2000)]
    )
    assert 1024 * 1024 < len(big) < 20 * 1024 * 1024
    refused = await _upload(client, "大.csv", big)
    assert refused.status_code == 422
    assert texts(html(refused), "#import-file-error") == ["This file is larger than 1 MB."]
    assert (await db.execute(select(func.count()).select_from(ImportJob))).scalar_one() == 0
    assert (await db.execute(select(func.count()).select_from(ImportRow))).scalar_one() == 0
    small = csv_bytes([["客户名称", "手机"], ["小客户", "13912345678"]])
    assert (await _upload(client, "小.csv", small)).status_code == 303


async def test_a_wrong_upload_limit_is_refused_beside_the_field_with_the_input_kept(
    client, db, signed_in
):
    await signed_in("admin", name="管理员", locale="en")
    for wrong in ("0", "101", "abc", ""):
        response = await _set_limit(client, wrong, export="rep")
        assert response.status_code == 422, wrong
        page = html(response)
        assert texts(page, "#import-max-upload-error") == [
            "Enter a whole number of MB from 1 to 100."
        ]
        assert page.css_first("#import-max-upload").attributes["value"] == wrong
        assert "checked" in page.css_first("input[name=export][value=rep]").attributes
    page = html(await client.get("/admin/transfer/"))
    assert page.css_first("#import-max-upload").attributes["value"] == "20"
