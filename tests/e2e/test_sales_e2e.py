"""The sales process in a real phone browser: a stage move with an inline field, won → lost
with a reason, a manager's approval from Today, and the History the rep then sees."""

import pytest
from sqlalchemy import create_engine
from sqlmodel import Session, select

from db.models import Customer, Team, User
from tests.e2e.conftest import no_horizontal_overflow, shot, signed_in_context

pytestmark = pytest.mark.e2e

REP = "周婷"
BOSS = "孙经理"
TEAM = "华北销售组"


def add_customer(server, *, name: str, number: str, **fields) -> int:
    """Insert a customer of the rep straight into the server's database."""
    engine = create_engine(f"sqlite:///{server.workdir / 'e2e.db'}")
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


@pytest.fixture(scope="module")
def rep_context(browser, server):
    """A signed-in rep on a phone."""
    ctx = signed_in_context(browser, server, name=REP, role="rep", team=TEAM, size="phone")
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def desk_context(browser, server):
    """A second manager of the team at a desk (1280 x 800)."""
    ctx = signed_in_context(
        browser, server, name="钱经理", role="manager", team=TEAM, size="counter"
    )
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def boss_context(browser, server):
    """A signed-in manager of the same team, on a phone."""
    ctx = signed_in_context(browser, server, name=BOSS, role="manager", team=TEAM, size="phone")
    yield ctx
    ctx.close()


def test_stage_move_lost_approval_and_history(server, rep_context, boss_context, desk_context):
    cid = add_customer(
        server,
        name="北京精密仪器有限公司",
        number="C202611951",
        stage="needs_confirmed",
        needs="三台检测设备",
    )
    page = rep_context.new_page()
    page.goto(f"{server.origin}/customers/{cid}")
    panel = page.locator("#sales-panel")
    # One tap forward, then the confirm asks for the amount Proposal requires.
    panel.get_by_role("button", name="方案提交 →").click()
    amount = page.get_by_label("预计成交金额（元）")
    amount.wait_for()
    page.locator("#sales-stage-form").get_by_role("button", name="变更阶段").click()
    page.locator("#sales-expected_amount-error").wait_for()
    amount.fill("86000")
    page.locator("#sales-stage-form").get_by_role("button", name="变更阶段").click()
    page.wait_for_url(f"**/customers/{cid}")
    page.locator("#sales-panel [aria-current=step]", has_text="方案提交").wait_for()
    assert "预计成交金额" not in page.locator("#sales-actions").inner_text()

    # Won first (no approval), then lost: that one waits for the manager.
    page.locator("#sales-actions").get_by_role("button", name="标记成交").click()
    page.locator("#sales-status-form").get_by_role("button", name="标记成交").click()
    page.locator("#sales-panel [aria-current=step]", has_text="成交").wait_for()
    page.locator("#sales-actions").get_by_role("button", name="标记流失").click()
    form = page.locator("#sales-status-form")
    form.get_by_label("竞争对手赢单").check()
    form.get_by_label("备注（选“其他”时必填）").fill("对手报价低 15%")
    form.get_by_role("button", name="标记流失").click()
    pending = page.locator("#sales-pending")
    pending.wait_for()
    assert "待审批" in pending.inner_text()
    assert page.locator("#sales-actions").count() == 0
    assert no_horizontal_overflow(page)

    # Both managers see the request on the Approvals page (desk and phone).
    desk = desk_context.new_page()
    desk.goto(f"{server.origin}/approvals")
    assert "北京精密仪器有限公司" in desk.locator("#sales-approval-list").inner_text()
    assert no_horizontal_overflow(desk)
    shot(desk, "sales-approvals-1280")
    boss = boss_context.new_page()
    boss.goto(f"{server.origin}/approvals")
    assert boss.locator(".approval-item").count() == 1
    shot(boss, "sales-approvals-390")

    # The manager approves from Today with one tap.
    boss.goto(f"{server.origin}/")
    region = boss.locator("#sales-today")
    assert region.locator("#approvals-heading .count").inner_text() == "1"
    assert "北京精密仪器有限公司" in region.inner_text()
    shot(boss, "sales-approvals-today-390")
    region.get_by_role("button", name="批准").click()
    boss.locator("#approvals-heading .count", has_text="0").wait_for()

    # The rep's customer page shows lost, with the whole story in the History region.
    page.goto(f"{server.origin}/customers/{cid}")
    assert "流失" in page.locator("#sales-panel .sales-status").inner_text()
    history = page.get_by_role("region", name="历史记录")
    text = history.inner_text()
    assert "状态：成交 → 流失" in text and "竞争对手赢单" in text and "已批准" in text
    assert "阶段：需求确认 → 方案提交" in text
    history.scroll_into_view_if_needed()
    shot(page, "sales-history-390")
    page.goto(f"{server.origin}/")
    decision = page.locator("#sales-decisions .decision")
    decision.first.wait_for()
    assert "已批准" in decision.first.inner_text()
    desk.goto(f"{server.origin}/customers/{cid}")
    desk.get_by_role("region", name="历史记录").scroll_into_view_if_needed()
    shot(desk, "sales-history-1280")


def test_pipeline_board_phone_and_desk(server, boss_context, desk_context):
    for i, stage in enumerate(["lead", "proposal", "proposal", "negotiation"]):
        add_customer(
            server,
            name=f"漏斗客户{i}",
            number=f"C20261196{i}",
            stage=stage,
            expected_amount_cents=(i + 1) * 1_000_000,
        )
    phone = boss_context.new_page()
    phone.goto(f"{server.origin}/")
    phone.get_by_role("link", name="销售漏斗").click()
    phone.wait_for_url("**/pipeline")
    head = phone.locator("#col-proposal")
    assert "2" in head.locator(".column-count").inner_text()
    assert not phone.locator(".pipeline-column.stage-proposal .pipeline-cards").is_visible()
    assert no_horizontal_overflow(phone)
    shot(phone, "sales-pipeline-390")
    head.click()
    phone.wait_for_url("**/pipeline/proposal")
    assert phone.locator(".pipeline-card").count() == 2
    desk = desk_context.new_page()
    desk.goto(f"{server.origin}/pipeline")
    cards = desk.locator(".pipeline-column.stage-proposal .pipeline-card")
    assert cards.count() == 2 and cards.first.is_visible()
    assert no_horizontal_overflow(desk)
    shot(desk, "sales-pipeline-1280")
