"""Import with contact columns on a phone, and the admin's upload size limit at the counter."""

import re

import pytest

from tests.e2e.conftest import no_horizontal_overflow, shot, signed_in_context
from tests.imports_support import csv_bytes

pytestmark = pytest.mark.e2e

TEAM = "华东销售二组"
ROWS = [
    ["客户名称", "手机", "联系人", "联系人电话", "职务"],
    ["宁波瑞明五金有限公司", "13912340001", "周明", "13912340002", "采购经理"],
]


def test_contact_columns_are_mapped_and_the_contact_shows_on_the_customer(browser, server):
    ctx = signed_in_context(browser, server, name="陈经理", role="manager", team=TEAM)
    page = ctx.new_page()
    page.goto(server.origin + "/imports/new")
    page.set_input_files(
        "#import-file",
        files=[{"name": "联系人.csv", "mimeType": "text/csv", "buffer": csv_bytes(ROWS)}],
    )
    page.get_by_role("button", name="上传").click()
    page.wait_for_url(re.compile(r"/imports/\d+$"))
    assert page.locator("#col-3").input_value() == "contact_phone"
    assert page.locator("#col-4").input_value() == "contact_title"
    assert no_horizontal_overflow(page)
    shot(page, "import-contacts-mapping-phone")
    page.get_by_role("button", name="预览").click()
    page.wait_for_url(re.compile(r"/preview$"))
    page.get_by_role("button", name="运行导入").click()
    page.get_by_role("heading", name="导入完成").wait_for(timeout=15000)
    page.goto(server.origin + "/customers?q=nbrm")
    page.get_by_role("link", name="宁波瑞明五金有限公司").first.click()
    contacts = page.locator("#contact-list")
    assert "周明" in contacts.inner_text()
    contacts.scroll_into_view_if_needed()
    shot(page, "import-contacts-customer-phone")
    ctx.close()


def test_the_admin_sets_the_upload_size_limit(browser, server):
    ctx = signed_in_context(browser, server, name="管理员甲", role="admin", size="counter")
    page = ctx.new_page()
    page.goto(server.origin + "/admin/transfer/")
    field = page.get_by_label("上传大小上限（MB）")
    assert field.input_value() == "20"
    field.fill("0")
    page.get_by_role("button", name="保存").click()
    # The browser refuses it already (min 1); without its check the server answers 422.
    assert page.locator("#import-max-upload:invalid").count() == 1
    page.get_by_label("上传大小上限（MB）").fill("5")
    page.get_by_role("button", name="保存").click()
    page.get_by_text("导入导出设置已保存").wait_for()
    page.goto(server.origin + "/admin/transfer/")
    assert page.get_by_label("上传大小上限（MB）").input_value() == "5"
    shot(page, "import-settings-counter")
    ctx.close()
