"""Sessions and headers: short-lived anonymous rows, purging, no-store for signed-in, HSTS."""

from dataclasses import replace
from datetime import timedelta

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from db.models import RateLimitHit, WebSession
from db.sessions import session_save
from db.types import utcnow
from tests import factories as make
from tests.softauthn import page_csrf, post_json
from tests.support import sign_in
from web.app import create_app
from web.auth.passkeys import CHALLENGE_TTL
from web.core.sessions import COOKIE, hash_token


async def session_rows(db) -> list[WebSession]:
    """Every stored session, as stored now."""
    stmt = select(WebSession).execution_options(populate_existing=True)
    return list((await db.execute(stmt)).scalars())


async def test_loading_the_sign_in_page_stores_no_session_row(client, db):
    for _ in range(3):
        assert (await client.get("/login")).status_code == 200
    assert await session_rows(db) == []


async def test_an_anonymous_challenge_row_lives_no_longer_than_the_challenge(client, db):
    csrf = await page_csrf(client)
    assert (await post_json(client, "/login/options", csrf)).status_code == 200
    (row,) = await session_rows(db)
    assert row.user_id is None
    assert row.id_hash == hash_token(client.cookies.get(COOKIE))
    assert row.expires_at <= utcnow() + CHALLENGE_TTL


async def test_expired_sessions_and_old_counters_are_purged(client, db):
    now = utcnow()
    for i, expires in enumerate((now - timedelta(minutes=1), now + timedelta(days=1))):
        await session_save(db, id_hash=f"{i:064d}", user_id=None, data={}, expires_at=expires)
    db.add(RateLimitHit(key="ip:old", window=int(now.timestamp() // 60) - 10, hits=3))
    await db.commit()
    csrf = await page_csrf(client)
    assert (await post_json(client, "/login/options", csrf)).status_code == 200
    hashes = {row.id_hash for row in await session_rows(db)}
    assert f"{0:064d}" not in hashes  # expired: gone
    assert f"{1:064d}" in hashes  # still live: kept
    old = select(func.count()).select_from(RateLimitHit).where(RateLimitHit.key == "ip:old")
    assert (await db.execute(old)).scalar_one() == 0


async def test_signed_in_pages_and_fragments_are_never_cached(client, db):
    team = await make.team(db)
    user = await make.user(db, team=team)
    anonymous = await client.get("/login")
    assert "no-store" not in anonymous.headers.get("cache-control", "")
    await sign_in(client, db, user)
    page = await client.get("/customers")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    fragment = await client.get("/customers?q=abc", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert fragment.headers["cache-control"] == "no-store"
    missing = await client.get("/customers/999999")
    assert missing.status_code == 404
    assert missing.headers["cache-control"] == "no-store"


async def test_security_headers_on_every_answer_and_hsts_only_on_https(client, settings):
    for path in ("/login", "/no/such/page"):
        response = await client.get(path)
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "strict-transport-security" not in response.headers
    app = create_app(replace(settings, origin="https://crm.example.com"))
    async with AsyncTestClient(app=app, base_url="https://crm.example.com") as secure:
        response = await secure.get("/login")
        assert response.headers["strict-transport-security"].startswith("max-age=")
        assert int(response.headers["strict-transport-security"].split("=")[1]) >= 31536000
