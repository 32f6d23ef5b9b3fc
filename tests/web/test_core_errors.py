"""Errors: readable pages and banners, user-facing details only when written for users."""

import sqlite3

import pytest
from litestar import get
from litestar.exceptions import HTTPException
from litestar.testing import AsyncTestClient
from sqlalchemy.exc import OperationalError

from tests import factories as make
from tests.support import html, sign_in
from web.app import create_app
from web.core import access
from web.core.errors import PublicError

TEST_ROUTES = ("test.oops_public", "test.oops_internal", "test.oops_locked", "test.oops_db")


@pytest.fixture(autouse=True)
def _test_routes_are_public(monkeypatch):
    """The test-only routes below get a declared policy, like every route of the app."""
    for name in TEST_ROUTES:
        monkeypatch.setitem(access.ROUTES, name, access.PUBLIC)


@get("/oops/public", sync_to_thread=False, name="test.oops_public")
def oops_public() -> str:
    """Refuse with a message written for the user."""
    raise PublicError(409, "That visit was already undone.")


@get("/oops/internal", sync_to_thread=False, name="test.oops_internal")
def oops_internal() -> str:
    """Refuse with a detail meant for developers only."""
    raise HTTPException(status_code=400, detail="column customer.secret is null")


@get("/oops/locked", sync_to_thread=False, name="test.oops_locked")
def oops_locked() -> str:
    """Fail as a write does when another transaction kept SQLite's lock past the timeout."""
    raise OperationalError("UPDATE customer", {}, sqlite3.OperationalError("database is locked"))


@get("/oops/db", sync_to_thread=False, name="test.oops_db")
def oops_db() -> str:
    """Fail with any other database error."""
    raise OperationalError("SELECT", {}, sqlite3.OperationalError("no such column: secret"))


@pytest.fixture
async def oops(settings):
    """A client for the real app with routes that fail on purpose."""
    app = create_app(settings)
    app.register(oops_public)
    app.register(oops_internal)
    app.register(oops_locked)
    app.register(oops_db)
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        yield client


async def test_public_error_detail_is_shown_on_the_page(oops):
    response = await oops.get("/oops/public", headers={"Accept-Language": "en"})
    assert response.status_code == 409
    tree = html(response)
    assert tree.css_first(".error-page h1").text(strip=True) == "Conflict"
    assert "That visit was already undone." in tree.css_first(".error-page").text()
    assert tree.css_first(".error-page a.button").attributes["href"] == "/"


async def test_public_error_is_a_banner_for_htmx(oops):
    response = await oops.get("/oops/public", headers={"HX-Request": "true"})
    assert response.status_code == 409
    assert response.headers["hx-retarget"] == "#error-banner"
    assert "That visit was already undone." in html(response).css_first("#error-banner").text()
    assert "HX-Request" in response.headers["vary"]


async def test_other_http_error_details_are_not_shown(oops):
    response = await oops.get("/oops/internal", headers={"Accept-Language": "en"})
    assert response.status_code == 400
    assert "customer.secret" not in response.text
    assert html(response).css_first(".error-page h1").text(strip=True) == "Bad request"


async def test_error_page_is_in_chinese_by_default(oops):
    response = await oops.get("/oops/internal")
    assert html(response).css_first(".error-page h1").text(strip=True) == "请求有误"


async def test_sign_in_redirect_varies_on_hx_request(client):
    plain = await client.get("/customers", follow_redirects=False)
    hx = await client.get("/customers", headers={"HX-Request": "true"})
    assert plain.status_code == 303 and hx.status_code == 401
    assert plain.headers["location"] == hx.headers["hx-redirect"] == "/login?next=/customers"
    for response in (plain, hx):
        assert "HX-Request" in response.headers["vary"]


async def test_signed_in_navigation_links_are_the_app_routes(client, db):
    team = await make.team(db)
    manager = await make.user(db, role="manager", team=team, locale="en")
    await sign_in(client, db, manager)
    links = [a.attributes["href"] for a in html(await client.get("/")).css("nav.tabs a")]
    assert links == ["/", "/customers", "/counter", "/team", "/reports/weekly", "/pipeline"]


async def test_a_locked_database_is_busy_not_broken_and_says_nothing_was_saved(oops):
    response = await oops.get("/oops/locked", headers={"HX-Request": "true"})
    assert response.status_code == 503
    assert response.headers["retry-after"] == "2"
    banner = html(response).css_first("#error-banner").text()
    assert "服务器正忙于保存其他更改，本次内容未保存" in banner


async def test_other_database_errors_stay_internal_and_show_no_detail(oops):
    response = await oops.get("/oops/db", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert "secret" not in response.text
