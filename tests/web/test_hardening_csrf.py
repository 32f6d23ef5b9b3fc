"""CSRF: the token is bound to the session and rotates; other origins cannot post at all."""

from dataclasses import replace

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from db.models import User
from tests import factories as make
from tests.softauthn import SoftAuthenticator, enrol_with, new_link, page_csrf, signin_with
from tests.support import csrf_token, sign_in
from web.app import create_app
from web.core.sessions import COOKIE

NEW_ADMIN = {"name": "Mallory", "role": "admin"}


async def user_count(db) -> int:
    """How many users exist now."""
    return (await db.execute(select(func.count()).select_from(User))).scalar_one()


async def signed_in_admin(client, db) -> User:
    """Sign an admin in (server-side session set directly)."""
    admin = await make.user(db, name="王芳", role="admin")
    await sign_in(client, db, admin)
    return admin


async def test_a_token_from_another_session_is_refused(app, client, db):
    # The attacker fetches a page in their own (anonymous) session and keeps its token...
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as attacker:
        planted = await page_csrf(attacker, "/login")
        planted_cookies = {k: v for k, v in attacker.cookies.items() if k != COOKIE}
    await signed_in_admin(client, db)
    before = await user_count(db)
    # ...and plants every other cookie it got (a sibling sub-domain or plain-http attacker
    # can) next to the victim's own session cookie.
    for name, value in planted_cookies.items():
        client.cookies.set(name, value)
    response = await client.post("/admin/users", data={**NEW_ADMIN, "_csrf_token": planted})
    assert response.status_code == 403
    assert await user_count(db) == before


async def test_a_post_from_another_origin_is_refused_even_with_the_token(client, db):
    await signed_in_admin(client, db)
    token = await csrf_token(client, "/admin/users")
    before = await user_count(db)
    for headers in (
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://localhost:8000.evil.example"},
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site"},  # a sibling sub-domain
    ):
        response = await client.post(
            "/admin/users", data={**NEW_ADMIN, "_csrf_token": token}, headers=headers
        )
        assert response.status_code == 403, headers
    assert await user_count(db) == before
    response = await client.post(
        "/admin/users",
        data={**NEW_ADMIN, "_csrf_token": token},
        headers={"Origin": "http://localhost:8000", "Sec-Fetch-Site": "same-origin"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert await user_count(db) == before + 1


async def test_the_token_rotates_on_sign_in_and_sign_out(client, db):
    team = await make.team(db)
    user = await make.user(db, team=team)
    auth = SoftAuthenticator()
    assert (await enrol_with(client, auth, await new_link(db, user))).status_code == 200
    client.cookies.clear()
    anonymous = await page_csrf(client, "/login")
    assert (await signin_with(client, auth)).status_code == 200
    signed_in = await csrf_token(client, "/")
    assert signed_in != anonymous
    # The sign-in page's token no longer works in the signed-in session.
    response = await client.post("/logout", data={"_csrf_token": anonymous})
    assert response.status_code == 403
    response = await client.post("/logout", data={"_csrf_token": signed_in}, follow_redirects=False)
    assert response.status_code == 303
    after = await page_csrf(client, "/login")
    assert after not in (anonymous, signed_in)
    response = await client.post(
        "/language", data={"_csrf_token": signed_in, "locale": "en", "next": "/"}
    )
    assert response.status_code == 403


async def test_odd_tokens_are_refused_not_crashed(client, db):
    await signed_in_admin(client, db)
    for token in ("", "é" * 43, "x" * 5000):
        response = await client.post("/admin/users", data={**NEW_ADMIN, "_csrf_token": token})
        assert response.status_code == 403
        header = token.encode("utf-8") or b"-"  # raw bytes, as a hostile client may send
        response = await client.post("/logout", headers={"X-CSRFToken": header})
        assert response.status_code == 403


async def test_https_uses_a_host_prefixed_session_cookie_and_no_csrf_cookie(settings):
    app = create_app(replace(settings, origin="https://crm.example.com"))
    async with AsyncTestClient(app=app, base_url="https://crm.example.com") as client:
        page = await client.get("/login")
        cookies = page.headers.get_list("set-cookie")
        assert len(cookies) == 1
        assert cookies[0].startswith("__Host-kehu_session=")
        flags = {p.strip().lower() for p in cookies[0].split(";")}
        assert {"secure", "httponly", "samesite=lax", "path=/"} <= flags
        assert not any(f.startswith("domain=") for f in flags)
