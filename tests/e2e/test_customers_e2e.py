"""Customers in a real browser at phone size: create, find as you type, open the customer page."""

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import no_horizontal_overflow, shot, signed_in_context

pytestmark = pytest.mark.e2e

NAME = "上海华东机械有限公司"


def _above_the_fold(page, locator) -> bool:
    """Return True when the element starts inside the first screen (no scrolling)."""
    box = locator.bounding_box()
    height = page.viewport_size["height"]
    return (
        box is not None and 0 <= box["y"] < height and box["y"] + min(box["height"], 44) <= height
    )


def test_create_find_by_pinyin_and_last_four_digits_then_open(server, browser):
    ctx = signed_in_context(browser, server, name="陈静", role="rep", team="华东销售一组")
    page = ctx.new_page()
    page.goto(server.origin + "/customers")
    page.get_by_role("link", name="新建客户").first.click()
    page.wait_for_url(re.compile(r"/customers/new$"))

    page.get_by_label("名称", exact=True).fill(NAME)
    page.get_by_label("电话", exact=True).fill("138 0013 8000")
    page.get_by_label("客户级别").select_option("A")
    page.get_by_label("客户来源").select_option("referral")
    assert no_horizontal_overflow(page)
    page.get_by_role("button", name="保存").click()
    heading = page.get_by_role("heading", level=1, name=NAME)
    expect(heading).to_be_visible()
    expect(page).to_have_url(re.compile(r"/customers/\d+$"))
    customer_url = page.url

    # Find it by pinyin initials in the header box (HTMX as you type), without pressing Enter.
    page.goto(server.origin + "/")
    box = page.get_by_role("searchbox", name="搜索客户")
    box.click()
    box.press_sequentially("shhd", delay=40)
    results = page.locator("#customer-search-results")
    link = results.get_by_role("link", name=NAME, exact=True)
    expect(link).to_be_visible()
    expect(page).to_have_url(server.origin + "/")  # hx-push-url false: no navigation
    assert no_horizontal_overflow(page)
    assert _above_the_fold(page, link)
    shot(page, "phone-search-results")

    # And by the last four digits of its phone.
    box.fill("")
    box.press_sequentially("8000", delay=40)
    expect(results.locator(".result")).to_have_count(1)
    link = results.get_by_role("link", name=NAME, exact=True)
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url(customer_url)

    # The customer page: who, badges, call button and the Visits region on the first screen.
    expect(page.get_by_role("heading", level=1, name=NAME)).to_be_visible()
    call = page.locator("a[href='tel:13800138000']")
    badges = page.locator(".badges")
    visits = page.locator("#visit-panel")
    for locator in (page.locator("h1"), badges, call, visits):
        assert _above_the_fold(page, locator), locator
    expect(page.locator("a[href='sms:13800138000']")).to_be_visible()
    expect(badges).to_contain_text("A级")
    assert call.bounding_box()["height"] >= 44
    assert no_horizontal_overflow(page)
    shot(page, "phone-customer-page")
    ctx.close()


def test_validation_message_shows_beside_the_field_with_htmx(server, browser):
    ctx = signed_in_context(browser, server, name="刘洋", role="rep", team="华东销售一组")
    page = ctx.new_page()
    page.goto(server.origin + "/customers/new")
    page.get_by_label("名称", exact=True).fill("测试客户")
    page.get_by_label("电话", exact=True).fill("12345")
    page.get_by_label("客户来源").select_option("website")
    page.get_by_role("button", name="保存").click()
    phone = page.get_by_label("电话", exact=True)
    expect(phone).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-phone-error")).to_contain_text("请输入有效的电话号码")
    expect(page.get_by_label("名称", exact=True)).to_have_value("测试客户")
    assert no_horizontal_overflow(page)
    phone.scroll_into_view_if_needed()
    shot(page, "phone-customer-form-error")
    ctx.close()
