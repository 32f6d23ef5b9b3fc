"""One clock per request: `now` and `today` are injected, read once, and tests can set them."""

import dataclasses
from datetime import UTC, date, datetime, timedelta

import pytest
from litestar import Request, get
from litestar.di import Provide
from litestar.testing import AsyncTestClient

from web.app import create_app
from web.core import access
from web.core.clock import request_now


def provide_stamp(request: Request) -> str:
    """A dependency that reads the clock on its own, as a db helper's caller might."""
    return request_now(request).isoformat()


TEST_ROUTES = ("test.clock_handler",)


@pytest.fixture(autouse=True)
def _test_routes_are_public(monkeypatch):
    """The test-only routes below get a declared policy, like every route of the app."""
    for name in TEST_ROUTES:
        monkeypatch.setitem(access.ROUTES, name, access.PUBLIC)


@get(
    "/clock",
    sync_to_thread=False,
    dependencies={"stamp": Provide(provide_stamp, sync_to_thread=False)},
    name="test.clock_handler",
)
def clock_handler(request: Request, now: datetime, today: date, stamp: str) -> dict[str, str]:
    """Report every reading of the clock made while answering one request."""
    return {
        "now": now.isoformat(),
        "again": request_now(request).isoformat(),
        "stamp": stamp,
        "today": today.isoformat(),
    }


class FakeClock:
    """A clock that moves on by an hour each time it is read, and counts the reads."""

    def __init__(self, start: datetime) -> None:
        """Start at `start` (aware UTC)."""
        self.current = start
        self.reads = 0

    def __call__(self) -> datetime:
        """Return the time, then move on."""
        self.reads += 1
        value = self.current
        self.current += timedelta(hours=1)
        return value


async def _client_for(settings):
    app = create_app(settings)
    app.register(clock_handler)
    return AsyncTestClient(app=app, base_url="http://localhost:8000")


async def test_settings_clock_is_read_once_per_request(settings):
    clock = FakeClock(datetime(2026, 11, 30, 12, 0, tzinfo=UTC))
    async with await _client_for(dataclasses.replace(settings, extra={"clock": clock})) as client:
        first = (await client.get("/clock")).json()
        second = (await client.get("/clock")).json()
    assert first["now"] == first["again"] == first["stamp"] == "2026-11-30T12:00:00+00:00"
    assert second["now"] == second["again"] == second["stamp"] == "2026-11-30T13:00:00+00:00"
    assert clock.reads == 2


async def test_today_is_the_company_day_of_the_request_time(settings):
    # 16:30 UTC on 30 November is already 1 December in Shanghai (UTC+8).
    clock = FakeClock(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    shanghai = dataclasses.replace(settings, extra={"clock": clock})
    async with await _client_for(shanghai) as client:
        assert (await client.get("/clock")).json()["today"] == "2026-12-01"
    clock = FakeClock(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
    london = dataclasses.replace(settings, timezone="Europe/London", extra={"clock": clock})
    async with await _client_for(london) as client:
        assert (await client.get("/clock")).json()["today"] == "2026-11-30"


async def test_without_a_test_clock_now_is_the_real_time(settings):
    before = datetime.now(UTC)
    async with await _client_for(settings) as client:
        body = (await client.get("/clock")).json()
    after = datetime.now(UTC)
    now = datetime.fromisoformat(body["now"])
    assert now.tzinfo is not None
    assert before - timedelta(seconds=1) <= now <= after + timedelta(seconds=1)
    assert body["now"] == body["again"] == body["stamp"]
