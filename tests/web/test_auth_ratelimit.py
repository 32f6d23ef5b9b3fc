"""Rate limits: per enrolment link, passkey and session; the address only as a flood guard."""

from dataclasses import replace
from datetime import timedelta

from litestar.testing import AsyncTestClient

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
from web.core.client_ip import client_address


def frozen(settings, **changes):
    """Settings with a clock the test moves, and any other changes."""
    now = [utcnow().replace(second=1)]
    return replace(settings, extra={"clock": lambda: now[0]}, **changes), now


async def test_fifty_people_enrol_and_sign_in_from_one_address_within_a_minute(settings, db):
    """The shop Wi-Fi case: one address, fifty colleagues, default limits, one minute."""
    settings, _now = frozen(settings)
    team = await make.team(db)
    people = []
    for i in range(50):
        user = await make.user(db, name=f"同事{i}", team=team)
        people.append((SoftAuthenticator(), await new_link(db, user)))
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        for auth, token in people:
            client.cookies.clear()
            response = await enrol_with(client, auth, token)
            assert response.status_code == 200, response.text
        for auth, _token in people:
            client.cookies.clear()
            response = await signin_with(client, auth)
            assert response.status_code == 200, response.text


async def test_a_flood_from_one_address_is_slowed_and_lifts_after_a_minute(settings):
    settings, now = frozen(settings, flood_limit_per_minute=30)
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        for i in range(30):
            assert (await client.get(f"/enroll/guess{i}")).status_code == 404
        response = await client.get("/enroll/another", headers={"Accept-Language": "en"})
        assert response.status_code == 429
        assert "Too many attempts from your network" in html(response).text()
        # The sign-in page itself still loads; its requests are refused while the flood lasts.
        csrf = await page_csrf(client)
        limited = await post_json(client, "/login/options", csrf)
        assert limited.status_code == 429
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        now[0] += timedelta(seconds=61)
        assert (await post_json(client, "/login/options", csrf)).status_code == 200


async def test_one_enrolment_link_is_limited_on_its_own(settings, db):
    settings, _now = frozen(settings, rate_limit_per_minute=3)
    team = await make.team(db)
    user = await make.user(db, team=team)
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        for _ in range(3):
            assert (await client.get("/enroll/hammered")).status_code == 404
        response = await client.get("/enroll/hammered", headers={"Accept-Language": "en"})
        assert response.status_code == 429
        assert "Too many attempts. Wait a minute" in html(response).text()
        # A colleague's link from the same address is not affected.
        response = await enrol_with(client, SoftAuthenticator(), await new_link(db, user))
        assert response.status_code == 200, response.text


async def test_answers_for_one_passkey_are_limited_even_across_sessions(settings, db):
    settings, _now = frozen(settings, rate_limit_per_minute=3)
    team = await make.team(db)
    user = await make.user(db, team=team)
    auth = SoftAuthenticator()
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        assert (await enrol_with(client, auth, await new_link(db, user))).status_code == 200
        statuses = []
        for _ in range(4):
            client.cookies.clear()  # a fresh session each time: only the passkey is shared
            statuses.append((await signin_with(client, auth)).status_code)
        assert statuses == [200, 200, 200, 429]


async def test_sign_in_answers_are_limited_per_session(settings):
    settings, _now = frozen(settings, rate_limit_per_minute=3)
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        csrf = await page_csrf(client)
        statuses = []
        for i in range(4):
            # A different made-up passkey each time: only the session is shared.
            body = {"credential": {"rawId": f"bm90LWEta2V5{i}", "response": {}}}
            statuses.append((await post_json(client, "/login/verify", csrf, body)).status_code)
        assert statuses == [400, 400, 400, 429]


async def test_loading_the_sign_in_page_never_counts_against_a_person(settings, db):
    settings, _now = frozen(settings, rate_limit_per_minute=3)  # enrolling takes three
    team = await make.team(db)
    user = await make.user(db, team=team)
    auth = SoftAuthenticator()
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        assert (await enrol_with(client, auth, await new_link(db, user))).status_code == 200
        client.cookies.clear()
        for _ in range(10):  # the page opened again and again, autofill asking each time
            csrf = await page_csrf(client)
            assert (await post_json(client, "/login/options", csrf)).status_code == 200
        response = await signin_with(client, auth)
        assert response.status_code == 200, response.text


async def test_limits_hold_across_server_processes(settings):
    """Two app instances on one database (two workers) share the counters."""
    settings, _now = frozen(settings, rate_limit_per_minute=2)
    first, second = create_app(settings), create_app(settings)
    async with (
        AsyncTestClient(app=first, base_url="http://localhost:8000") as a,
        AsyncTestClient(app=second, base_url="http://localhost:8000") as b,
    ):
        assert (await a.get("/enroll/shared")).status_code == 404
        assert (await b.get("/enroll/shared")).status_code == 404
        assert (await a.get("/enroll/shared")).status_code == 429
        assert (await b.get("/enroll/shared")).status_code == 429


def test_forwarded_for_is_believed_only_from_trusted_proxies():
    trusted = ("10.0.0.0/8",)
    # No trusted proxies configured, or the peer is not one: the header is ignored.
    assert client_address("10.0.0.5", ["203.0.113.9"], ()) == "10.0.0.5"
    assert client_address("198.51.100.7", ["203.0.113.9"], trusted) == "198.51.100.7"
    # Behind the proxy: the right-most address the proxy did not add itself.
    assert client_address("10.0.0.5", ["203.0.113.9"], trusted) == "203.0.113.9"
    assert client_address("10.0.0.5", ["6.6.6.6, 203.0.113.9, 10.0.0.2"], trusted) == (
        "203.0.113.9"
    )
    assert client_address("10.0.0.5", ["6.6.6.6", "203.0.113.9"], trusted) == "203.0.113.9"
    # Nothing forwarded, or garbage: the proxy's own address.
    assert client_address("10.0.0.5", [], trusted) == "10.0.0.5"
    assert client_address("10.0.0.5", ["not-an-ip"], trusted) == "10.0.0.5"


async def test_a_spoofed_forwarded_for_does_not_change_the_address(settings):
    settings, _now = frozen(settings, flood_limit_per_minute=2)
    app = create_app(settings)
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        for i in range(2):
            spoof = {"X-Forwarded-For": f"203.0.113.{i}"}
            assert (await client.get(f"/enroll/x{i}", headers=spoof)).status_code == 404
        spoof = {"X-Forwarded-For": "203.0.113.99"}
        assert (await client.get("/enroll/x9", headers=spoof)).status_code == 429
