"""The outbox's sync endpoint: each visit stored once, device-time plausibility, refusals."""

import asyncio
import json
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from db.models import AuditEvent, Customer, Visit
from db.types import utcnow
from tests import factories as make
from tests.support import csrf_token, html
from web.visits.offline import SHELL, worker_version

HX = {"HX-Request": "true"}
NOW = utcnow().replace(microsecond=0)
SYNC = "/visits/sync"


@pytest.fixture
def settings(settings):
    """The app's clock stands still at NOW, so device times can be set against it."""
    return replace(settings, extra={"clock": lambda: NOW})


@pytest.fixture
async def world(client, db, signed_in):
    """A rep (English UI) with a customer of theirs, and a CSRF token of their session."""
    team = await make.team(db, "华东销售一组")
    rep = await signed_in("rep", name="陈静", team=team, locale="en")
    customer = await make.customer(db, team=team, owner=rep, level="A", name="上海华东机械")
    other = await make.user(db, name="李雷", role="rep", team=team)
    token = await csrf_token(client, f"/customers/{customer.id}/visits")
    return {
        "team": team,
        "rep": rep,
        "other": other,
        "customer": customer,
        "cid": customer.id,
        "token": token,
    }


def visit(world, **extra) -> dict:
    """What the outbox sends for one visit."""
    return {
        "_csrf_token": world["token"],
        "customer_id": str(world["cid"]),
        "outcome": "met_interested",
        "idempotency_key": make.new_key(),
        **extra,
    }


async def visits(db) -> list[Visit]:
    """Every stored visit, read fresh."""
    stmt = select(Visit).order_by(Visit.id).execution_options(populate_existing=True)
    return list((await db.execute(stmt)).scalars())


async def customer(db, cid: int) -> Customer:
    """The customer, read fresh."""
    stmt = select(Customer).where(Customer.id == cid).execution_options(populate_existing=True)
    return (await db.execute(stmt)).scalar_one()


# --- exactly once ----------------------------------------------------------------------


async def test_a_replayed_visit_is_stored_once_and_answers_the_same_visit(client, db, world):
    data = visit(world)
    first = await client.post(SYNC, data=data)
    again = await client.post(SYNC, data=data)
    assert first.status_code == again.status_code == 200
    assert first.headers["content-type"].startswith("application/json")
    a, b = first.json(), again.json()
    assert a["status"] == b["status"] == "stored"
    assert a["created"] is True and b["created"] is False
    assert a["visit_id"] == b["visit_id"]
    assert len(await visits(db)) == 1


async def test_the_same_outbox_from_two_tabs_at_once_stores_each_visit_once(client, db, world):
    items = [visit(world), visit(world, outcome="called")]
    answers = await asyncio.gather(*(client.post(SYNC, data=i) for i in items + items + items))
    assert {r.status_code for r in answers} == {200}
    assert sum(r.json()["created"] for r in answers) == 2
    assert sorted(v.outcome for v in await visits(db)) == ["called", "met_interested"]


async def test_a_visit_that_failed_on_the_page_and_then_synced_is_stored_once(client, db, world):
    data = visit(world)
    page = {k: v for k, v in data.items() if k != "customer_id"}
    await client.post(f"/customers/{world['cid']}/visits", data=page, headers=HX)
    answer = await client.post(SYNC, data=data)
    assert answer.json()["created"] is False
    assert len(await visits(db)) == 1


# --- the device time ------------------------------------------------------------------


async def test_a_visit_recorded_offline_counts_at_the_phone_time(client, db, world):
    then = NOW - timedelta(hours=3)
    fix = then - timedelta(seconds=20)
    data = visit(world, device_at=then.isoformat(), fix_at=fix.isoformat())
    data |= {"lat": "31.23", "lng": "121.47", "accuracy": "15"}
    answer = (await client.post(SYNC, data=data)).json()
    assert answer["at"] == then.isoformat() and answer["received_at"] == NOW.isoformat()
    (v,) = await visits(db)
    assert (v.at, v.received_at, v.device_at, v.fix_at) == (then, NOW, then, fix)
    assert v.accuracy_m == 15 and v.clock_note is None
    c = await customer(db, world["cid"])
    assert c.last_visit_at == then
    timeline = html(await client.get(f"/customers/{world['cid']}/visits", headers=HX))
    note = timeline.css_first(f"#visit-{v.id} .visit-clock-note").text(strip=True)
    assert note.startswith("Recorded offline; sent")


async def test_a_visit_sent_at_once_counts_at_the_server_time(client, db, world):
    data = visit(world, device_at=(NOW - timedelta(seconds=30)).isoformat())
    await client.post(SYNC, data=data)
    (v,) = await visits(db)
    assert v.at == NOW and v.clock_note is None
    timeline = html(await client.get(f"/customers/{world['cid']}/visits", headers=HX))
    assert timeline.css_first(".visit-clock-note") is None


async def test_a_phone_clock_in_the_future_is_corrected_and_the_timeline_says_so(client, db, world):
    ahead = NOW + timedelta(days=1)
    await client.post(SYNC, data=visit(world, device_at=ahead.isoformat()))
    (v,) = await visits(db)
    assert v.at == NOW and v.device_at == ahead and v.clock_note == "future"
    assert (await customer(db, world["cid"])).last_visit_at == NOW
    timeline = html(await client.get(f"/customers/{world['cid']}/visits", headers=HX))
    note = timeline.css_first(f"#visit-{v.id} .visit-clock-note").text(strip=True)
    assert note.startswith("The phone's clock said")


async def test_a_phone_time_older_than_the_admin_limit_is_corrected(client, db, world):
    # The default limit is 72 hours.
    old = NOW - timedelta(hours=80)
    fine = NOW - timedelta(hours=70)
    await client.post(SYNC, data=visit(world, device_at=old.isoformat()))
    await client.post(SYNC, data=visit(world, device_at=fine.isoformat(), outcome="called"))
    first, second = await visits(db)
    assert (first.at, first.clock_note) == (NOW, "too_old")
    assert (second.at, second.clock_note) == (fine, None)


async def test_an_older_offline_visit_does_not_move_the_last_visit_back(client, db, world):
    await client.post(SYNC, data=visit(world))  # sent at once: NOW
    before = await customer(db, world["cid"])
    earlier = NOW - timedelta(hours=5)
    await client.post(SYNC, data=visit(world, device_at=earlier.isoformat(), outcome="called"))
    after = await customer(db, world["cid"])
    assert after.last_visit_at == before.last_visit_at == NOW
    assert after.next_follow_up_on == before.next_follow_up_on
    assert len(await visits(db)) == 2


# --- refusals -----------------------------------------------------------------------------


async def test_a_customer_reassigned_meanwhile_is_refused_with_its_reason(client, db, world):
    await db.execute(
        update(Customer).where(Customer.id == world["cid"]).values(owner_id=world["other"].id)
    )
    await db.commit()
    answer = await client.post(SYNC, data=visit(world))
    assert answer.status_code == 404
    body = answer.json()
    assert body["status"] == "refused" and body["reason"] == "customer_not_visible"
    assert "no longer yours" in body["message"]
    assert await visits(db) == []


@pytest.mark.parametrize(
    ("change", "status", "reason"),
    [
        ({"outcome": "no_such_outcome"}, 400, "outcome_unknown"),
        ({"idempotency_key": "short"}, 400, "invalid"),
        ({"customer_id": "abc"}, 400, "invalid"),
        ({"customer_id": ""}, 400, "invalid"),
        ({"customer_id": "²"}, 400, "invalid"),  # a digit to str.isdigit(), not to int()
        ({"customer_id": "1" * 30}, 400, "invalid"),
    ],
)
async def test_a_visit_the_server_cannot_store_gets_a_machine_readable_reason(
    client, db, world, change, status, reason
):
    answer = await client.post(SYNC, data=visit(world) | change)
    assert answer.status_code == status
    assert answer.json()["reason"] == reason
    assert await visits(db) == []


async def test_a_key_of_another_users_visit_is_refused(client, db, world):
    theirs = await make.visit(db, customer=world["customer"], user=world["other"])
    await db.commit()
    answer = await client.post(SYNC, data=visit(world, idempotency_key=theirs.idempotency_key))
    assert answer.status_code == 409 and answer.json()["reason"] == "key_reused"


async def test_the_outbox_learns_who_is_signed_in_and_gets_a_fresh_token(client, db, world):
    state = (await client.get("/visits/sync/state")).json()
    assert state["user"] == world["rep"].id and state["csrf"]
    # An outbox item kept with an expired token is sent with the fresh one.
    refused = await client.post(SYNC, data=visit(world, _csrf_token="expired-token"))
    assert refused.status_code == 403
    stored = await client.post(SYNC, data=visit(world, _csrf_token=state["csrf"]))
    assert stored.status_code == 200 and stored.json()["status"] == "stored"


async def test_signed_out_the_outbox_is_told_and_nothing_is_stored(client, db, world):
    await client.post("/logout", data={"_csrf_token": world["token"]})
    state = await client.get("/visits/sync/state")
    assert state.status_code == 200 and state.json() == {"user": None, "csrf": None}
    answer = await client.post(SYNC, data=visit(world), follow_redirects=False)
    assert answer.status_code in (303, 403)
    assert await visits(db) == []


# --- the admin's limit -------------------------------------------------------------------


async def test_admin_sets_the_device_time_limit_on_the_cadence_page(client, db, signed_in):
    await signed_in("admin", name="管理员", locale="en")
    page = html(await client.get("/admin/cadence"))
    field = page.css_first("#visit-clock input[name=device_max_age_hours]")
    assert field.attributes["value"] == "72"
    token = page.css_first("#visit-clock input[name=_csrf_token]").attributes["value"]
    bad = await client.post(
        "/admin/cadence/device-time", data={"_csrf_token": token, "device_max_age_hours": "0"}
    )
    assert bad.status_code == 422
    tree = html(bad)
    assert tree.css_first("#device-max-age").attributes["value"] == "0"
    assert "between 1 and 720" in tree.css_first("#device-max-age-error").text()
    ok = await client.post(
        "/admin/cadence/device-time",
        data={"_csrf_token": token, "device_max_age_hours": "24"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    page = html(await client.get("/admin/cadence"))
    assert page.css_first("#device-max-age").attributes["value"] == "24"


async def test_the_admin_limit_decides_which_phone_times_are_used(client, db, world):
    from db.visits import visit_setting_set

    await visit_setting_set(db, device_max_age_hours=24)
    await db.commit()
    then = NOW - timedelta(hours=30)
    await client.post(SYNC, data=visit(world, device_at=then.isoformat()))
    (v,) = await visits(db)
    assert (v.at, v.clock_note) == (NOW, "too_old")


# --- the worker, the manifest, saving ahead -------------------------------------------------


async def test_the_service_worker_is_served_at_the_root_with_its_version(client):
    answer = await client.get("/sw.js")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("application/javascript")
    body = answer.text
    assert "self.KEHU_CONFIG" not in body
    config = json.loads(body.split("var CONFIG = ", 1)[1].split(";\n", 1)[0])
    assert config["version"] == worker_version()
    assert len(config["shell"]) == len(SHELL)
    assert all(url.startswith("/static/") and "?v=" in url for url in config["shell"])
    for url in config["shell"]:
        assert (await client.get(url)).status_code == 200


@pytest.mark.parametrize(("lang", "name"), [("en", "Kehu customers"), ("zh-CN", "Kehu 客户")])
async def test_the_manifest_names_kehu_in_the_visitors_language(client, lang, name):
    answer = await client.get("/manifest.webmanifest", headers={"Accept-Language": lang})
    assert answer.headers["content-type"].startswith("application/manifest+json")
    manifest = answer.json()
    assert manifest["name"] == name and manifest["display"] == "standalone"
    assert manifest["theme_color"].startswith("#")
    sizes = {(i["sizes"], i.get("purpose", "any")) for i in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    for icon in manifest["icons"]:
        png = await client.get(icon["src"])
        assert png.status_code == 200 and png.content[:8] == b"\x89PNG\r\n\x1a\n"


async def test_a_page_saved_ahead_for_offline_is_not_counted_as_a_view(client, db, world):
    url = f"/customers/{world['cid']}"
    stmt = (
        select(func.count()).select_from(AuditEvent).where(AuditEvent.action == "customer_viewed")
    )
    await client.get(url, headers={"X-Kehu-Prefetch": "1"})
    await asyncio.sleep(0.05)
    assert (await db.execute(stmt)).scalar_one() == 0
    await client.get(url)
    await asyncio.sleep(0.05)
    assert (await db.execute(stmt)).scalar_one() == 1


async def test_every_signed_in_page_names_its_user_for_the_worker(client, world):
    page = html(await client.get("/"))
    box = page.css_first("#visit-offline")
    assert box.attributes["data-kehu-user"] == str(world["rep"].id)
    assert page.css_first("link[rel=manifest]") is not None
    badge = page.css_first("header #visit-outbox-badge")
    assert "hidden" in badge.attributes and "Waiting to send" in badge.text()
