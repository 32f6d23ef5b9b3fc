"""The web shell: sign-in redirect, navigation by role, errors, headers, CSRF, language."""

from litestar import get
from litestar.testing import AsyncTestClient

from tests.support import csrf_token, html, texts
from web.app import create_app
from web.core import access


async def test_signed_out_visitor_goes_to_login_and_comes_back(client):
    response = await client.get("/customers?q=abc", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/customers%3Fq%3Dabc"


async def test_htmx_request_when_signed_out_gets_hx_redirect(client):
    response = await client.get("/customers", headers={"HX-Request": "true"})
    assert response.status_code == 401
    assert response.headers["hx-redirect"].startswith("/login?next=")


async def test_navigation_uses_stable_names_per_role(client, db, signed_in):
    await signed_in("manager", name="李伟", locale="en")
    tree = html(await client.get("/"))
    assert texts(tree, "nav.tabs a") == [
        "Today",
        "Customers",
        "Counter",
        "Team",
        "Weekly report",
        "Pipeline",  # issue 13: the pipeline board
    ]
    label = tree.css_first("label[for=site-search]")
    assert label.text(strip=True) == "Search customers"
    assert tree.css_first("a[aria-current=page]").text(strip=True) == "Today"


async def test_rep_sees_chinese_navigation_by_default(client, db, signed_in):
    await signed_in("rep")
    tree = html(await client.get("/"))
    assert texts(tree, "nav.tabs a") == ["今日", "客户", "销售漏斗"]
    assert tree.css_first("label[for=site-search]").text(strip=True) == "搜索客户"
    assert tree.css_first("html").attributes["lang"] == "zh-CN"


async def test_accept_language_english_when_user_has_no_setting(client):
    tree = html(await client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"}))
    assert tree.css_first("h1").text(strip=True) == "Sign in"
    tree = html(await client.get("/login", headers={"Accept-Language": "fr"}))
    assert tree.css_first("h1").text(strip=True) == "登录"


async def test_unknown_page_is_404_in_users_language(client, db, signed_in):
    await signed_in("rep", locale="en")
    response = await client.get("/no/such/page")
    assert response.status_code == 404
    tree = html(response)
    assert tree.css_first("h1").text(strip=True) == "Not found"
    assert texts(tree, "nav.tabs a") == ["Today", "Customers", "Pipeline"]


async def test_htmx_error_gets_banner_fragment(client, db, signed_in):
    await signed_in("rep", locale="en")
    response = await client.get("/no/such/page", headers={"HX-Request": "true"})
    assert response.status_code == 404
    assert response.headers["hx-retarget"] == "#error-banner"
    tree = html(response)
    assert tree.css_first("#error-banner[role=alert]") is not None
    assert "<html" not in response.text


async def test_crash_shows_500_page_with_request_id_and_no_trace(settings, caplog, monkeypatch):
    # Every route needs a declared policy (web/core/access.py); this one is for the test only.
    monkeypatch.setitem(access.ROUTES, "boom", access.PUBLIC)

    @get("/boom", name="boom", sync_to_thread=False)
    def boom() -> str:
        raise RuntimeError("secret internal detail")

    app = create_app(settings)
    app.register(boom)
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/boom", headers={"Accept-Language": "en"})
    assert response.status_code == 500
    assert "secret internal detail" not in response.text
    assert "Traceback" not in response.text
    code = html(response).css_first(".error-page code").text(strip=True)
    assert len(code) == 12
    assert any(code in r.getMessage() for r in caplog.records)


async def test_security_headers_and_vary(client):
    response = await client.get("/login")
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response.headers["x-content-type-options"] == "nosniff"
    assert response.headers["referrer-policy"] == "same-origin"
    assert "HX-Request" in response.headers["vary"]


async def test_html_has_no_inline_scripts(client):
    tree = html(await client.get("/login"))
    scripts = tree.css("script")
    assert scripts  # the page loads htmx; an empty list would check nothing
    for script in scripts:
        assert script.attributes.get("src"), "inline script would break the CSP"
        assert script.attributes["src"].startswith("/static/")


async def test_post_without_csrf_token_is_refused(client, db, signed_in):
    await signed_in("rep", locale="en")
    response = await client.post("/logout", data={})
    assert response.status_code == 403
    assert "Not allowed" in response.text
    # still signed in
    assert (await client.get("/", follow_redirects=False)).status_code == 200


async def test_sign_out_ends_session_server_side(client, db, signed_in):
    await signed_in("rep")
    stolen = client.cookies.get("kehu_session")
    token = await csrf_token(client, "/")
    response = await client.post("/logout", data={"_csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    client.cookies.set("kehu_session", stolen)
    assert (await client.get("/", follow_redirects=False)).status_code == 303


async def test_language_switch_is_remembered_for_the_user(client, db, signed_in):
    await signed_in("rep")
    token = await csrf_token(client, "/")
    await client.post("/language", data={"_csrf_token": token, "locale": "en", "next": "/"})
    client.cookies.delete("kehu_lang")
    tree = html(await client.get("/"))
    assert texts(tree, "nav.tabs a") == ["Today", "Customers", "Pipeline"]


async def test_static_files_are_versioned_and_cached_long(client):
    tree = html(await client.get("/login"))
    css = tree.css_first("link[rel=stylesheet]").attributes["href"]
    assert "?v=" in css
    response = await client.get(css)
    assert response.status_code == 200
    assert "max-age=31536000" in response.headers["cache-control"]


async def test_health_check(client):
    response = await client.get("/healthz")
    assert response.json() == {"status": "ok"}
