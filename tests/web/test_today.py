"""The Today page: overdue first, then due today, then recently viewed; per rep for managers."""

from datetime import timedelta

from sqlalchemy import event

from db.types import utcnow
from tests import factories as make
from tests.support import html, local_today, texts


def ago(days: int):
    """A follow-up day `days` before today (negative: in the future)."""
    return local_today() - timedelta(days=days)


async def test_rep_sees_overdue_oldest_first_then_due_today_then_recent(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", name="陈静", locale="en")
    colleague = await make.user(db, name="刘洋", role="rep", team=team)
    late = await make.customer(
        db, team=team, owner=rep, name="Late Ltd", level="A", next_follow_up_on=ago(1)
    )
    later = await make.customer(
        db,
        team=team,
        owner=rep,
        name="Very Late Co",
        level="C",
        next_follow_up_on=ago(12),
        last_visit_at=utcnow() - timedelta(days=26),
    )
    due = await make.customer(
        db, team=team, owner=rep, name="Due Today Inc", next_follow_up_on=ago(0)
    )
    await make.customer(db, team=team, owner=rep, name="Not Yet", next_follow_up_on=ago(-2))
    await make.customer(
        db, team=team, owner=colleague, name="Colleague's", next_follow_up_on=ago(5)
    )
    await make.customer(db, team=team, owner=None, name="Pool one", next_follow_up_on=ago(5))
    viewed = await make.customer(
        db, team=team, owner=rep, name="Looked At", next_follow_up_on=ago(-5)
    )
    await make.viewed(db, user_id=rep.id, customer_id=viewed.id)
    await make.viewed(db, user_id=rep.id, customer_id=late.id)  # listed above already
    await db.commit()

    tree = html(await client.get("/"))
    overdue = tree.css_first("section[aria-labelledby=overdue-heading]")
    assert texts(overdue, ".row-name") == ["Very Late Co", "Late Ltd"]
    assert texts(overdue, ".overdue") == ["12 days overdue", "1 day overdue"]
    first = overdue.css_first("li a")
    assert first.attributes["href"] == f"/customers/{later.id}"
    assert first.css_first(".badge").text(strip=True) == "C"
    assert "Last visit:" in first.text()
    assert "Never visited" in overdue.css("li")[1].text()
    due_section = tree.css_first("section[aria-labelledby=due-heading]")
    assert texts(due_section, ".row-name") == ["Due Today Inc"]
    assert texts(due_section, ".due-today") == ["Due today"]
    assert due_section.css_first("a").attributes["href"] == f"/customers/{due.id}"
    recent = tree.css_first("section[aria-labelledby=recent-heading]")
    assert texts(recent, ".row-name") == ["Looked At"]
    # Issue 20: recently viewed moved near the top, above the due lists.
    order = [n.attributes["id"] for n in tree.css("main h2")]
    assert order == ["recent-heading", "overdue-heading", "due-heading"]


async def test_rep_today_in_chinese_and_empty(client, db, signed_in):
    await signed_in("rep", name="陈静")
    tree = html(await client.get("/"))
    assert texts(tree, "main h2") == ["最近查看", "逾期", "今日到期"]
    assert texts(tree, ".empty") == [
        "你打开过的客户会显示在这里。",
        "没有逾期的跟进。",
        "今天没有到期的跟进。",
    ]


async def test_manager_sees_the_team_grouped_by_rep(client, db, signed_in):
    team = await make.team(db)
    other = await make.team(db, "华北销售组")
    await signed_in("manager", name="李伟", locale="en")
    a = await make.user(db, name="Amy", role="rep", team=team)
    b = await make.user(db, name="Bob", role="rep", team=team)
    await make.customer(db, team=team, owner=b, name="B-late", next_follow_up_on=ago(3))
    await make.customer(db, team=team, owner=a, name="A-due", next_follow_up_on=ago(0))
    await make.customer(db, team=team, owner=a, name="A-late", next_follow_up_on=ago(9))
    await make.customer(db, team=team, owner=None, name="Pool-late", next_follow_up_on=ago(2))
    await make.customer(db, team=other, name="Elsewhere", next_follow_up_on=ago(30))
    tree = html(await client.get("/"))
    groups = tree.css("section.rep-group")
    headings = [g.css_first("h3").text(strip=True) for g in groups]
    assert [h.split("1 overdue")[0] for h in headings] == ["Amy", "Bob", "Public pool"]
    assert "1 overdue · 1 due today" in headings[0]
    assert texts(groups[0], ".row-name") == ["A-late", "A-due"]
    assert texts(groups[1], ".row-name") == ["B-late"]
    assert texts(groups[2], ".row-name") == ["Pool-late"]
    assert "Elsewhere" not in tree.text()


async def test_clerk_sees_the_store_customers_due(client, db, signed_in):
    store = await make.team(db, "南京西路门店", store=True)
    clerk = await signed_in("clerk", name="吴婷", team=store, locale="en")
    await make.customer(
        db, team=store, owner=None, name="Walk-in regular", next_follow_up_on=ago(4)
    )
    await make.customer(db, team=store, owner=clerk, name="Mine", next_follow_up_on=ago(0))
    tree = html(await client.get("/"))
    assert texts(tree, "section[aria-labelledby=overdue-heading] .row-name") == ["Walk-in regular"]
    assert texts(tree, "section[aria-labelledby=due-heading] .row-name") == ["Mine"]


async def test_today_needs_two_queries(app, client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", name="陈静")
    for i in range(30):
        c = await make.customer(db, team=team, owner=rep, next_follow_up_on=ago(i % 5))
        await make.viewed(db, user_id=rep.id, customer_id=c.id)
    await db.commit()
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        statements.append(statement)

    engine = app.state.engine.sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = await client.get("/")
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200
    feature = [s for s in statements if "web_session" not in s]
    assert len(feature) == 2, feature


async def test_tapping_a_row_opens_the_customer_page(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", name="陈静", locale="en")
    customer = await make.customer(
        db, team=team, owner=rep, name="上海华东机械", next_follow_up_on=ago(2)
    )
    tree = html(await client.get("/"))
    link = tree.css_first("section[aria-labelledby=overdue-heading] a")
    response = await client.get(link.attributes["href"])
    assert response.status_code == 200
    assert html(response).css_first("h1").text(strip=True) == "上海华东机械"
    assert customer.id
