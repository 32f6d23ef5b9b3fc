"""The public pool in real browsers: a rep on a phone claims until the daily limit and reads
the message; an admin at a desk deactivates a rep, hands the customers over after a preview,
and the colleague finds them."""

import sqlite3

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from db.models import Customer, Team, User
from tests.e2e.conftest import no_horizontal_overflow, shot, signed_in_context

pytestmark = pytest.mark.e2e

TEAM = "华中销售组"


def add_customers(server, names: list[str], *, owner: str | None = None) -> None:
    """Insert customers of the team (in the pool, or owned by `owner`) into the server's db."""
    engine = create_engine(f"sqlite:///{server.workdir / 'e2e.db'}")
    try:
        with Session(engine) as s:
            team = s.exec(select(Team).where(Team.name == TEAM)).one()
            owner_id = s.exec(select(User.id).where(User.name == owner)).first() if owner else None
            for i, name in enumerate(names):
                s.add(
                    Customer(
                        number=f"CP{abs(hash(name)) % 10**7:07d}{i}",
                        name=name,
                        team_id=team.id,
                        owner_id=owner_id,
                        level="B",
                    )
                )
            s.commit()
    finally:
        engine.dispose()


def set_daily_limit(server, n: int) -> None:
    con = sqlite3.connect(server.workdir / "e2e.db")
    with con:
        con.execute("update pool_setting set claims_per_day = ?", (n,))
    con.close()


def test_a_rep_claims_from_the_pool_until_the_daily_limit(browser, server):
    ctx = signed_in_context(browser, server, name="吴敏", role="rep", team=TEAM, size="phone")
    add_customers(server, ["公海甲", "公海乙", "公海丙"])
    set_daily_limit(server, 2)
    page = ctx.new_page()
    page.goto(server.origin + "/")
    page.get_by_role("link", name="从公海领取").click()
    page.wait_for_url("**/customers?owner=pool")
    rows = page.locator("#customer-list .customer-row")
    assert rows.count() == 3
    assert no_horizontal_overflow(page)
    shot(page, "pool-list-phone")
    # The filter sheet opens from the bottom on a phone and shows the pool as the owner.
    page.get_by_text("筛选 (1)").click()
    sheet = page.locator("#customer-filters .filter-form")
    assert sheet.is_visible()
    assert page.locator("#flt-owner").input_value() == "pool"
    box = sheet.bounding_box()
    assert box["y"] + box["height"] >= 844 - 2  # anchored to the bottom of the screen
    shot(page, "pool-filter-sheet-phone")
    page.mouse.click(195, 40)  # a tap on the dimmed page above the sheet closes it
    assert not sheet.is_visible()
    for name in ("公海甲", "公海乙"):
        page.get_by_role("button", name=f"领取 {name}").click()
        page.locator("#pool-claim-result.ok").first.wait_for()
        page.locator("#pool-claim-result.ok").first.evaluate("e => e.remove()")
    page.get_by_role("button", name="领取 公海丙").click()
    refused = page.locator("#pool-claim-result.refused")
    refused.wait_for()
    assert "每日上限" in refused.inner_text()
    shot(page, "pool-limit-message-phone")
    # The two claimed ones are the rep's now; the third waits in the pool.
    page.goto(server.origin + "/customers?owner=me")
    assert sorted(page.locator("#customer-list .customer-row > a").all_inner_texts()) == [
        "公海乙",
        "公海甲",
    ]
    ctx.close()


def test_an_admin_hands_a_leaving_reps_customers_to_a_colleague(browser, server):
    leaver = signed_in_context(browser, server, name="郑离", role="rep", team=TEAM)
    leaver.close()
    colleague = signed_in_context(browser, server, name="冯接", role="rep", team=TEAM)
    add_customers(server, ["交接一号", "交接二号", "交接三号"], owner="郑离")
    admin = signed_in_context(browser, server, name="管理员王", role="admin", size="counter")
    page = admin.new_page()
    page.goto(server.origin + "/admin/users")
    row = page.locator("li.user-row").filter(has_text="郑离")
    row.get_by_text("停用", exact=True).click()
    row.get_by_role("button", name="停用郑离").click()
    page.wait_for_url("**/pool/handover/*")
    page.get_by_label("全部交给一位同事").check()
    page.get_by_label("同事", exact=True).select_option(label="冯接")
    page.get_by_role("button", name="预览").click()
    preview = page.locator("#handover-preview")
    preview.wait_for()
    assert "冯接" in preview.inner_text() and "3" in preview.inner_text()
    shot(page, "pool-handover-preview-desk")
    page.get_by_role("button", name="交接并停用 郑离").click()
    page.wait_for_url("**/admin/users")
    assert "已交接 3 个客户" in page.content()
    admin.close()
    mine = colleague.new_page()
    mine.goto(server.origin + "/customers?owner=me")
    names = sorted(mine.locator("#customer-list .customer-row > a").all_inner_texts())
    assert names == sorted(["交接一号", "交接二号", "交接三号"])
    colleague.close()
