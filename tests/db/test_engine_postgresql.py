"""PostgreSQL connections of the app's engine: settings per connection, no pre-ping round trips."""

import asyncio

import pytest
from sqlalchemy import text

from db.engine import make_engine, url_without_options


@pytest.fixture
async def pooled(database_url, backend):
    """The app's pooled engine on the test's PostgreSQL database (tests use no pool)."""
    if backend.name != "postgresql":
        pytest.skip("PostgreSQL connections: runs in the --db=postgresql run")
    engine = make_engine(url_without_options(database_url)[0])
    yield engine
    await engine.dispose()


async def _backend_pid(engine) -> int:
    async with engine.connect() as conn:
        return (await conn.execute(text("SELECT pg_backend_pid()"))).scalar_one()


async def test_app_connections_run_without_jit(pooled):
    async with pooled.connect() as conn:
        assert (await conn.execute(text("SHOW jit"))).scalar_one() == "off"


async def test_a_pooled_connection_the_server_ended_is_replaced(pooled, database_url):
    """Without a pre-ping, a connection whose backend is gone must not reach a request."""
    first = await _backend_pid(pooled)
    assert await _backend_pid(pooled) == first  # the pool hands the same connection back
    other = make_engine(database_url)
    try:
        async with other.connect() as conn:
            await conn.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
    finally:
        await other.dispose()
    await asyncio.sleep(0.3)  # the event loop sees the socket close
    assert await _backend_pid(pooled) != first
