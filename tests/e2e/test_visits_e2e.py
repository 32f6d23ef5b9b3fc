"""Visits in a real phone browser: two taps, a double tap stores once, Undo, Today."""

import sqlite3
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from db.models import Customer, Team, User
from tests.e2e.conftest import no_horizontal_overflow, shot, signed_in_context

pytestmark = pytest.mark.e2e

REP = "陈静"
TEAM = "华东销售一组"


def _engine(server):
    return create_engine(f"sqlite:///{server.workdir / 'e2e.db'}")


def add_customer(server, *, name: str, number: str, **fields) -> int:
    """Insert a customer of the rep straight into the server's database."""
    engine = _engine(server)
    try:
        with Session(engine) as s:
            team = s.exec(select(Team).where(Team.name == TEAM)).one()
            rep = s.exec(select(User).where(User.name == REP)).first()
            customer = Customer(
                number=number, name=name, team_id=team.id, owner_id=rep.id, **fields
            )
            s.add(customer)
            s.commit()
            return customer.id
    finally:
        engine.dispose()


def visit_rows(server, customer_id: int) -> int:
    """Count the stored visits of a customer (straight from SQLite)."""
    con = sqlite3.connect(server.workdir / "e2e.db")
    try:
        return con.execute(
            "select count(*) from visit where customer_id = ?", (customer_id,)
        ).fetchone()[0]
    finally:
        con.close()


@pytest.fixture(scope="module")
def rep_context(browser, server):
    """A signed-in rep on a phone, with geolocation allowed and known."""
    ctx = signed_in_context(browser, server, name=REP, role="rep", team=TEAM, size="phone")
    ctx.grant_permissions(["geolocation"], origin=server.origin)
    ctx.set_geolocation({"latitude": 31.2333, "longitude": 121.4737, "accuracy": 20})
    yield ctx
    ctx.close()


def test_two_taps_record_a_visit_then_undo(server, rep_context):
    cid = add_customer(
        server,
        name="上海华东机械有限公司",
        number="C202611901",
        level="A",
        lat=31.2304,
        lng=121.4737,
    )
    page = rep_context.new_page()
    requests: list[str] = []
    page.on("request", lambda r: requests.append(f"{r.method} {r.url}"))
    page.goto(f"{server.origin}/customers/{cid}")
    region = page.get_by_role("region", name="拜访记录")
    assert region.is_visible()
    record = region.get_by_role("button", name="记录拜访")
    follow_up = page.locator("#customer-follow-up time")
    assert follow_up.count() == 0  # never visited: no follow-up date yet
    assert record.bounding_box()["height"] >= 48
    assert no_horizontal_overflow(page)
    shot(page, "visit-1-customer")

    requests.clear()
    record.tap()  # tap 1: the outcomes appear in place, without a request
    outcome = region.get_by_role("button", name="已面谈-有意向")
    outcome.wait_for(state="visible")
    assert record.get_attribute("aria-expanded") == "true"
    assert not [r for r in requests if "/customers/" in r], requests
    page.get_by_text("已获取位置").wait_for()  # the location came within the 3 s window
    assert no_horizontal_overflow(page)
    shot(page, "visit-2-outcomes")

    outcome.tap()  # tap 2: saved
    first = region.locator("li.visit-item").first
    first.wait_for()
    assert first.locator(".visit-outcome").inner_text() == "已面谈-有意向"
    assert first.locator("time").is_visible()
    assert "距客户" in first.locator(".visit-distance").inner_text()
    undo = first.get_by_role("button", name="撤销")
    assert undo.is_visible()
    assert not outcome.is_visible()  # the sheet closed
    assert region.get_by_text("暂无拜访记录。").count() == 0
    assert page.url == f"{server.origin}/customers/{cid}"
    assert visit_rows(server, cid) == 1
    follow_up.wait_for()  # the header's next follow-up moved with the visit, no reload
    assert (
        follow_up.get_attribute("datetime")
        > datetime.now(ZoneInfo("Asia/Shanghai")).date().isoformat()
    )
    assert no_horizontal_overflow(page)
    shot(page, "visit-3-saved")

    undo.tap()
    region.get_by_text("已撤销该拜访。").wait_for()
    assert region.locator("li.visit-item").count() == 0
    assert visit_rows(server, cid) == 0
    follow_up.wait_for(state="detached")  # undo put the follow-up back as it was
    page.close()


def test_fast_double_tap_stores_one_visit(server, rep_context):
    cid = add_customer(server, name="杭州西湖贸易", number="C202611902", level="B")
    page = rep_context.new_page()
    page.goto(f"{server.origin}/customers/{cid}")
    region = page.get_by_role("region", name="拜访记录")
    region.get_by_role("button", name="记录拜访").tap()
    outcome = region.get_by_role("button", name="电话沟通")
    outcome.wait_for(state="visible")
    box = outcome.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.touchscreen.tap(x, y)
    page.touchscreen.tap(x, y)
    region.locator("li.visit-item").first.wait_for()
    page.wait_for_load_state("networkidle")
    assert region.locator("li.visit-item").count() == 1
    assert visit_rows(server, cid) == 1

    # A purchase: still two taps, then the amount right there.
    region.get_by_role("button", name="记录拜访").tap()
    region.get_by_role("button", name="到店购买").tap()
    amount = region.get_by_label("添加金额")
    amount.wait_for()
    assert amount.evaluate("el => el === document.activeElement")
    assert no_horizontal_overflow(page)
    shot(page, "visit-5-amount")
    amount.fill("1,280.50")
    region.get_by_role("button", name="保存").tap()
    region.locator(".visit-amount").wait_for()
    assert "1,280.50" in region.locator(".visit-amount").inner_text()
    assert visit_rows(server, cid) == 2

    # Details after the fact, inline.
    first = region.locator("li.visit-item").first
    first.get_by_role("link", name="编辑详情").tap()
    note = region.get_by_label("备注")
    note.wait_for()
    assert no_horizontal_overflow(page)
    shot(page, "visit-6-details")
    note.fill("客户要求下周报价")
    region.get_by_label("下一步行动", exact=True).fill("发送报价单")
    region.get_by_role("button", name="保存").tap()
    region.locator(".visit-note").wait_for()
    assert region.locator(".visit-note").inner_text() == "客户要求下周报价"
    page.close()


def test_today_lists_an_overdue_customer_and_opens_it(server, rep_context):
    today = datetime.now(ZoneInfo("Asia/Shanghai")).date()
    cid = add_customer(
        server,
        name="苏州工业园区精密制造",
        number="C202611903",
        level="A",
        next_follow_up_on=today - timedelta(days=4),
    )
    page = rep_context.new_page()
    page.goto(f"{server.origin}/")
    overdue = page.get_by_role("region", name="逾期")
    link = overdue.get_by_role("link", name="苏州工业园区精密制造")
    assert "逾期 4 天" in link.inner_text()
    assert no_horizontal_overflow(page)
    shot(page, "visit-4-today")
    link.tap()
    page.wait_for_url(f"{server.origin}/customers/{cid}")
    assert page.get_by_role("heading", name="苏州工业园区精密制造").is_visible()
    page.close()
