"""After sign-in the browser goes only to a path on this site, by the browser's URL rules."""

from urllib.parse import quote

import pytest

from tests import factories as make
from tests.softauthn import enrolled_user, signin_with
from tests.support import csrf_token, sign_in
from web.core.redirects import safe_next

EVIL = [
    "//evil.example",
    "///evil.example",
    "/\t/evil.example",
    "/\n/evil.example",
    "/\r\n/evil.example",
    "\t//evil.example",
    " //evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\\/evil.example",
    "/%09/evil.example",
    "/%2F%2Fevil.example",
    "/%2f/evil.example",
    "%2F%2Fevil.example",
    "/%5Cevil.example",
    "/%0d%0a/evil.example",
    "/%252F%252Fevil.example",
    "/%25252F%25252Fevil.example",
    "https://evil.example/",
    "http:evil.example",
    "javascript:alert(1)",
    "evil.example",
    "",
    None,
]


@pytest.mark.parametrize("target", EVIL)
def test_targets_a_browser_could_read_as_another_site_are_refused(target):
    assert safe_next(target) == "/"


@pytest.mark.parametrize(
    "target",
    ["/", "/customers", "/customers?q=%E5%8D%8E%E4%B8%9C", "/customers/12?tab=visits#v3"],
)
def test_local_paths_are_kept(target):
    assert safe_next(target) == target


async def test_sign_in_with_a_tab_in_next_stays_on_the_site(client, db):
    _user, auth = await enrolled_user(client, db)
    response = await signin_with(client, auth, next="/\t/evil.example")
    assert response.status_code == 200
    assert response.json() == {"redirect": "/"}


async def test_the_login_page_never_hands_an_unsafe_next_to_the_browser(client, db):
    response = await client.get("/login?next=" + quote("/\t/evil.example", safe=""))
    assert "evil.example" not in response.text
    team = await make.team(db)
    await sign_in(client, db, await make.user(db, team=team))
    response = await client.get("/login?next=/%09/evil.example", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"


async def test_the_language_switch_never_goes_to_another_site(client):
    token = await csrf_token(client, "/login")
    response = await client.post(
        "/language",
        data={"_csrf_token": token, "locale": "en", "next": "/\t/evil.example"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/"
