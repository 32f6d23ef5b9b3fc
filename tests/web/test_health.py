"""/healthz: ok while the database answers and the PDFs have a CJK font; 503 and why otherwise."""

import pytest
from litestar.testing import AsyncTestClient

from pdf.fonts import cjk_font_problem
from web.app import create_app


async def test_health_is_ok_with_the_shipped_font(client):
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.fixture
async def fontless_client(settings):
    """A client of an app whose machine has neither the shipped nor a system CJK font."""
    settings.extra["cjk_font_problem"] = lambda: cjk_font_problem(shipped={}, system=())
    async with AsyncTestClient(
        app=create_app(settings), base_url="http://localhost:8000"
    ) as client:
        yield client


async def test_health_fails_loudly_when_no_font_covers_chinese(fontless_client):
    response = await fontless_client.get("/healthz")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "fail"
    assert "empty boxes" in body["cjk_font"]
