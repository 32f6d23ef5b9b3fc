"""Passkey sign-in: the real ceremony with a software authenticator, and every refusal."""

from dataclasses import replace
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, update

from db.models import AuditEvent, Credential, User, WebSession
from db.types import utcnow
from tests.softauthn import (
    SoftAuthenticator,
    enrolled_user,
    page_csrf,
    post_json,
    signin_with,
)
from tests.support import html
from web.app import create_app
from web.core.sessions import COOKIE, hash_token


@pytest.fixture
def settings(settings):
    """Enough attempts per minute for tests that sign in several times."""
    return replace(settings, rate_limit_per_minute=1000)


async def audits(db, action: str) -> list[AuditEvent]:
    """Return the audit events of one kind, oldest first."""
    stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list((await db.execute(stmt.execution_options(populate_existing=True))).scalars())


async def credential_of(db, user) -> Credential:
    """Return the user's (first) passkey as stored now."""
    stmt = select(Credential).where(Credential.user_id == user.id).order_by(Credential.id)
    return (await db.execute(stmt.execution_options(populate_existing=True))).scalars().first()


def set_cookie(response, name: str) -> str | None:
    """Return the raw Set-Cookie header for a cookie name."""
    for value in response.headers.get_list("set-cookie"):
        if value.startswith(name + "="):
            return value
    return None


async def test_login_page_has_one_passkey_button_autofill_field_and_no_password(client):
    response = await client.get("/login", headers={"Accept-Language": "en"})
    tree = html(response)
    buttons = tree.css("main button")
    assert [b.text(strip=True) for b in buttons] == ["Sign in with passkey"]
    button = buttons[0]
    assert button.attributes["data-csrf"]
    assert button.attributes["data-options-url"] == "/login/options"
    assert tree.css_first("input[autocomplete='username webauthn']") is not None
    assert tree.css_first("input[type=password]") is None
    assert tree.css_first("script[src^='/static/js/passkeys.js']") is not None
    assert tree.css_first("#passkey-error[role=alert]") is not None
    zh = html(await client.get("/login"))
    assert zh.css_first("#passkey-signin").text(strip=True) == "使用通行密钥登录"


async def test_usernameless_sign_in_rotates_session_and_audits(client, db):
    user, auth = await enrolled_user(client, db)
    csrf = await page_csrf(client)
    options = await post_json(client, "/login/options", csrf)
    body = options.json()
    assert options.headers["content-type"].startswith("application/json")
    assert body["allowCredentials"] == []
    assert body["userVerification"] == "required"
    assert body["rpId"] == "localhost"
    before = client.cookies.get(COOKIE)
    assert before, "the challenge lives in a server-side session"
    response = await post_json(
        client, "/login/verify", csrf, {"credential": auth.get(body), "next": "/"}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/"}
    after = client.cookies.get(COOKIE)
    assert after and after != before
    assert await db.get(WebSession, hash_token(before)) is None
    row = await db.get(WebSession, hash_token(after), populate_existing=True)
    assert row.user_id == user.id
    assert (await client.get("/", follow_redirects=False)).status_code == 200
    stored = await credential_of(db, user)
    assert stored.sign_count == 1
    assert stored.last_used_at is not None
    (event,) = await audits(db, "signin")
    assert event.actor_id == user.id
    assert event.ip == "testclient"


async def test_sign_in_returns_to_next_and_clerks_land_on_counter(client, db):
    _rep, rep_auth = await enrolled_user(client, db, name="陈静", role="rep")
    response = await signin_with(client, rep_auth, next="/customers?q=abc")
    assert response.json() == {"redirect": "/customers?q=abc"}
    client.cookies.clear()
    response = await signin_with(client, rep_auth, next="https://evil.example/")
    assert response.json() == {"redirect": "/"}
    client.cookies.clear()
    _clerk, clerk_auth = await enrolled_user(client, db, name="周敏", role="clerk")
    response = await signin_with(client, clerk_auth)
    assert response.json() == {"redirect": "/counter"}


async def test_replayed_response_is_refused_because_challenges_are_single_use(client, db):
    _user, auth = await enrolled_user(client, db)
    csrf = await page_csrf(client)
    options = (await post_json(client, "/login/options", csrf)).json()
    credential = auth.get(options)
    first = await post_json(client, "/login/verify", csrf, {"credential": credential})
    assert first.status_code == 200
    client.cookies.clear()
    csrf = await page_csrf(client)
    again = await post_json(client, "/login/verify", csrf, {"credential": credential})
    assert again.status_code == 400
    assert "error" in again.json()
    # Even in the same session as the (fresh) challenge, the old response does not match it.
    await post_json(client, "/login/options", csrf)
    again = await post_json(client, "/login/verify", csrf, {"credential": credential})
    assert again.status_code == 400
    reasons = [e.detail["reason"] for e in await audits(db, "signin_failed")]
    assert reasons == ["challenge_missing", "invalid_response"]


async def test_failed_verify_still_uses_up_the_challenge(client, db):
    _user, auth = await enrolled_user(client, db)
    csrf = await page_csrf(client)
    options = (await post_json(client, "/login/options", csrf)).json()
    bad = await post_json(
        client, "/login/verify", csrf, {"credential": auth.get(options, uv=False)}
    )
    assert bad.status_code == 400
    good = await post_json(client, "/login/verify", csrf, {"credential": auth.get(options)})
    assert good.status_code == 400


async def test_stale_challenge_is_refused(settings, tmp_path):
    now = [utcnow()]
    app = create_app(replace(settings, extra={"clock": lambda: now[0]}))
    async with (
        AsyncTestClient(app=app, base_url="http://localhost:8000") as client,
        app.state.sessionmaker() as db,
    ):
        _user, auth = await enrolled_user(client, db)
        client.headers["Accept-Language"] = "en"
        csrf = await page_csrf(client)
        options = (await post_json(client, "/login/options", csrf)).json()
        now[0] += timedelta(minutes=5, seconds=1)
        response = await post_json(client, "/login/verify", csrf, {"credential": auth.get(options)})
        assert response.status_code == 400
        assert "too long" in response.json()["error"]
        (event,) = await audits(db, "signin_failed")
        assert event.detail["reason"] == "challenge_expired"
        # Within five minutes it works.
        options = (await post_json(client, "/login/options", csrf)).json()
        now[0] += timedelta(minutes=4, seconds=50)
        response = await post_json(client, "/login/verify", csrf, {"credential": auth.get(options)})
        assert response.status_code == 200


async def test_challenge_is_bound_to_the_session_that_asked_for_it(app, db):
    async with (
        AsyncTestClient(app=app, base_url="http://localhost:8000") as alice,
        AsyncTestClient(app=app, base_url="http://localhost:8000") as mallory,
    ):
        _user, auth = await enrolled_user(alice, db)
        alice_csrf = await page_csrf(alice)
        alice_options = (await post_json(alice, "/login/options", alice_csrf)).json()
        mallory_csrf = await page_csrf(mallory)
        await post_json(mallory, "/login/options", mallory_csrf)
        stolen = auth.get(alice_options)
        response = await post_json(mallory, "/login/verify", mallory_csrf, {"credential": stolen})
        assert response.status_code == 400
        assert (await mallory.get("/", follow_redirects=False)).status_code == 303


@pytest.mark.parametrize(
    ("bend", "reason"),
    [
        ({"uv": False}, "invalid_response"),
        ({"origin": "http://localhost:9999"}, "invalid_response"),
        ({"origin": "https://evil.example"}, "invalid_response"),
        ({"rp_id": "evil.example"}, "invalid_response"),
        ({"user_handle": b"someone else"}, "user_handle_mismatch"),
    ],
)
async def test_bent_responses_are_refused_and_audited(client, db, bend, reason):
    user, auth = await enrolled_user(client, db)
    response = await signin_with(client, auth, **bend)
    assert response.status_code in (400, 403)
    assert response.json()["error"]
    assert (await client.get("/", follow_redirects=False)).status_code == 303
    (event,) = await audits(db, "signin_failed")
    assert event.detail["reason"] == reason
    assert event.actor_id == user.id
    assert not await audits(db, "signin")


async def test_sign_counter_is_updated_and_a_regression_refused_and_audited(client, db):
    client.headers["Accept-Language"] = "en"
    user, auth = await enrolled_user(client, db)
    assert (await signin_with(client, auth, sign_count=5)).status_code == 200
    assert (await credential_of(db, user)).sign_count == 5
    client.cookies.clear()
    response = await signin_with(client, auth, sign_count=5)
    assert response.status_code == 403
    assert "copied" in response.json()["error"]
    client.cookies.clear()
    assert (await signin_with(client, auth, sign_count=3)).status_code == 403
    (first, second) = await audits(db, "signin_failed")
    assert first.detail["reason"] == second.detail["reason"] == "sign_count_regressed"
    assert (await credential_of(db, user)).sign_count == 5
    client.cookies.clear()
    assert (await signin_with(client, auth, sign_count=6)).status_code == 200


async def test_authenticators_without_a_counter_may_keep_sending_zero(client, db):
    _user, auth = await enrolled_user(client, db)
    assert (await signin_with(client, auth, sign_count=0)).status_code == 200
    client.cookies.clear()
    assert (await signin_with(client, auth, sign_count=0)).status_code == 200


async def test_unknown_passkey_is_refused_in_plain_words(client, db):
    client.headers["Accept-Language"] = "en"
    await enrolled_user(client, db)
    stranger = SoftAuthenticator()
    stranger.create({"rp": {"id": "localhost"}, "user": {"id": "AAAA"}, "challenge": "AAAA"})
    response = await signin_with(client, stranger)
    assert response.status_code == 400
    assert response.json() == {
        "error": "This passkey is not registered with Kehu. "
        "Ask your administrator for an enrolment link."
    }
    (event,) = await audits(db, "signin_failed")
    assert event.detail["reason"] == "unknown_credential"


async def test_revoked_passkey_cannot_sign_in(client, db):
    client.headers["Accept-Language"] = "en"
    user, auth = await enrolled_user(client, db)
    stored = await credential_of(db, user)
    stored.revoked_at = utcnow()
    await db.commit()
    response = await signin_with(client, auth)
    assert response.status_code == 403
    assert "revoked" in response.json()["error"]
    (event,) = await audits(db, "signin_failed")
    assert event.detail["reason"] == "credential_revoked"


async def test_deactivated_user_cannot_sign_in_and_their_sessions_end(client, db):
    client.headers["Accept-Language"] = "en"
    user, auth = await enrolled_user(client, db)
    assert (await signin_with(client, auth)).status_code == 200
    assert (await client.get("/", follow_redirects=False)).status_code == 200
    await db.execute(update(User).where(User.id == user.id).values(active=False))
    await db.commit()
    assert (await client.get("/", follow_redirects=False)).status_code == 303
    client.cookies.clear()
    response = await signin_with(client, auth)
    assert response.status_code == 403
    assert "deactivated" in response.json()["error"]


async def test_errors_are_json_in_the_visitors_language(client, db):
    await enrolled_user(client, db)
    csrf = await page_csrf(client)
    response = await post_json(client, "/login/verify", csrf, {"credential": {}})
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("application/json")
    assert response.json() == {"error": "此次操作已超时或已被使用，请重试。"}


async def test_ceremony_endpoints_need_the_csrf_header(client):
    await client.get("/login")
    assert (await client.post("/login/options")).status_code == 403
    response = await client.post("/login/options", headers={"X-CSRFToken": "forged"})
    assert response.status_code == 403


async def test_session_cookie_is_httponly_samesite_lax_not_secure_on_http(client, db):
    _user, auth = await enrolled_user(client, db)
    csrf = await page_csrf(client)
    options = await post_json(client, "/login/options", csrf)
    response = await post_json(
        client, "/login/verify", csrf, {"credential": auth.get(options.json())}
    )
    cookie = set_cookie(response, COOKIE)
    assert cookie is not None
    flags = [p.strip().lower() for p in cookie.split(";")]
    assert "httponly" in flags
    assert "samesite=lax" in flags
    assert "secure" not in flags


async def test_cookies_are_secure_when_the_origin_is_https(settings):
    app = create_app(replace(settings, origin="https://crm.example.com"))
    async with AsyncTestClient(app=app, base_url="https://crm.example.com") as client:
        page = await client.get("/login")
        csrf = html(page).css_first("#passkey-signin").attributes["data-csrf"]
        response = await post_json(client, "/login/options", csrf)
        assert response.json()["rpId"] == "crm.example.com"
        # The CSRF token is bound to the session: the session cookie is the only one.
        cookies = page.headers.get_list("set-cookie") + response.headers.get_list("set-cookie")
        assert cookies and all(c.startswith("__Host-" + COOKIE + "=") for c in cookies)
        for cookie in cookies:
            flags = {p.strip().lower() for p in cookie.split(";")}
            assert {"secure", "httponly", "samesite=lax"} <= flags, cookie


async def test_sign_in_attempts_are_rate_limited_per_address(settings):
    app = create_app(replace(settings, flood_limit_per_minute=3))
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        csrf = await page_csrf(client)
        for _ in range(3):
            assert (await post_json(client, "/login/options", csrf)).status_code == 200
        response = await post_json(client, "/login/verify", csrf, {"credential": {}})
        assert response.status_code == 429
        assert int(response.headers["retry-after"]) >= 1
        assert response.json() == {"error": "您所在网络的尝试次数过多，请稍等一分钟再试。"}


async def test_logout_ends_the_session_server_side(client, db, signed_in):
    await signed_in("rep")
    token = client.cookies.get(COOKIE)
    csrf = await page_csrf(client, "/")
    response = await client.post("/logout", data={"_csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert await db.get(WebSession, hash_token(token), populate_existing=True) is None
