"""The shell in a real browser at phone and counter size."""

import pytest

from tests.e2e.conftest import no_horizontal_overflow, shot

pytestmark = pytest.mark.e2e


def test_login_page_fits_a_phone_without_sideways_scrolling(server, phone):
    page = phone.new_page()
    page.goto(server.origin + "/customers")
    assert page.url.startswith(server.origin + "/login?next=/customers")
    button = page.get_by_role("button", name="使用通行密钥登录")
    assert button.is_visible()
    box = button.bounding_box()
    assert box["height"] >= 44
    assert no_horizontal_overflow(page)
    shot(page, "phone-login")


def test_404_page_at_counter_size_in_english(server, browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="en-US")
    page = ctx.new_page()
    response = page.goto(server.origin + "/nothing-here")
    assert response.status == 404
    assert page.get_by_role("heading", name="Not found").is_visible()
    assert no_horizontal_overflow(page)
    ctx.close()
