"""The HTMX seam: one URL answers page or fragment, with Vary, HX-Trigger and flash messages."""

import json

import pytest
from litestar import Request, get
from litestar.response import Redirect, Response, Template
from litestar.testing import AsyncTestClient

from tests.support import html
from web.app import create_app
from web.core import access
from web.core.htmx import flash, fragment_or_redirect, render, see_other

PAGE = "pages/error.html"
PARTIAL = "partials/core/error_banner.html"
CONTEXT = {"title": "Seam title", "text": "Seam text", "status": 200, "request_id": ""}

HX = {"HX-Request": "true"}
BOOSTED = {"HX-Request": "true", "HX-Boosted": "true"}
HISTORY_RESTORE = {"HX-Request": "true", "HX-History-Restore-Request": "true"}

TRIGGERS = {
    "one": "saved",
    "list": ["saved", "visitsChanged"],
    "detail": {"visitsChanged": {"id": 7}},
}


TEST_ROUTES = ("test.seam_page", "test.seam_page_only", "test.seam_fragment", "test.seam_flash")


@pytest.fixture(autouse=True)
def _test_routes_are_public(monkeypatch):
    """The test-only routes below get a declared policy, like every route of the app."""
    for name in TEST_ROUTES:
        monkeypatch.setitem(access.ROUTES, name, access.PUBLIC)


@get("/seam/page", sync_to_thread=False, name="test.seam_page")
def seam_page(request: Request, event: str = "") -> Template:
    """A page whose fragment is the error banner; fires the named trigger set."""
    return render(request, PAGE, CONTEXT, partial=PARTIAL, trigger=TRIGGERS.get(event))


@get("/seam/page-only", sync_to_thread=False, name="test.seam_page_only")
def seam_page_only(request: Request) -> Template:
    """A page with no fragment: HTMX gets the whole page too."""
    return render(request, PAGE, CONTEXT)


@get("/seam/fragment", sync_to_thread=False, name="test.seam_fragment")
def seam_fragment(request: Request) -> Template | Redirect:
    """A fragment-only answer (after a write): a plain GET goes to its page."""
    return fragment_or_redirect(
        request, PARTIAL, CONTEXT, page_url="/seam/page", trigger="visitsChanged"
    )


@get("/seam/flash", sync_to_thread=False, name="test.seam_flash")
def seam_flash(request: Request) -> Redirect | Response:
    """Queue a flash message and redirect to the page, as a write handler does."""
    flash(request, "Saved once.")
    return see_other(request, "/seam/page", trigger="saved")


@pytest.fixture
async def seam(settings):
    """A client for the real app with the seam's test routes added."""
    app = create_app(settings)
    for handler in (seam_page, seam_page_only, seam_fragment, seam_flash):
        app.register(handler)
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        yield client


def _is_page(response) -> bool:
    tree = html(response)
    return tree.css_first("html") is not None and tree.css_first(".error-page h1") is not None


def _is_fragment(response) -> bool:
    tree = html(response)
    return "<html" not in response.text and tree.css_first("#error-banner .banner") is not None


def _varies_on_hx_request(response) -> bool:
    vary = [v.strip().lower() for v in response.headers.get("vary", "").split(",")]
    return "hx-request" in vary


async def test_plain_get_gets_the_page(seam):
    response = await seam.get("/seam/page")
    assert response.status_code == 200
    assert _is_page(response)
    assert _varies_on_hx_request(response)


async def test_htmx_request_gets_the_fragment(seam):
    response = await seam.get("/seam/page", headers=HX)
    assert response.status_code == 200
    assert _is_fragment(response)
    assert html(response).css_first("#error-banner strong").text(strip=True) == "Seam title"
    assert _varies_on_hx_request(response)


@pytest.mark.parametrize("headers", [BOOSTED, HISTORY_RESTORE], ids=["boosted", "history"])
async def test_boosted_and_history_restore_get_the_page(seam, headers):
    response = await seam.get("/seam/page", headers=headers)
    assert _is_page(response)
    assert _varies_on_hx_request(response)


async def test_without_a_partial_htmx_gets_the_page(seam):
    response = await seam.get("/seam/page-only", headers=HX)
    assert _is_page(response)
    assert _varies_on_hx_request(response)


async def test_no_trigger_sends_no_hx_trigger(seam):
    assert "hx-trigger" not in (await seam.get("/seam/page", headers=HX)).headers


@pytest.mark.parametrize(
    ("event", "header"),
    [
        ("one", "saved"),
        ("list", "saved, visitsChanged"),
        ("detail", json.dumps({"visitsChanged": {"id": 7}})),
    ],
)
async def test_trigger_sets_hx_trigger_on_page_and_fragment(seam, event, header):
    for headers in ({}, HX):
        response = await seam.get(f"/seam/page?event={event}", headers=headers)
        assert response.headers["hx-trigger"] == header


async def test_fragment_or_redirect_sends_a_plain_get_to_the_page(seam):
    response = await seam.get("/seam/fragment", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/seam/page"
    assert _varies_on_hx_request(response)
    assert _is_page(await seam.get("/seam/fragment"))


async def test_fragment_or_redirect_answers_htmx_with_the_fragment_and_event(seam):
    response = await seam.get("/seam/fragment", headers=HX)
    assert response.status_code == 200
    assert _is_fragment(response)
    assert response.headers["hx-trigger"] == "visitsChanged"
    assert _varies_on_hx_request(response)


async def test_see_other_redirects_a_plain_form_with_303(seam):
    response = await seam.get("/seam/flash", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/seam/page"
    assert _varies_on_hx_request(response)


async def test_see_other_sends_htmx_to_the_page_with_hx_location_and_trigger(seam):
    response = await seam.get("/seam/flash", headers=HX)
    assert response.status_code == 200
    assert response.headers["hx-location"] == "/seam/page"
    assert response.headers["hx-trigger"] == "saved"
    assert "location" not in response.headers
    assert _varies_on_hx_request(response)


def _flashes(response) -> list[str]:
    return [p.text(strip=True) for p in html(response).css("#flash .flash")]


async def test_flash_shows_once_on_the_next_full_page(seam):
    await seam.get("/seam/flash", follow_redirects=False)
    assert _flashes(await seam.get("/seam/page")) == ["Saved once."]
    assert _flashes(await seam.get("/seam/page")) == []


async def test_fragments_do_not_consume_the_flash(seam):
    await seam.get("/seam/flash", follow_redirects=False)
    fragment = await seam.get("/seam/page", headers=HX)
    assert _is_fragment(fragment) and "Saved once." not in fragment.text
    assert "Saved once." not in (await seam.get("/seam/fragment", headers=HX)).text
    assert _flashes(await seam.get("/seam/page")) == ["Saved once."]
