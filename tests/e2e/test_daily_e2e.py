"""Daily use in a real browser (issue 20): feedback in view, Today's next actions, the counter."""

import re
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import shot, signed_in_context
from tests.e2e.test_counter_e2e import STORE, _add_customers, _purchases, _wait_for

pytestmark = pytest.mark.e2e

IN_VIEW = """(el) => {
  const r = el.getBoundingClientRect();
  const top = document.querySelector(".topbar").getBoundingClientRect().bottom;
  return r.top >= top - 1 && r.bottom <= window.innerHeight + 1;
}"""
FOCUSED_ID = "() => document.activeElement && document.activeElement.id"


def _fill_new_customer(page, name: str, phone: str) -> None:
    page.get_by_label("Name", exact=True).fill(name)
    page.get_by_label("Phone", exact=True).fill(phone)
    page.get_by_label("Level").select_option("B")
    page.get_by_label("Source").select_option("referral")


def test_a_bad_phone_and_a_duplicate_are_in_view_and_focused_and_a_save_lands_on_top(
    server, browser
):
    ctx = signed_in_context(
        browser, server, name="Chen Jing", role="rep", team="East one", locale="en-US"
    )
    page = ctx.new_page()
    page.goto(server.origin + "/customers/new")
    _fill_new_customer(page, "Bright Tools Ltd", "12345")
    save = page.get_by_role("button", name="Save", exact=True)
    save.scroll_into_view_if_needed()
    save.tap()
    error = page.locator("#f-phone-error")
    expect(error).to_be_visible()
    page.wait_for_function("() => document.activeElement.id === 'f-phone'")
    assert page.locator("#f-phone").evaluate(IN_VIEW)
    assert error.evaluate(IN_VIEW)
    assert "Phone" in page.locator(".error-summary").inner_text()
    shot(page, "daily-390-bad-phone")

    page.get_by_label("Phone", exact=True).fill("139 1234 5678")
    save.scroll_into_view_if_needed()
    save.tap()
    expect(page).to_have_url(re.compile(r"/customers/\d+$"))
    message = page.locator("#flash .flash")
    expect(message).to_be_visible()
    assert page.evaluate("() => window.scrollY") == 0
    assert message.evaluate(IN_VIEW)
    shot(page, "daily-390-saved")

    # The same phone again: the duplicate warning is shown in view and focused.
    page.goto(server.origin + "/customers/new")
    _fill_new_customer(page, "Bright Tools Second", "13912345678")
    save = page.get_by_role("button", name="Save", exact=True)
    save.scroll_into_view_if_needed()
    save.tap()
    warning = page.locator("#customer-duplicate-warning")
    expect(warning).to_be_visible()
    page.wait_for_function("() => document.activeElement.id === 'customer-duplicate-warning'")
    box = warning.bounding_box()
    assert box["y"] >= 0 and box["y"] < page.viewport_size["height"]
    shot(page, "daily-390-duplicate")
    ctx.close()


def test_today_shows_a_next_action_on_its_due_day(server, browser):
    ctx = signed_in_context(browser, server, name="Li Na", role="rep", team="East two")
    page = ctx.new_page()
    page.goto(server.origin + "/customers/new")
    page.get_by_label("名称", exact=True).fill("华东报价测试有限公司")
    page.get_by_label("电话", exact=True).fill("13811112222")
    page.get_by_label("客户级别").select_option("C")
    page.get_by_label("客户来源").select_option("referral")
    page.get_by_role("button", name="保存", exact=True).click()
    expect(page).to_have_url(re.compile(r"/customers/\d+$"))
    page.goto(page.url)  # a full load of the customer page
    page.get_by_role("button", name="记录拜访").click()
    page.get_by_role("button", name="电话沟通").click()
    item = page.locator("#visit-list > li").first
    expect(item).to_be_visible()
    visit_id = item.get_attribute("id").removeprefix("visit-")
    page.goto(f"{server.origin}/visits/{visit_id}/edit")
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    page.get_by_label("下一步行动", exact=True).fill("发送报价单")
    page.locator("#f-next_action_due").fill(today.isoformat())
    page.get_by_role("button", name="保存").click()
    expect(page).to_have_url(re.compile(r"/customers/\d+$"))
    page.goto(server.origin + "/")
    section = page.locator("section[aria-labelledby=actions-heading]")
    expect(section.get_by_text("华东报价测试有限公司")).to_be_visible()
    expect(section.get_by_text("发送报价单")).to_be_visible()
    shot(page, "daily-390-today-next-action")
    ctx.close()


def test_the_clerks_keyboard_only_loop_at_the_counter(server, browser):
    ctx = signed_in_context(
        browser,
        server,
        name="Wu Ting",
        role="clerk",
        team=STORE,
        store=True,
        size="counter",
        locale="en-US",
    )
    ids = _add_customers(
        server, [("Lin Xiaojie", "13955557777"), ("Zhou Xiansheng", "13766664444")]
    )
    page = ctx.new_page()
    page.goto(server.origin + "/")  # the brand and sign-in lead clerks to the Counter
    page.locator("a.brand").click()
    page.wait_for_url(re.compile(r"/counter/?$"))
    assert page.evaluate(FOCUSED_ID) == "counter-q"
    page.keyboard.type("7777")
    page.locator("#counter-results [role=option]").first.wait_for()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/counter/customers/{ids['Lin Xiaojie']}")
    page.wait_for_function(
        "() => document.activeElement && document.activeElement.matches('[data-visit-open]')"
    )
    page.keyboard.press("Enter")  # opens the outcomes
    expect(page.locator(".outcome-sheet")).to_be_visible()
    second = page.locator(".outcome-sheet button[name=outcome]").nth(1)
    assert second.get_attribute("value") == "store_purchase"  # store outcomes come first
    page.keyboard.press("2")
    amount = page.get_by_label("Add amount")
    expect(amount).to_be_focused()
    page.keyboard.type("88")
    page.keyboard.press("Enter")
    rows = _wait_for(lambda: [r for r in _purchases(server, ids["Lin Xiaojie"]) if r[1]])
    assert rows == [("store_purchase", 8800)]
    page.wait_for_function("() => document.activeElement.id === 'counter-q'")
    shot(page, "daily-1280-counter-after-amount")
    page.keyboard.type("4444")  # the next walk-in, straight away
    option = page.locator("#counter-results [role=option]", has_text="Zhou Xiansheng")
    expect(option).to_be_visible()
    page.keyboard.press("Enter")
    page.wait_for_url(f"**/counter/customers/{ids['Zhou Xiansheng']}")
    ctx.close()


def test_quick_add_at_the_counter_asks_a_required_custom_field(server, browser):
    _sql(
        server,
        "insert into custom_field (key, label_en, label_zh, kind, required, choices, position,"
        " active, created_at) values ('member_card', 'Member card', '会员卡号', 'text', 1, '[]',"
        " 1, 1, datetime('now'))",
    )
    try:
        _quick_add_with_a_required_field(server, browser)
    finally:  # the other tests of this server add customers without it
        _sql(server, "update custom_field set active = 0 where key = 'member_card'")


def _sql(server, statement: str) -> None:
    con = sqlite3.connect(server.workdir / "e2e.db")
    with con:
        con.execute(statement)
    con.close()


def _quick_add_with_a_required_field(server, browser) -> None:
    ctx = signed_in_context(
        browser, server, name="Sun Hao", role="clerk", team=STORE, store=True, locale="en-US"
    )
    page = ctx.new_page()
    page.goto(server.origin + "/counter/new")
    page.get_by_label("Name", exact=True).fill("Walk-in Wang")
    page.get_by_label("Phone", exact=True).fill("13700001111")
    page.get_by_role("button", name="Save").tap()
    card = page.get_by_label("Member card")
    expect(card).to_be_focused()
    expect(page.get_by_text("Fill in Member card.")).to_be_visible()
    assert card.evaluate(IN_VIEW)
    card.fill("VIP-0042")
    page.get_by_role("button", name="Save").tap()
    page.wait_for_url("**/counter/customers/*")
    ctx.close()
