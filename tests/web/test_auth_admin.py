"""The admin's Users page: create users with a link and QR code, deactivate, reissue."""

import re
from dataclasses import replace

import pytest
from sqlalchemy import select, text

from db.models import AuditEvent, EnrolmentToken, Team, User
from tests import factories as make
from tests.softauthn import SoftAuthenticator, enrol_with, enrolled_user, signin_with
from tests.support import csrf_token, html, texts


@pytest.fixture
def settings(settings):
    """Enough attempts per minute for tests that sign in several times."""
    return replace(settings, rate_limit_per_minute=1000)


async def audits(db, action: str) -> list[AuditEvent]:
    """Return the audit events of one kind."""
    stmt = select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
    return list((await db.execute(stmt)).scalars())


async def admin_client(signed_in, *, locale: str = "en") -> User:
    """Sign the client in as an admin."""
    return await signed_in("admin", name="王芳", locale=locale)


async def create(client, **fields):
    """Submit the create-user form without JavaScript."""
    csrf = await csrf_token(client, "/admin/users")
    return await client.post(
        "/admin/users", data={"_csrf_token": csrf, **fields}, follow_redirects=False
    )


@pytest.mark.parametrize("role", ["rep", "clerk", "manager"])
async def test_users_page_is_for_admins_only(client, db, signed_in, role):
    team = await make.team(db)
    user = await signed_in(role, team=team)
    assert (await client.get("/admin/users")).status_code == 403
    csrf = await csrf_token(client, "/settings")
    response = await client.post("/admin/users", data={"_csrf_token": csrf, "name": "x"})
    assert response.status_code == 403
    response = await client.post(f"/admin/users/{user.id}/reissue", data={"_csrf_token": csrf})
    assert response.status_code == 403


async def test_signed_out_visitor_is_sent_to_sign_in(client):
    response = await client.get("/admin/users", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/admin/users"


async def test_users_page_lists_users_with_passkeys_and_last_sign_in(client, db, signed_in):
    rep, auth = await enrolled_user(client, db, name="陈静", role="rep")
    assert (await signin_with(client, auth)).status_code == 200
    client.cookies.clear()
    await admin_client(signed_in)
    tree = html(await client.get("/admin/users"))
    assert tree.css_first("h1").text(strip=True) == "Users"
    row = tree.css_first(f"#user-{rep.id}")
    facts = dict(zip(texts(row, "dt"), texts(row, "dd"), strict=True))
    assert facts["Team"] == "华东销售一组"
    assert facts["Passkeys"] == "1"
    assert facts["Last sign-in"] != "never"
    assert "Sales rep" in row.text()
    assert "Active" in row.text()


async def test_create_user_shows_link_and_qr_code_once(client, db, settings, signed_in):
    admin = await admin_client(signed_in)
    team = await make.team(db, "华东销售一组")
    response = await create(client, name=" 李 伟 ", role="manager", team_id=str(team.id))
    assert response.status_code == 303
    user = (await db.execute(select(User).where(User.name == "李 伟"))).scalar_one()
    assert response.headers["location"] == f"/admin/users/{user.id}/link"
    assert user.role == "manager" and user.team_id == team.id
    page = await client.get(response.headers["location"])
    tree = html(page)
    url = tree.css_first("#enrol-url").attributes["value"]
    assert re.fullmatch(r"http://localhost:8000/enroll/[A-Za-z0-9_-]{40,}", url)
    svg = tree.css_first("#enrol-link .qr svg")
    assert svg is not None and svg.css("path")
    assert tree.css_first("#enrol-link .qr").attributes["aria-label"]
    (event,) = await audits(db, "user_created")
    assert event.actor_id == admin.id and event.entity_id == user.id
    # The raw link was never written to the database, not even in the session.
    for table in ("web_session", "enrolmenttoken", "audit_event"):
        assert url.rsplit("/", 1)[1] not in str(
            (await db.execute(text(f"select * from {table}"))).all()
        )
    # Shown once: a reload does not show it again.
    again = html(await client.get(response.headers["location"]))
    assert again.css_first("#enrol-url") is None
    assert again.css_first("[role=alert]") is not None
    # The link works on the new user's phone.
    client.cookies.clear()
    token = url.rsplit("/", 1)[1]
    assert (await enrol_with(client, SoftAuthenticator(), token)).status_code == 200


async def test_create_user_with_a_new_store(client, db, signed_in):
    await admin_client(signed_in)
    response = await create(client, name="周敏", role="clerk", new_team="徐汇门店", store="1")
    assert response.status_code == 303
    team = (await db.execute(select(Team).where(Team.name == "徐汇门店"))).scalar_one()
    assert team.is_store
    user = (await db.execute(select(User).where(User.name == "周敏"))).scalar_one()
    assert user.team_id == team.id


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "", "role": "rep", "new_team": "一组"}, "name", "Enter the person's name."),
        ({"name": "x" * 101, "role": "rep", "new_team": "一组"}, "name", "at most 100"),
        ({"name": "陈静", "role": "boss", "new_team": "一组"}, "role", "Choose a role."),
        ({"name": "陈静", "role": "rep"}, "team", "Choose a team, or type"),
        ({"name": "陈静", "role": "rep", "team_id": "999"}, "team", "from the list"),
        ({"name": "陈静", "role": "rep", "team_id": "1", "new_team": "二组"}, "team", "not both"),
    ],
)
async def test_create_user_validation_keeps_input(client, db, fields, field, message, signed_in):
    await admin_client(signed_in)
    await make.team(db, "一组")
    response = await create(client, **fields)
    assert response.status_code == 422
    tree = html(response)
    error = tree.css_first(f"#user-{field}-error").text(strip=True)
    assert message in error
    assert tree.css_first("#user-name").attributes["value"] == fields["name"].strip()
    if fields.get("new_team"):
        assert tree.css_first("#user-new-team").attributes["value"] == fields["new_team"]
    assert (await db.execute(select(User).where(User.role != "admin"))).first() is None


async def test_an_admin_needs_no_team(client, db, signed_in):
    await admin_client(signed_in)
    assert (await create(client, name="Second Admin", role="admin")).status_code == 303


async def test_deactivate_ends_sessions_at_once_and_blocks_sign_in(app, client, db, signed_in):
    from litestar.testing import AsyncTestClient

    rep, auth = await enrolled_user(client, db, name="陈静")
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as phone:
        assert (await signin_with(phone, auth)).status_code == 200
        assert (await phone.get("/", follow_redirects=False)).status_code == 200
        admin = await admin_client(signed_in)
        csrf = await csrf_token(client, "/admin/users")
        response = await client.post(
            f"/admin/users/{rep.id}/deactivate",
            data={"_csrf_token": csrf},
            follow_redirects=False,
        )
        assert response.status_code == 303
        assert (await phone.get("/", follow_redirects=False)).status_code == 303
        (event,) = await audits(db, "user_deactivated")
        assert event.actor_id == admin.id and event.entity_id == rep.id
        assert event.detail["sessions_ended"] == 2  # the enrolment session and the phone
        phone.cookies.clear()
        assert (await signin_with(phone, auth)).status_code == 403
        tree = html(await client.get("/admin/users"))
        assert "Deactivated" in tree.css_first(f"#user-{rep.id}").text()
        # Reactivated, the same passkey works again.
        response = await client.post(
            f"/admin/users/{rep.id}/reactivate", data={"_csrf_token": csrf}, follow_redirects=False
        )
        assert response.status_code == 303
        phone.cookies.clear()
        assert (await signin_with(phone, auth)).status_code == 200


async def test_admin_cannot_deactivate_themselves(client, db, signed_in):
    admin = await admin_client(signed_in)
    csrf = await csrf_token(client, "/admin/users")
    await client.post(f"/admin/users/{admin.id}/deactivate", data={"_csrf_token": csrf})
    assert (await db.get(User, admin.id, populate_existing=True)).active
    assert (await client.get("/admin/users")).status_code == 200


async def test_reissue_makes_a_new_link_and_the_old_one_stops_working(client, db, signed_in):
    await admin_client(signed_in)
    team = await make.team(db)
    await create(client, name="陈静", role="rep", team_id=str(team.id))
    user = (await db.execute(select(User).where(User.name == "陈静"))).scalar_one()
    first = html(await client.get(f"/admin/users/{user.id}/link"))
    old = first.css_first("#enrol-url").attributes["value"].rsplit("/", 1)[1]
    csrf = await csrf_token(client, "/admin/users")
    response = await client.post(
        f"/admin/users/{user.id}/reissue", data={"_csrf_token": csrf}, follow_redirects=False
    )
    assert response.status_code == 303
    page = html(await client.get(response.headers["location"]))
    new = page.css_first("#enrol-url").attributes["value"].rsplit("/", 1)[1]
    assert new != old
    assert (await client.get(f"/enroll/{old}")).status_code == 410
    assert (await client.get(f"/enroll/{new}")).status_code == 200
    assert len(await audits(db, "enrolment_link_reissued")) == 1
    links = (await db.execute(select(EnrolmentToken))).scalars().all()
    assert len(links) == 2


async def test_admin_forms_need_csrf(client, db, signed_in):
    await admin_client(signed_in)
    response = await client.post("/admin/users", data={"name": "x", "role": "admin"})
    assert response.status_code == 403
