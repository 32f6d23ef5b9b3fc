"""Today's overdue privacy requests: for everyone who handles requests, not only admins."""

from datetime import date, timedelta

from db.models import PrivacyRequest
from tests import factories as make
from tests.support import html, sign_in

HX = {"HX-Request": "true"}


async def _overdue_request(db, by) -> None:
    received = date.today() - timedelta(days=40)
    db.add(
        PrivacyRequest(requester="逾期的人", channel="phone", kind="deletion",
                       subject="13912345678", received_on=received,
                       due_on=received + timedelta(days=15), created_by=by.id)
    )  # fmt: skip
    await db.commit()


async def test_a_manager_with_the_privacy_permission_sees_overdue_requests_on_today(client, db):
    team = await make.team(db)
    manager = await make.user(db, name="李经理", role="manager", team=team, locale="en")
    manager.may_handle_privacy = True
    await db.commit()
    await _overdue_request(db, manager)
    await sign_in(client, db, manager)
    today = html(await client.get("/"))
    block = today.css_first("#privacy-overdue[hx-get]")
    assert block is not None
    fragment = html(await client.get(block.attributes["hx-get"], headers=HX))
    assert "逾期的人" in fragment.css_first("#privacy-overdue").text()


async def test_a_user_without_the_permission_sees_no_privacy_block(client, db):
    team = await make.team(db)
    manager = await make.user(db, name="李经理", role="manager", team=team, locale="en")
    await _overdue_request(db, manager)
    await sign_in(client, db, manager)
    today = html(await client.get("/"))
    assert today.css_first("#privacy-overdue") is None
    assert "逾期的人" not in today.text()
