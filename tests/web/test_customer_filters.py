"""The customer list's filters, sort, count and pages, in the URL and inside visibility."""

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from db.types import utcnow
from tests import factories as make
from tests.support import html, local_today, texts


def names(tree) -> list[str]:
    return texts(tree, "#customer-list .customer-row > a")


async def _team_world(db, signed_in, who: str = "manager"):
    """A manager (or rep) signed in; two reps; pool and owned customers of several kinds."""
    team = await make.team(db)
    me = await signed_in(who, locale="en", name="李伟")
    rep = me if who == "rep" else await make.user(db, name="陈静", role="rep", team=team)
    other = await make.user(db, name="王芳", role="rep", team=team)
    late = local_today() - timedelta(days=5)
    await make.customer(db, name="甲 A overdue", owner=rep, level="A", next_follow_up_on=late)
    await make.customer(
        db,
        name="乙 A later",
        owner=rep,
        level="A",
        next_follow_up_on=local_today() + timedelta(days=30),
    )
    await make.customer(
        db, name="丙 B overdue", owner=rep, level="B", next_follow_up_on=late, tags=["VIP"]
    )
    await make.customer(db, name="丁 pool", team=team, level="C", source="website")
    await make.customer(db, name="戊 other", owner=other, level="A", next_follow_up_on=late)
    return team, me, rep, other


async def test_manager_filters_by_owner_level_and_overdue(client, db, signed_in):
    _, _, rep, _ = await _team_world(db, signed_in)
    response = await client.get(f"/customers?owner={rep.id}&level=A&due=overdue")
    assert response.status_code == 200
    tree = html(response)
    assert names(tree) == ["甲 A overdue"]
    assert tree.css_first("#customer-count").text(strip=True) == "1 customer"
    # The sheet shows the filters it applied, so the URL can be shared and edited.
    assert tree.css_first("#flt-level option[selected]").attributes["value"] == "A"
    assert "Filters (3)" in tree.css_first("#customer-filters summary").text()


async def test_public_pool_is_an_owner_filter(client, db, signed_in):
    await _team_world(db, signed_in)
    tree = html(await client.get("/customers?owner=pool"))
    assert names(tree) == ["丁 pool"]
    labels = texts(tree, "#flt-owner option")
    assert "Public pool" in labels and "陈静" in labels


async def test_a_rep_sees_own_and_pool_whatever_the_owner_filter_says(client, db, signed_in):
    _, _, _, other = await _team_world(db, signed_in, who="rep")
    assert sorted(names(html(await client.get("/customers")))) == sorted(
        ["甲 A overdue", "乙 A later", "丙 B overdue", "丁 pool"]
    )
    assert names(html(await client.get(f"/customers?owner={other.id}"))) == []
    # Sorted by name: 乙 (U+4E59) before 甲 (U+7532).
    assert names(html(await client.get("/customers?owner=me&level=A&sort=name"))) == [
        "乙 A later",
        "甲 A overdue",
    ]
    # A rep's owner choices are themselves and the pool, no colleague names.
    assert texts(html(await client.get("/customers")), "#flt-owner option")[1:] == [
        "Mine",
        "Public pool",
    ]


async def test_tag_source_status_and_stage_filters(client, db, signed_in):
    await _team_world(db, signed_in)
    assert names(html(await client.get("/customers?tag=VIP"))) == ["丙 B overdue"]
    assert names(html(await client.get("/customers?source=website"))) == ["丁 pool"]
    assert len(names(html(await client.get("/customers?status=potential&stage=lead")))) == 5
    assert names(html(await client.get("/customers?status=won"))) == []


async def test_no_visit_in_n_days_and_sort_by_last_visit(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", locale="en")
    now = utcnow()
    await make.customer(db, name="recent", team=team, last_visit_at=now - timedelta(days=2))
    await make.customer(db, name="stale", team=team, last_visit_at=now - timedelta(days=40))
    await make.customer(db, name="never", team=team)
    assert names(html(await client.get("/customers?no_visit_days=30&sort=name"))) == [
        "never",
        "stale",
    ]
    assert names(html(await client.get("/customers?sort=last_visit"))) == [
        "recent",
        "stale",
        "never",
    ]


async def test_created_range_uses_local_days(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", locale="en")
    shanghai = ZoneInfo("Asia/Shanghai")
    # 23:30 in Shanghai on 1 November is still 1 November, though it is 15:30 UTC.
    await make.customer(
        db,
        name="late evening",
        team=team,
        created_at=datetime(2026, 11, 1, 23, 30, tzinfo=shanghai),
    )
    await make.customer(
        db, name="next morning", team=team, created_at=datetime(2026, 11, 2, 0, 30, tzinfo=shanghai)
    )
    url = "/customers?created_from=2026-11-01&created_to=2026-11-01"
    assert names(html(await client.get(url))) == ["late evening"]
    url = "/customers?created_from=2026-11-02&sort=created"
    assert names(html(await client.get(url))) == ["next morning"]


async def test_pages_keep_the_filters(client, db, signed_in):
    team = await make.team(db)
    await signed_in("manager", locale="en")
    for i in range(52):
        await make.customer(db, name=f"A{i:02d}", team=team, level="A", commit=False)
    await make.customer(db, name="B only", team=team, level="B")
    tree = html(await client.get("/customers?level=A&sort=name"))
    assert tree.css_first("#customer-count").text(strip=True) == "52 customers"
    next_url = tree.css_first("a[rel=next]").attributes["href"]
    assert next_url == "/customers?level=A&sort=name&page=2"
    tree = html(await client.get(next_url))
    assert names(tree) == ["A50", "A51"]
    assert tree.css_first("a[rel=prev]").attributes["href"] == "/customers?level=A&sort=name"
    fragment = await client.get(next_url, headers={"HX-Request": "true"})
    assert "<html" not in fragment.text and 'id="customer-list"' in fragment.text


async def test_a_wrong_filter_is_shown_beside_its_field_and_the_rest_applies(client, db, signed_in):
    await _team_world(db, signed_in)
    response = await client.get("/customers?level=A&no_visit_days=abc&created_from=1.11.2026")
    assert response.status_code == 422
    tree = html(response)
    assert (
        tree.css_first("#flt-no_visit_days-error").text()
        == "Enter a number of days from 1 to 3650."
    )
    assert tree.css_first("#flt-created_from-error") is not None
    assert tree.css_first("#flt-no_visit_days").attributes["value"] == "abc"  # input kept
    assert sorted(names(tree)) == ["乙 A later", "戊 other", "甲 A overdue"]


async def test_the_filter_sheet_in_chinese(client, db, signed_in):
    await make.team(db)
    await signed_in("manager", locale="zh_CN")
    tree = html(await client.get("/customers?owner=pool"))
    assert "公海" in texts(tree, "#flt-owner option")
    assert tree.css_first("#customer-filters summary").text(strip=True) == "筛选 (1)"


def test_the_filter_messages_are_translated():
    from domain import customer_filter
    from web.core.i18n import load_catalogue

    catalogue = load_catalogue("zh_CN")
    assert [m for m in customer_filter.MESSAGES if m not in catalogue] == []
