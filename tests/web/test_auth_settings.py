"""Settings → Passkeys: list, add with the real ceremony, rename, revoke (never the last)."""

from dataclasses import replace

import pytest
from sqlalchemy import select

from db.models import AuditEvent, Credential
from tests.softauthn import SoftAuthenticator, enrolled_user, page_csrf, post_json, signin_with
from tests.support import html, texts

ANDROID_CHROME = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/126.0.0.0 Mobile Safari/537.36"
)
IPHONE_SAFARI = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1"
)


@pytest.fixture
def settings(settings):
    """Enough attempts per minute for tests that sign in several times."""
    return replace(settings, rate_limit_per_minute=1000)


async def passkeys(db, user, *, revoked: bool = False) -> list[Credential]:
    """Return a user's passkeys (active ones, or all)."""
    stmt = select(Credential).where(Credential.user_id == user.id).order_by(Credential.id)
    if not revoked:
        stmt = stmt.where(Credential.revoked_at.is_(None))
    return list((await db.execute(stmt.execution_options(populate_existing=True))).scalars())


async def audits(db, action: str) -> list[AuditEvent]:
    """Return the audit events of one kind."""
    stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list((await db.execute(stmt)).scalars())


async def add_passkey(client, auth: SoftAuthenticator, user_agent: str = ANDROID_CHROME):
    """Run the Add passkey ceremony from the settings page; return the verify response."""
    csrf = await page_csrf(client, "/settings")
    options = await post_json(client, "/settings/passkeys/options", csrf)
    assert options.status_code == 200, options.text
    credential = auth.create(options.json())
    return await client.post(
        "/settings/passkeys/verify",
        json={"credential": credential},
        headers={"X-CSRFToken": csrf, "User-Agent": user_agent},
    )


async def test_settings_needs_a_signed_in_user(client):
    response = await client.get("/settings", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/settings"


async def test_settings_lists_passkeys_with_stable_names(client, db):
    _user, auth = await enrolled_user(client, db, locale="en")
    assert (await signin_with(client, auth)).status_code == 200
    tree = html(await client.get("/settings"))
    assert tree.css_first("#passkeys-heading").text(strip=True) == "Passkeys"
    assert tree.css_first("#passkey-add").text(strip=True) == "Add passkey"
    (row,) = tree.css("#passkey-list li.passkey")
    assert row.css_first("button.danger").text(strip=True) == "Revoke"
    assert "Created" in row.text()
    assert "Last used" in row.text()
    assert "checked" in tree.css_first("input[name=locale][value=en]").attributes
    assert tree.css_first("a[href='/admin/users']") is None


async def test_settings_in_chinese(client, db, signed_in):
    await signed_in("rep")
    tree = html(await client.get("/settings"))
    assert tree.css_first("#passkeys-heading").text(strip=True) == "通行密钥"
    assert tree.css_first("#passkey-add").text(strip=True) == "添加通行密钥"


async def test_add_a_second_passkey_named_after_the_device(client, db):
    user, phone = await enrolled_user(client, db, locale="en")
    assert (await signin_with(client, phone)).status_code == 200
    csrf = await page_csrf(client, "/settings")
    options = (await post_json(client, "/settings/passkeys/options", csrf)).json()
    assert [c["id"] for c in options["excludeCredentials"]] != []
    assert options["user"]["id"]
    laptop = SoftAuthenticator()
    response = await add_passkey(client, laptop, IPHONE_SAFARI)
    assert response.status_code == 200, response.text
    assert response.json() == {"redirect": "/settings"}
    _first, second = await passkeys(db, user)
    assert second.name == "Safari on iPhone"
    (event,) = await audits(db, "passkey_added")
    assert event.entity_id == second.id
    tree = html(await client.get("/settings"))
    assert texts(tree, ".passkey-name")[1] == "Safari on iPhone"
    assert "Passkey added" in tree.text()
    # Both passkeys sign in.
    client.cookies.clear()
    assert (await signin_with(client, laptop)).status_code == 200
    client.cookies.clear()
    assert (await signin_with(client, phone)).status_code == 200


async def test_adding_the_same_authenticator_twice_is_excluded(client, db):
    _user, phone = await enrolled_user(client, db, locale="en")
    assert (await signin_with(client, phone)).status_code == 200
    with pytest.raises(ValueError, match="excluded"):
        await add_passkey(client, phone)


async def test_device_names_are_translated(client, db):
    user, phone = await enrolled_user(client, db, locale="zh_CN")
    assert (await signin_with(client, phone)).status_code == 200
    assert (await add_passkey(client, SoftAuthenticator(), ANDROID_CHROME)).status_code == 200
    assert (await passkeys(db, user))[1].name == "Android 上的 Chrome"


async def test_revoke_one_passkey_and_it_no_longer_signs_in(client, db):
    user, phone = await enrolled_user(client, db, locale="en")
    assert (await signin_with(client, phone)).status_code == 200
    assert (await add_passkey(client, SoftAuthenticator())).status_code == 200
    first, _second = await passkeys(db, user)
    csrf = await page_csrf(client, "/settings")
    response = await client.post(
        f"/settings/passkeys/{first.id}/revoke",
        data={"_csrf_token": csrf},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/settings"
    assert len(await passkeys(db, user)) == 1
    (event,) = await audits(db, "passkey_revoked")
    assert event.entity_id == first.id
    client.cookies.clear()
    refused = await signin_with(client, phone)
    assert refused.status_code == 403


async def test_the_last_passkey_cannot_be_revoked(client, db):
    user, auth = await enrolled_user(client, db, locale="en")
    assert (await signin_with(client, auth)).status_code == 200
    (only,) = await passkeys(db, user)
    csrf = await page_csrf(client, "/settings")
    response = await client.post(f"/settings/passkeys/{only.id}/revoke", data={"_csrf_token": csrf})
    assert response.status_code == 409
    alert = html(response).css_first("#passkey-list [role=alert]").text(strip=True)
    assert "only passkey" in alert
    assert "administrator" in alert
    assert len(await passkeys(db, user)) == 1
    assert await audits(db, "passkey_revoked") == []


async def test_someone_elses_passkey_cannot_be_revoked_or_renamed(client, db):
    owner, _auth = await enrolled_user(client, db, name="甲")
    _other, other_auth = await enrolled_user(client, db, name="乙")
    (target,) = await passkeys(db, owner)
    assert (await signin_with(client, other_auth)).status_code == 200
    csrf = await page_csrf(client, "/settings")
    revoke = await client.post(f"/settings/passkeys/{target.id}/revoke", data={"_csrf_token": csrf})
    assert revoke.status_code == 404
    rename = await client.post(
        f"/settings/passkeys/{target.id}/rename", data={"_csrf_token": csrf, "name": "mine"}
    )
    assert rename.status_code == 404
    assert (await passkeys(db, owner))[0].name != "mine"


async def test_rename_a_passkey(client, db):
    user, auth = await enrolled_user(client, db, locale="en")
    assert (await signin_with(client, auth)).status_code == 200
    (key,) = await passkeys(db, user)
    csrf = await page_csrf(client, "/settings")
    response = await client.post(
        f"/settings/passkeys/{key.id}/rename",
        data={"_csrf_token": csrf, "name": "  Work   phone "},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert (await passkeys(db, user))[0].name == "Work phone"
    empty = await client.post(
        f"/settings/passkeys/{key.id}/rename", data={"_csrf_token": csrf, "name": " "}
    )
    assert empty.status_code == 422


async def test_add_passkey_challenge_belongs_to_the_user_who_asked(client, db):
    _a, a_auth = await enrolled_user(client, db, name="甲")
    _b, b_auth = await enrolled_user(client, db, name="乙")
    assert (await signin_with(client, a_auth)).status_code == 200
    csrf = await page_csrf(client, "/settings")
    options = (await post_json(client, "/settings/passkeys/options", csrf)).json()
    credential = SoftAuthenticator().create(options)
    # Signing in as someone else in the same browser drops nothing into their account.
    signin = (await post_json(client, "/login/options", csrf)).json()
    response = await post_json(client, "/login/verify", csrf, {"credential": b_auth.get(signin)})
    assert response.status_code == 200
    csrf = await page_csrf(client, "/settings")  # signing in rotates the CSRF token too
    response = await post_json(
        client, "/settings/passkeys/verify", csrf, {"credential": credential}
    )
    assert response.status_code == 400


async def test_admin_settings_link_to_users(client, db, signed_in):
    await signed_in("admin", name="王芳")
    tree = html(await client.get("/settings"))
    assert tree.css_first("a[href='/admin/users']").text(strip=True) == "用户"
