"""Enrolment links: who they are for, the registration ceremony, and one-time use."""

import hashlib
from dataclasses import replace
from datetime import timedelta

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import select, text, update

from db.models import AuditEvent, Credential, EnrolmentToken, User
from db.types import utcnow
from tests import factories as make
from tests.softauthn import (
    SoftAuthenticator,
    enrol_with,
    new_link,
    page_csrf,
    post_json,
    signin_with,
)
from tests.support import html
from web.app import create_app
from web.core.sessions import COOKIE


@pytest.fixture
def settings(settings):
    """Enough attempts per minute for tests that enrol several times."""
    return replace(settings, rate_limit_per_minute=1000)


async def credentials(db, user) -> list[Credential]:
    """Return a user's stored passkeys."""
    stmt = select(Credential).where(Credential.user_id == user.id)
    return list((await db.execute(stmt.execution_options(populate_existing=True))).scalars())


async def audits(db, action: str) -> list[AuditEvent]:
    """Return the audit events of one kind."""
    stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list((await db.execute(stmt.execution_options(populate_existing=True))).scalars())


async def test_enrolment_page_says_who_the_link_is_for(client, db):
    team = await make.team(db)
    user = await make.user(db, name="王芳", team=team)
    token = await new_link(db, user)
    response = await client.get(f"/enroll/{token}")
    assert response.status_code == 200
    tree = html(response)
    assert tree.css_first("h1").text(strip=True) == "为王芳创建通行密钥"
    assert tree.css_first("#passkey-create").text(strip=True) == "创建通行密钥"
    english = html(await client.get(f"/enroll/{token}", headers={"Accept-Language": "en"}))
    assert english.css_first("h1").text(strip=True) == "Create a passkey for 王芳"
    button = english.css_first("#passkey-create")
    assert button.text(strip=True) == "Create passkey"
    assert button.attributes["data-options-url"] == f"/enroll/{token}/options"
    assert button.attributes["data-csrf"]


async def test_enrolment_stores_the_passkey_uses_the_link_and_signs_in(client, db):
    team = await make.team(db)
    user = await make.user(db, name="王芳", team=team, locale="en")
    token = await new_link(db, user)
    auth = SoftAuthenticator()
    csrf = await page_csrf(client, f"/enroll/{token}")
    options = await post_json(client, f"/enroll/{token}/options", csrf)
    body = options.json()
    assert body["authenticatorSelection"]["residentKey"] == "required"
    assert body["authenticatorSelection"]["userVerification"] == "required"
    assert body["rp"]["id"] == "localhost"
    assert body["excludeCredentials"] == []
    anonymous = client.cookies.get(COOKIE)
    response = await post_json(
        client, f"/enroll/{token}/verify", csrf, {"credential": auth.create(body)}
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/"}
    assert client.cookies.get(COOKIE) != anonymous
    page = await client.get("/", follow_redirects=False)
    assert page.status_code == 200
    assert "Your passkey is ready" in page.text
    (stored,) = await credentials(db, user)
    assert stored.credential_id == next(iter(auth.keys))
    assert stored.transports == ["internal", "hybrid"]
    link = (await db.execute(select(EnrolmentToken))).scalar_one()
    assert link.used_at is not None
    (event,) = await audits(db, "passkey_enrolled")
    assert event.actor_id == user.id
    assert event.ip == "testclient"
    # The same passkey signs in later, usernameless.
    client.cookies.clear()
    assert (await signin_with(client, auth)).status_code == 200


async def test_none_attestation_is_accepted_too(client, db):
    team = await make.team(db)
    user = await make.user(db, team=team)
    response = await enrol_with(
        client, SoftAuthenticator(attestation="none"), await new_link(db, user)
    )
    assert response.status_code == 200
    assert len(await credentials(db, user)) == 1


async def test_clerk_lands_on_the_counter(client, db):
    store = await make.team(db, "徐汇门店", store=True)
    clerk = await make.user(db, name="周敏", role="clerk", team=store)
    response = await enrol_with(client, SoftAuthenticator(), await new_link(db, clerk))
    assert response.json() == {"redirect": "/counter"}


async def test_a_used_link_shows_plain_words_and_no_button(client, db):
    team = await make.team(db)
    user = await make.user(db, team=team, locale="en")
    token = await new_link(db, user)
    assert (await enrol_with(client, SoftAuthenticator(), token)).status_code == 200
    client.cookies.clear()
    response = await client.get(f"/enroll/{token}", headers={"Accept-Language": "en"})
    assert response.status_code == 410
    tree = html(response)
    assert tree.css_first("[role=alert].link-problem").text(strip=True) == (
        "This link has already been used. Ask your administrator for a new one."
    )
    assert tree.css_first("#passkey-create") is None
    zh = html(await client.get(f"/enroll/{token}"))
    assert (
        zh.css_first(".link-problem").text(strip=True) == "此链接已被使用。请向管理员索取新链接。"
    )
    csrf = await page_csrf(client, "/login")
    again = await post_json(client, f"/enroll/{token}/options", csrf)
    assert again.status_code == 410
    assert again.json()["error"].startswith("此链接已被使用")


async def test_link_used_between_options_and_verify_is_refused(client, db):
    team = await make.team(db)
    user = await make.user(db, team=team)
    token = await new_link(db, user)
    csrf = await page_csrf(client, f"/enroll/{token}")
    options = (await post_json(client, f"/enroll/{token}/options", csrf)).json()
    await db.execute(update(EnrolmentToken).values(used_at=utcnow()))
    await db.commit()
    credential = SoftAuthenticator().create(options)
    response = await post_json(client, f"/enroll/{token}/verify", csrf, {"credential": credential})
    assert response.status_code == 410
    assert await credentials(db, user) == []
    assert (await client.get("/", follow_redirects=False)).status_code == 303


async def test_an_expired_link_is_refused(client, db):
    team = await make.team(db)
    user = await make.user(db, team=team, locale="en")
    token = await new_link(db, user, hours=24, now=utcnow() - timedelta(hours=24, minutes=1))
    response = await client.get(f"/enroll/{token}", headers={"Accept-Language": "en"})
    assert response.status_code == 410
    assert "This link has expired" in html(response).css_first(".link-problem").text()
    assert html(response).css_first("#passkey-create") is None


async def test_link_lifetime_follows_the_setting(settings):
    now = [utcnow()]
    app = create_app(replace(settings, enrol_ttl_hours=2, extra={"clock": lambda: now[0]}))
    async with (
        AsyncTestClient(app=app, base_url="http://localhost:8000") as client,
        app.state.sessionmaker() as db,
    ):
        team = await make.team(db)
        user = await make.user(db, team=team)
        token = await new_link(db, user, hours=app.state.settings.enrol_ttl_hours, now=now[0])
        now[0] += timedelta(hours=1, minutes=59)
        assert (await client.get(f"/enroll/{token}")).status_code == 200
        now[0] += timedelta(minutes=2)
        assert (await client.get(f"/enroll/{token}")).status_code == 410


async def test_an_unknown_link_is_404_in_plain_words(client):
    response = await client.get("/enroll/not-a-real-token", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    tree = html(response)
    assert "This link is not valid" in tree.css_first(".link-problem").text()
    assert tree.css_first("#passkey-create") is None


async def test_a_deactivated_users_link_does_not_work(client, db):
    team = await make.team(db)
    user = await make.user(db, team=team)
    token = await new_link(db, user)
    await db.execute(update(User).where(User.id == user.id).values(active=False))
    await db.commit()
    assert (await client.get(f"/enroll/{token}")).status_code == 410


async def test_a_reissued_link_replaces_the_old_one(client, db):
    team = await make.team(db)
    user = await make.user(db, team=team)
    old = await new_link(db, user)
    new = await new_link(db, user)
    assert (await client.get(f"/enroll/{old}")).status_code == 410
    assert (await client.get(f"/enroll/{new}")).status_code == 200


async def test_the_link_is_stored_only_as_a_hash(client, db):
    team = await make.team(db)
    user = await make.user(db, team=team)
    token = await new_link(db, user)
    await enrol_with(client, SoftAuthenticator(), token)
    link = (await db.execute(select(EnrolmentToken))).scalar_one()
    assert link.token_hash == hashlib.sha256(token.encode()).hexdigest()
    for table in ("enrolmenttoken", "web_session", "audit_event", "credential", "user"):
        rows = (await db.execute(text(f"select * from {table}"))).all()
        assert rows or table == "web_session"
        assert token not in str(rows)


@pytest.mark.parametrize(
    "bend",
    [{"uv": False}, {"origin": "http://evil.example"}, {"rp_id": "evil.example"}],
)
async def test_bent_registrations_are_refused(client, db, bend):
    client.headers["Accept-Language"] = "en"
    team = await make.team(db)
    user = await make.user(db, team=team, locale="en")
    token = await new_link(db, user)
    response = await enrol_with(client, SoftAuthenticator(), token, **bend)
    assert response.status_code == 400
    assert response.json() == {"error": "Your passkey could not be checked. Please try again."}
    assert await credentials(db, user) == []
    # The link is still good for a proper try.
    assert (await enrol_with(client, SoftAuthenticator(), token)).status_code == 200


async def test_enrolment_challenge_is_single_use_and_bound_to_the_link(client, db):
    team = await make.team(db)
    first = await make.user(db, name="甲", team=team)
    second = await make.user(db, name="乙", team=team)
    token1, token2 = await new_link(db, first), await new_link(db, second)
    csrf = await page_csrf(client, f"/enroll/{token1}")
    options = (await post_json(client, f"/enroll/{token1}/options", csrf)).json()
    credential = SoftAuthenticator().create(options)
    # The response made for the first link cannot enrol the second user.
    response = await post_json(client, f"/enroll/{token2}/verify", csrf, {"credential": credential})
    assert response.status_code == 400
    # ...and that attempt used the challenge up.
    response = await post_json(client, f"/enroll/{token1}/verify", csrf, {"credential": credential})
    assert response.status_code == 400
    assert await credentials(db, first) == [] and await credentials(db, second) == []


async def test_enrolment_is_rate_limited(settings):
    app = create_app(replace(settings, rate_limit_per_minute=2))
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        for _ in range(2):
            assert (await client.get("/enroll/whatever")).status_code == 404
        response = await client.get("/enroll/whatever", headers={"Accept-Language": "en"})
        assert response.status_code == 429
        assert "Wait a minute and try again" in html(response).text()
