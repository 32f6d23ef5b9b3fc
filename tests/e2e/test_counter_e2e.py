"""The Counter in a real browser: keyboard only at 1280×800, touch only at 390×844."""

import sqlite3
import time
import uuid

import pytest

from domain.customers import derived_fields
from tests.e2e.conftest import no_horizontal_overflow, shot, signed_in_context

pytestmark = pytest.mark.e2e

STORE = "南京西路门店"


def _add_customers(server, rows: list[tuple[str, str]]) -> dict[str, int]:
    """Insert store customers straight into the server's database."""
    con = sqlite3.connect(server.workdir / "e2e.db")
    ids = {}
    with con:
        team = con.execute("select id from team where name = ?", (STORE,)).fetchone()[0]
        for name, phone in rows:
            d = derived_fields(name, phone)
            cur = con.execute(
                "insert into customer (number, name, name_key, name_pinyin, name_initials, kind,"
                " phone, phone_last4, team_id, level, source, contact_name, email, industry, needs,"
                " address, status, stage, custom, tags, created_at, updated_at, version)"
                " values (?, ?, ?, ?, ?, 'person', ?, ?, ?, 'B', 'walk_in', '', '', '', '', '',"
                " 'potential', 'lead', '{}', '[]', datetime('now'), datetime('now'), 1)",
                (
                    f"C{uuid.uuid4().int % 10**9:09d}",
                    name,
                    d["name_key"],
                    d["name_pinyin"],
                    d["name_initials"],
                    phone,
                    d["phone_last4"],
                    team,
                ),
            )
            ids[name] = cur.lastrowid
    con.close()
    return ids


def _purchases(server, customer_id: int) -> list[tuple]:
    con = sqlite3.connect(server.workdir / "e2e.db")
    rows = con.execute(
        "select outcome, amount_cents from visit where customer_id = ?", (customer_id,)
    ).fetchall()
    con.close()
    return rows


FOCUSED_NAME = """() => {
  const e = document.activeElement;
  const text = e.labels && e.labels[0] ? e.labels[0].textContent : e.textContent;
  return (text || "").trim();
}"""


def _tab_to(page, text: str, limit: int = 40) -> None:
    """Press Tab until the focused element is the one named `text` (keyboard only)."""
    for _ in range(limit):
        page.keyboard.press("Tab")
        name = page.evaluate(FOCUSED_NAME)
        if name == text:
            return
    raise AssertionError(f"could not reach {text!r} with the Tab key")


def _wait_for(fn, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = fn()
        if value:
            return value
        time.sleep(0.1)
    return fn()


def test_counter_keyboard_only_at_desk_size(server, browser):
    ctx = signed_in_context(
        browser,
        server,
        name="吴婷",
        role="clerk",
        team=STORE,
        store=True,
        size="counter",
        locale="en-US",
    )
    ids = _add_customers(
        server, [("林小姐", "13912348888"), ("周先生", "13712348888"), ("钱女士", "13612341234")]
    )
    page = ctx.new_page()
    page.goto(server.origin + "/counter")
    assert page.evaluate("() => document.activeElement.id") == "counter-q"
    page.keyboard.type("8888")
    options = page.locator("#counter-results [role=option]")
    options.first.wait_for()
    assert options.count() == 2
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowDown")
    chosen = options.nth(1).get_attribute("id")
    assert options.nth(1).get_attribute("aria-selected") == "true"
    shot(page, "counter-1280-lookup")
    page.keyboard.press("Enter")
    page.wait_for_url("**/counter/customers/*")
    customer_id = int(page.url.rsplit("/", 1)[1])
    assert f"counter-opt-{customer_id}" == chosen
    _tab_to(page, "Record visit")
    page.keyboard.press("Enter")
    _tab_to(page, "Purchased in store")
    page.keyboard.press("Enter")
    page.locator("label", has_text="Add amount").wait_for()
    _tab_to(page, "Add amount")
    page.keyboard.type("1,280.50")
    page.keyboard.press("Enter")
    rows = _wait_for(lambda: [r for r in _purchases(server, customer_id) if r[1]])
    assert rows == [("store_purchase", 128050)]
    # The store history beside the timeline caught up without a reload.
    page.locator(".store-history").get_by_text("1,280.50").wait_for()
    assert no_horizontal_overflow(page)
    shot(page, "counter-1280-customer")
    assert set(ids.values()) >= {customer_id}
    ctx.close()


def test_counter_touch_only_at_phone_size(server, browser):
    ctx = signed_in_context(
        browser,
        server,
        name="孙浩",
        role="clerk",
        team=STORE,
        store=True,
        size="phone",
        locale="zh-CN",
    )
    ids = _add_customers(server, [("赵先生", "13855556666")])
    page = ctx.new_page()
    page.goto(server.origin + "/counter")
    field = page.locator("#counter-q")
    assert field.get_attribute("inputmode") == "numeric"
    field.tap()
    page.keyboard.type("6666")
    result = page.locator("#counter-results [role=option] a", has_text="赵先生")
    result.wait_for()
    assert no_horizontal_overflow(page)
    shot(page, "counter-390-lookup")
    result.tap()
    page.wait_for_url(f"**/counter/customers/{ids['赵先生']}")
    page.get_by_role("button", name="记录拜访").tap()
    page.get_by_role("button", name="到店购买").tap()
    amount = page.get_by_label("添加金额")
    amount.wait_for()
    amount.tap()
    page.keyboard.type("99")
    amount.press("Enter")
    rows = _wait_for(lambda: [r for r in _purchases(server, ids["赵先生"]) if r[1]])
    assert rows == [("store_purchase", 9900)]
    page.locator(".store-history").get_by_text("99.00").wait_for()
    assert no_horizontal_overflow(page)
    shot(page, "counter-390-customer")
    ctx.close()
