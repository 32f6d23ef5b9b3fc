"""The per-address sliding window that guards sign-in and enrolment."""

from dataclasses import replace
from datetime import timedelta

from litestar.testing import AsyncTestClient

from db.types import utcnow
from tests.softauthn import page_csrf, post_json
from web.app import create_app
from web.core.ratelimit import RateLimiter


def test_sliding_window_per_key():
    limiter = RateLimiter(2)
    assert limiter.hit("a", 0.0) == 0
    assert limiter.hit("a", 10.0) == 0
    assert limiter.hit("a", 20.0) == 40.0
    assert limiter.hit("b", 20.0) == 0
    assert limiter.hit("a", 60.5) == 0  # the first hit left the window
    assert limiter.hit("a", 61.0) > 0


async def test_the_limit_lifts_after_a_minute(settings):
    now = [utcnow()]
    app = create_app(replace(settings, rate_limit_per_minute=2, extra={"clock": lambda: now[0]}))
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        csrf = await page_csrf(client)
        assert (await post_json(client, "/login/options", csrf)).status_code == 200
        assert (await post_json(client, "/login/options", csrf)).status_code == 200
        limited = await post_json(client, "/login/options", csrf)
        assert limited.status_code == 429
        assert limited.headers["retry-after"] == "60"
        # Enrolment shares the budget of the address.
        assert (await client.get("/enroll/x")).status_code == 429
        now[0] += timedelta(seconds=61)
        assert (await post_json(client, "/login/options", csrf)).status_code == 200
