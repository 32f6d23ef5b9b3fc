"""Odd input on the sign-in, settings and admin forms answers in words, never a 500."""

from dataclasses import replace
from datetime import timedelta

from litestar.testing import AsyncTestClient
from sqlalchemy import select

from db.models import Credential, User
from db.types import utcnow
from db.users import team_list
from tests import factories as make
from tests.softauthn import enrolled_user, signin_with
from tests.support import csrf_token, html, sign_in
from web.app import create_app

RFM_FORM = {
    "recency_core_days": "10",
    "recency_key_days": "60",
    "frequency_core": "6",
    "frequency_key": "3",
    "monetary_core_cents": "5000",
    "monetary_key_cents": "1000",
}


async def signed_in_admin(client, db) -> User:
    """Sign the client in as an English-speaking admin."""
    admin = await make.user(db, name="王芳", role="admin", locale="en")
    await sign_in(client, db, admin)
    return admin


async def test_tier_thresholds_refuse_digits_that_are_not_numbers(client, db):
    await signed_in_admin(client, db)
    csrf = await csrf_token(client, "/admin/rfm")
    response = await client.post(
        "/admin/rfm", data={"_csrf_token": csrf, **RFM_FORM, "frequency_key": "²"}
    )
    assert response.status_code == 422
    tree = html(response)
    assert tree.css_first("#rfm-frequency_key").attributes["aria-invalid"] == "true"
    error = tree.css_first("#rfm-frequency_key-error").text(strip=True)
    assert error == "Enter a whole number of 0 or more."
    assert tree.css_first("#rfm-recency_key_days").attributes["value"] == "60"


async def test_tier_thresholds_form_posts_to_its_own_route_and_htmx_is_sent_on(client, db):
    await signed_in_admin(client, db)
    page = html(await client.get("/admin/rfm"))
    form = page.css_first("form.card")
    assert form.attributes["action"] == "/admin/rfm"
    csrf = form.css_first("input[name=_csrf_token]").attributes["value"]
    response = await client.post(
        "/admin/rfm", data={"_csrf_token": csrf, **RFM_FORM}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert response.headers["hx-location"] == "/admin/rfm"


async def test_a_team_id_that_is_not_a_number_is_refused_beside_the_field(client, db):
    await signed_in_admin(client, db)
    await make.team(db, "一组")
    csrf = await csrf_token(client, "/admin/users")
    response = await client.post(
        "/admin/users",
        data={"_csrf_token": csrf, "name": "陈静", "role": "rep", "team_id": "²"},
    )
    assert response.status_code == 422
    error = html(response).css_first("#user-team-error").text(strip=True)
    assert error == "Choose a team from the list."
    assert (await db.execute(select(User).where(User.name == "陈静"))).first() is None


async def test_user_form_errors_are_translated(client, db):
    admin = await make.user(db, name="王芳", role="admin", locale="zh_CN")
    await sign_in(client, db, admin)
    csrf = await csrf_token(client, "/admin/users")
    response = await client.post("/admin/users", data={"_csrf_token": csrf, "role": "rep"})
    assert response.status_code == 422
    error = html(response).css_first("#user-name-error").text(strip=True)
    assert error and error != "Enter the person's name."


async def test_the_team_choice_lists_field_teams_then_stores(client, db):
    await signed_in_admin(client, db)
    await make.team(db, "徐汇门店", store=True)
    await make.team(db, "二组")
    await make.team(db, "一组")
    tree = html(await client.get("/admin/users"))
    options = [o.text(strip=True) for o in tree.css("#user-team option")][1:]
    assert options == [t.name + (" · store" if t.is_store else "") for t in await team_list(db)]
    assert options[-1] == "徐汇门店 · store"


async def test_a_repeated_passkey_name_field_takes_the_first(client, db):
    user, auth = await enrolled_user(client, db, locale="en")
    assert (await signin_with(client, auth)).status_code == 200
    (key,) = (await db.execute(select(Credential).where(Credential.user_id == user.id))).scalars()
    csrf = await csrf_token(client, "/settings")
    response = await client.post(
        f"/settings/passkeys/{key.id}/rename",
        content=f"_csrf_token={csrf}&name=Work+phone&name=Other",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    await db.refresh(key)
    assert key.name == "Work phone"


async def test_language_switch_works_without_javascript_and_stays_on_the_site(client, db):
    team = await make.team(db)
    user = await make.user(db, team=team, locale="en")
    await sign_in(client, db, user)
    tree = html(await client.get("/settings"))
    form = tree.css_first("form.language-form")
    assert form.attributes["action"] == "/language"
    assert form.css_first("input[name=next]").attributes["value"] == "/settings"
    csrf = form.css_first("input[name=_csrf_token]").attributes["value"]
    back = await client.post(
        "/language",
        data={"_csrf_token": csrf, "locale": "zh_CN", "next": "/settings"},
        follow_redirects=False,
    )
    assert back.status_code == 303 and back.headers["location"] == "/settings"
    away = await client.post(
        "/language",
        data={"_csrf_token": csrf, "locale": "en", "next": "//evil.example/"},
        follow_redirects=False,
    )
    assert away.headers["location"] == "/"


async def test_a_signed_in_visitor_with_a_bad_link_is_offered_the_start_page(client, db):
    team = await make.team(db)
    user = await make.user(db, team=team, locale="en")
    await sign_in(client, db, user)
    response = await client.get("/enroll/not-a-real-token")
    assert response.status_code == 404
    link = html(response).css_first("main a.button")
    assert link.attributes["href"] == "/"


async def test_signing_out_goes_to_the_sign_in_page(client, db):
    team = await make.team(db)
    user = await make.user(db, team=team)
    await sign_in(client, db, user)
    csrf = await csrf_token(client, "/")
    response = await client.post("/logout", data={"_csrf_token": csrf}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert (await client.get("/", follow_redirects=False)).status_code == 303


async def test_a_new_link_is_shown_for_ten_minutes_by_the_request_clock(settings):
    now = [utcnow()]
    app = create_app(replace(settings, extra={"clock": lambda: now[0]}))
    async with (
        AsyncTestClient(app=app, base_url="http://localhost:8000") as client,
        app.state.sessionmaker() as db,
    ):
        await signed_in_admin(client, db)
        team = await make.team(db)
        csrf = await csrf_token(client, "/admin/users")
        form = {"_csrf_token": csrf, "name": "陈静", "role": "rep", "team_id": str(team.id)}
        created = await client.post("/admin/users", data=form, follow_redirects=False)
        now[0] += timedelta(minutes=9, seconds=50)
        shown = html(await client.get(created.headers["location"]))
        assert shown.css_first("#enrol-url") is not None
        user = (await db.execute(select(User).where(User.name == "陈静"))).scalar_one()
        reissue = f"/admin/users/{user.id}/reissue"
        again = await client.post(reissue, data={"_csrf_token": csrf}, follow_redirects=False)
        now[0] += timedelta(minutes=10, seconds=10)
        late = html(await client.get(again.headers["location"]))
        assert late.css_first("#enrol-url") is None
        assert late.css_first("#enrol-link [role=alert]") is not None
