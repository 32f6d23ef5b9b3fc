"""Search over HTTP: the header box's HTMX fragment, the no-JS results page, what a result shows."""

from datetime import UTC, datetime
from urllib.parse import quote

from sqlalchemy import update

from db.models import Customer
from tests import factories as make
from tests.support import html, texts


async def setup(db, signed_in, locale="en"):
    """Sign in a rep of the sales team, who owns the customer the searches look for."""
    rep = await signed_in("rep", name="陈静", locale=locale)
    team = await make.team(db)
    target = await make.customer(
        db,
        via_form=True,
        name="上海华东机械有限公司",
        phone="13800138000",
        team=team,
        owner=rep,
        level="A",
    )
    await make.customer(db, via_form=True, name="华东机械", phone="13900139000", team=team)
    return target


async def test_htmx_search_gets_only_the_results_fragment(client, db, signed_in):
    target = await setup(db, signed_in)
    response = await client.get("/customers?q=shhd", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "<html" not in response.text
    assert "HX-Request" in response.headers["vary"]
    tree = html(response)
    root = tree.css_first("#customer-search-results")
    assert root is not None and "hidden" not in root.attributes
    links = root.css("li.result > a")
    assert [a.text(strip=True) for a in links] == ["上海华东机械有限公司"]
    assert links[0].attributes["href"] == f"/customers/{target.id}"


async def test_a_result_is_a_link_named_by_the_customer_with_level_owner_and_last_visit(
    client, db, signed_in
):
    target = await setup(db, signed_in)
    await db.execute(
        update(Customer)
        .where(Customer.id == target.id)
        .values(last_visit_at=datetime(2026, 11, 20, 2, 0, tzinfo=UTC))
    )
    await db.commit()
    response = await client.get("/customers?q=8000", headers={"HX-Request": "true"})
    (item,) = html(response).css("li.result")
    # The link holds the name only, so its accessible name is exactly the name.
    assert item.css_first("a").text(deep=True, strip=True) == "上海华东机械有限公司"
    meta = item.css_first(".result-meta").text(separator=" ", strip=True)
    # One date format per language (issue 20): "Nov 20, 2026", not "11/20/26".
    assert "Level A" in meta and "陈静" in meta and "Last visit Nov 20, 2026" in meta


async def test_plain_get_gets_the_full_results_page(client, db, signed_in):
    await setup(db, signed_in)
    for path in ("/customers?q=" + quote("华东"),):
        response = await client.get(path)
        assert response.status_code == 200
        tree = html(response)
        assert tree.css_first("html") is not None
        assert tree.css_first("h1").text(strip=True) == "Results for “华东”"
        names = [a.text(strip=True) for a in tree.css("#customer-list .customer-row > a")]
        assert names == ["华东机械", "上海华东机械有限公司"]
        # The header box keeps the query.
        assert tree.css_first("#site-search").attributes["value"] == "华东"


async def test_header_search_box_is_wired_for_htmx_and_works_without_it(client, db, signed_in):
    await setup(db, signed_in)
    tree = html(await client.get("/"))
    form = tree.css_first("form.search")
    assert form.attributes["action"] == "/customers" and form.attributes["method"] == "get"
    box = form.css_first("#site-search")
    assert tree.css_first("label[for=site-search]").text(strip=True) == "Search customers"
    assert box.attributes["name"] == "q"
    assert box.attributes["hx-get"] == "/customers"
    assert box.attributes["hx-trigger"] == "input changed delay:250ms, search"
    assert box.attributes["hx-target"] == "#customer-search-results"
    assert box.attributes["hx-push-url"] == "false"
    assert form.css_first("#customer-search-results") is not None
    scripts = [s.attributes["src"] for s in tree.css("script")]
    assert any(src.startswith("/static/js/search.js") for src in scripts)


async def test_empty_query_gives_an_empty_hidden_fragment(client, db, signed_in):
    await setup(db, signed_in)
    response = await client.get("/customers?q=", headers={"HX-Request": "true"})
    root = html(response).css_first("#customer-search-results")
    assert "hidden" in root.attributes and not root.css("li")


async def test_no_result_offers_a_new_customer_with_the_query_filled_in(client, db, signed_in):
    await setup(db, signed_in, locale="zh_CN")
    response = await client.get(
        "/customers?q=" + quote("139 1234 5678"), headers={"HX-Request": "true"}
    )
    tree = html(response)
    assert texts(tree, ".no-results") == ["未找到客户。"]
    link = tree.css_first(".results-footer a")
    assert link.text(strip=True) == "新建客户"
    assert link.attributes["href"] == "/customers/new?phone=139+1234+5678"
    form = html(await client.get(link.attributes["href"]))
    assert form.css_first("input[name=phone]").attributes["value"] == "139 1234 5678"
