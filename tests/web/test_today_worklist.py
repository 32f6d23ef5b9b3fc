"""Today as a work list (issue 20): short sections, filters, next actions, counts by rep."""

from datetime import timedelta

from db.models import Customer
from tests import factories as make
from tests.support import csrf_token, html, local_today, texts

HX = {"HX-Request": "true"}


def ago(days: int):
    """A follow-up day `days` before today."""
    return local_today() - timedelta(days=days)


async def _overdue(db, team, owner, n: int, level: str = "B", start: int = 1):
    for i in range(n):
        await make.customer(
            db, team=team, owner=owner, name=f"Late {i:02d}", level=level,
            next_follow_up_on=ago(start + i),
        )  # fmt: skip


async def test_a_long_section_shows_five_rows_and_a_show_all_link(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    await _overdue(db, team, rep, 8)
    tree = html(await client.get("/"))
    overdue = tree.css_first("section[aria-labelledby=overdue-heading]")
    assert len(overdue.css(".today-row")) == 5
    link = overdue.css_first(".show-all a")
    assert link.text(strip=True) == "Show all 8"
    everything = html(await client.get(link.attributes["href"]))
    rows = everything.css("section[aria-labelledby=overdue-heading] .today-row")
    assert len(rows) == 8


async def test_show_all_in_chinese_and_the_new_customer_button(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep")
    await _overdue(db, team, rep, 6)
    tree = html(await client.get("/"))
    assert texts(tree, ".show-all a") == ["显示全部 6 个"]
    button = tree.css_first(".page-head a.button.primary")
    assert button.text(strip=True) == "新建客户"
    assert button.attributes["href"] == "/customers/new"


async def test_overdue_rows_filter_by_level_and_lateness_and_sort(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    for name, level, days in (("Anna", "A", 2), ("Bert", "B", 40), ("Cora", "A", 15)):
        await make.customer(
            db, team=team, owner=rep, name=name, level=level, next_follow_up_on=ago(days)
        )
    names = "section[aria-labelledby=overdue-heading] .row-name"
    assert texts(html(await client.get("/")), names) == ["Bert", "Cora", "Anna"]
    assert texts(html(await client.get("/?level=A")), names) == ["Cora", "Anna"]
    assert texts(html(await client.get("/?late=month")), names) == ["Cora"]
    assert texts(html(await client.get("/?sort=name")), names) == ["Anna", "Bert", "Cora"]
    tree = html(await client.get("/?level=C"))
    assert texts(tree, "section[aria-labelledby=overdue-heading] .empty") == [
        "No overdue follow-up matches the filter."
    ]
    form = tree.css_first("form.today-filter")
    assert form.attributes["method"] == "get" and form.attributes["action"] == "/"
    assert form.css_first("select[name=level] option[selected]").attributes["value"] == "C"
    odd = await client.get("/?level=%00x&late=-1&sort=%F0&show=zz&rep=abc")
    assert odd.status_code in (200, 400)


async def test_recently_viewed_sits_above_the_due_lists_and_is_short(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    for i in range(5):
        c = await make.customer(db, team=team, owner=rep, name=f"Seen {i}")
        await make.viewed(db, user_id=rep.id, customer_id=c.id)
    await db.commit()
    tree = html(await client.get("/"))
    headings = [n.attributes["id"] for n in tree.css("main h2")]
    assert headings.index("recent-heading") < headings.index("overdue-heading")
    recent = tree.css_first("section[aria-labelledby=recent-heading]")
    assert len(recent.css(".today-row")) == 3
    assert recent.css_first(".show-all a").text(strip=True) == "Show all 5"


async def test_a_next_action_due_today_is_on_today_and_moves_the_follow_up(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    customer = await make.customer(db, team=team, owner=rep, name="Quote Co", level="C")
    token = await csrf_token(client, "/")
    response = await client.post(
        f"/customers/{customer.id}/visits",
        data={"_csrf_token": token, "outcome": "called", "idempotency_key": "k-action-1"},
        headers=HX,
    )
    visit_id = int(html(response).css_first("li[id^=visit-]").attributes["id"][6:])
    await db.refresh(customer)
    assert customer.next_follow_up_on == local_today() + timedelta(days=14)  # the C cadence
    response = await client.post(
        f"/visits/{visit_id}/edit",
        data={
            "_csrf_token": token,
            "next_action": "Send the quote",
            "next_action_due": (local_today() + timedelta(days=2)).isoformat(),
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    await db.refresh(customer)
    assert customer.next_follow_up_on == local_today() + timedelta(days=2)  # earlier: moved
    assert "Quote Co" not in html(await client.get("/")).text()  # not due yet
    await client.post(
        f"/visits/{visit_id}/edit",
        data={"_csrf_token": token, "next_action": "Send the quote",
              "next_action_due": local_today().isoformat()},
    )  # fmt: skip
    tree = html(await client.get("/"))
    actions = tree.css_first("section[aria-labelledby=actions-heading]")
    assert texts(actions, ".row-name") == ["Quote Co"]
    assert "Send the quote" in actions.css_first(".row-action").text()
    assert texts(tree, "section[aria-labelledby=due-heading] .row-name") == ["Quote Co"]


async def test_a_later_next_action_leaves_the_cadence_day(client, db, signed_in):
    team = await make.team(db)
    rep = await signed_in("rep", locale="en")
    customer = await make.customer(db, team=team, owner=rep, name="Later Co", level="A")
    token = await csrf_token(client, "/")
    response = await client.post(
        f"/customers/{customer.id}/visits",
        data={"_csrf_token": token, "outcome": "called", "idempotency_key": "k-action-2"},
        headers=HX,
    )
    visit_id = int(html(response).css_first("li[id^=visit-]").attributes["id"][6:])
    await client.post(
        f"/visits/{visit_id}/edit",
        data={"_csrf_token": token, "next_action": "Call back",
              "next_action_due": (local_today() + timedelta(days=20)).isoformat()},
    )  # fmt: skip
    row = await db.get(Customer, customer.id)
    await db.refresh(row)
    assert row.next_follow_up_on == local_today() + timedelta(days=3)


async def test_a_managers_today_lists_counts_per_rep_first_then_short_groups(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", locale="en")
    amy = await make.user(db, name="Amy", role="rep", team=team)
    bob = await make.user(db, name="Bob", role="rep", team=team)
    await _overdue(db, team, amy, 7, start=1)
    await _overdue(db, team, bob, 2, start=1)
    await make.customer(db, team=team, owner=bob, name="Bob today", next_follow_up_on=ago(0))
    tree = html(await client.get("/"))
    counts = tree.css("ul.rep-counts li")
    assert [c.css_first(".rep-name").text(strip=True) for c in counts] == ["Amy", "Bob"]
    numbers = [" ".join(c.css_first(".rep-numbers").text().split()) for c in counts]
    assert numbers == ["7 overdue · 0 due today", "2 overdue · 1 due today"]
    groups = tree.css("section.rep-group")
    assert [len(g.css(".today-row")) for g in groups] == [3, 3]
    more = groups[0].css_first(".show-all a")
    assert more.text(strip=True) == "Show all 7"
    expanded = html(await client.get(more.attributes["href"]))
    rows = [len(g.css(".today-row")) for g in expanded.css("section.rep-group")]
    assert rows == [7, 3]
