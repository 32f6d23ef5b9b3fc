"""The per-request plumbing made cheaper in issue 17 still gives every request the same answer.

Cookies are parsed once per request by a small parser (not SimpleCookie), dependencies are
resolved one after the other (not in a task group per request), and a request's database
session is rolled back only when it holds a transaction.
"""

import pytest
from litestar import post
from sqlalchemy import func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import AuditEvent
from tests.support import html
from web.core import access
from web.core.asgi import parse_cookies, request_cookies
from web.core.locale import LANG_COOKIE
from web.core.sessions import COOKIE


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("kehu_session=abc", {"kehu_session": "abc"}),
        ("a=1; s=abc;kehu_lang=en", {"a": "1", "s": "abc", "kehu_lang": "en"}),
        ('  kehu_lang="en" ; x = y ', {"kehu_lang": "en", "x": "y"}),
        ("a=1; a=2", {"a": "2"}),
        ("junk; =nameless; a=b=c; ;", {"a": "b=c"}),
        ("", {}),
    ],
    ids=["one", "several", "spaces-and-quotes", "later-wins", "malformed-parts", "empty"],
)
def test_cookie_header_is_parsed_as_browsers_send_it(header, expected):
    assert parse_cookies(header) == expected


def test_cookies_are_parsed_once_per_request():
    scope = {"type": "http", "headers": [(b"cookie", b"kehu_lang=en")]}
    first = request_cookies(scope)
    scope["headers"] = [(b"cookie", b"kehu_lang=zh_CN")]  # the scope's own copy is kept
    assert request_cookies(scope) is first
    assert first == {"kehu_lang": "en"}


async def test_session_cookie_among_others_still_signs_in(client, signed_in):
    await signed_in("rep", name="Lin Wei", locale="en")
    token = client.cookies.get(COOKIE)
    client.cookies.clear()
    response = await client.get(
        "/",
        headers={"Cookie": f'theme="dark"; junk; {COOKIE}={token}; {LANG_COOKIE}=zh_CN'},
    )
    assert response.status_code == 200
    # Signed in as the user (their own language wins over the language cookie).
    assert html(response).css_first("html").attributes.get("lang", "").startswith("en")
    assert "Lin Wei" in response.text


async def test_language_cookie_among_others_picks_the_language(client):
    response = await client.get(
        "/login", headers={"Cookie": f"a=1; {LANG_COOKIE}=en; b=2", "Accept-Language": "zh-CN"}
    )
    assert html(response).css_first("html").attributes.get("lang", "").startswith("en")


def test_every_handler_resolves_its_dependencies_in_turn(app):
    """No request of the app pays for an anyio task group to resolve its dependencies."""
    models = [
        model
        for route in app.routes
        for _handler, model in getattr(route, "route_handler_map", {}).values()
    ]
    assert any(len(model.dependency_batches) > 1 for model in models)  # several dependencies
    assert all(len(batch) == 1 for model in models for batch in model.dependency_batches)


@post("/test/write-no-commit", name="test.write_no_commit", sync_to_thread=False)
async def write_without_commit(db: AsyncSession) -> str:
    """Add an audit row and return without committing (a handler that forgot to)."""
    db.add(AuditEvent(actor_id=None, action="never_committed", entity="", detail={}, ip=""))
    await db.flush()
    return "ok"


async def test_a_request_that_does_not_commit_leaves_nothing(settings, monkeypatch):
    from litestar.testing import AsyncTestClient

    from web.app import create_app
    from web.core.csrf import EXCLUDE_OPT

    monkeypatch.setitem(access.ROUTES, "test.write_no_commit", access.PUBLIC)
    write_without_commit.opt[EXCLUDE_OPT] = True
    app = create_app(settings)
    app.register(write_without_commit)
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        response = await client.post("/test/write-no-commit")
        assert response.status_code == 201
        async with app.state.sessionmaker() as db:
            count = select(func.count()).where(AuditEvent.action == "never_committed")
            assert (await db.execute(count)).scalar_one() == 0
