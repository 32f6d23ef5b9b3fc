"""Audit log page and privacy requests: who may, filters, export, register, find, erase."""

import json
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from db.audit import audit_add
from db.models import AuditEvent, Customer, PrivacyRequest
from db.search import customer_search
from domain.customers import derived_fields
from tests import factories as make
from tests.support import csrf_token, html, sign_in, texts
from tests.web.test_access_matrix import scrape_form

HX = {"HX-Request": "true"}
PHONE = "13912345678"


async def _customer(db, team, name="张伟龙井贸易", phone=PHONE) -> int:
    c = Customer(
        number=f"C2026119{len(name):02d}",
        name=name,
        phone=phone,
        team_id=team.id,
        **derived_fields(name, phone),
    )
    db.add(c)
    await db.flush()
    cid = c.id
    await db.commit()
    return cid


@pytest.fixture
async def admin(client, db):
    user = await make.user(db, name="王芳", role="admin", locale="en")
    await sign_in(client, db, user)
    return user


async def _request(client, token, **overrides) -> object:
    data = {
        "_csrf_token": token,
        "requester": "张伟本人",
        "contact": "电话",
        "channel": "phone",
        "kind": "deletion",
        "subject": "+86 139-1234-5678",
        "received_on": "",
        "due_on": "",
        **overrides,
    }
    return await client.post("/admin/privacy", data=data, follow_redirects=False)


@pytest.mark.parametrize("role", ["rep", "clerk", "manager"])
async def test_privacy_requests_are_for_admins_only(client, db, role):
    team = await make.team(db, "南京西路门店", store=role == "clerk")
    user = await make.user(db, name="某人", role=role, team=team, locale="en")
    await sign_in(client, db, user)
    assert (await client.get("/admin/privacy")).status_code == 403
    token = await csrf_token(client, "/settings")
    assert (await _request(client, token)).status_code == 403
    expected = 200 if role == "manager" else 403
    assert (await client.get("/admin/audit")).status_code == expected


async def test_signed_out_is_sent_to_sign_in(client):
    for path in ("/admin/audit", "/admin/privacy"):
        response = await client.get(path, follow_redirects=False)
        assert response.status_code in (302, 303) and "/login" in response.headers["location"]


async def test_manager_sees_only_their_teams_events(client, db):
    mine, other = await make.team(db, "华东一组"), await make.team(db, "华南二组")
    manager = await make.user(db, name="刘洋", role="manager", team=mine, locale="en")
    rep = await make.user(db, name="陈静", team=mine)
    stranger = await make.user(db, name="赵磊", team=other)
    await audit_add(db, action="signed_in", actor_id=rep.id, detail={"n": "mine"})
    await audit_add(db, action="signed_in", actor_id=stranger.id, detail={"n": "theirs"})
    await db.commit()
    await sign_in(client, db, manager)
    tree = html(await client.get("/admin/audit"))
    users = texts(tree, "#privacy-audit-table tbody td:nth-child(2)")
    assert "陈静" in users and "赵磊" not in users
    # Filtering by the other team's user shows nothing rather than their events.
    tree = html(await client.get(f"/admin/audit?user={stranger.id}"))
    assert not tree.css("#privacy-audit-table tbody tr")


async def test_audit_filters_page_and_fragment(client, db, admin):
    for i in range(60):
        cid = 7 if i % 2 else 8
        await audit_add(
            db, action="customer_viewed", actor_id=admin.id, entity="customer", entity_id=cid
        )
    change = {"before": {"phone": "1"}, "after": {"phone": "2"}}
    await audit_add(
        db,
        action="customer_updated",
        actor_id=admin.id,
        entity="customer",
        entity_id=7,
        detail=change,
    )
    await db.commit()
    tree = html(await client.get("/admin/audit"))
    assert tree.css_first("h1").text(strip=True) == "Audit log"
    assert len(tree.css("#privacy-audit-table tbody tr")) == 50
    assert tree.css_first("a[rel=next]") is not None
    fragment = await client.get("/admin/audit?action=customer_updated&customer=7", headers=HX)
    assert "HX-Request" in fragment.headers["vary"]
    tree = html(fragment)
    assert tree.css_first("h1") is None
    (row,) = tree.css("#privacy-audit-table tbody tr")
    assert "before" in row.text() and "customer_updated" in row.text()
    # Odd filters are ignored, never a 500.
    for q in ("user=abc", "since=2026-13-45", "page=-3", "customer=99999999999999999999"):
        assert (await client.get(f"/admin/audit?{q}")).status_code == 200


async def test_export_is_audited_and_neutralises_formulas(client, db, admin):
    await audit_add(db, action="note", actor_id=admin.id, detail={"text": "=HYPERLINK(1)"})
    await db.commit()
    response = await client.get("/admin/audit/export.csv?action=note")
    assert response.status_code == 200 and "attachment" in response.headers["content-disposition"]
    assert "=HYPERLINK" not in response.text.replace("'{", "{").split("\n")[1][:2]
    assert '"{""text"": ""=HYPERLINK(1)""}"' in response.text  # JSON cell starts with {
    (event,) = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "audit_exported"))
    ).scalars()
    assert event.actor_id == admin.id and event.detail["rows"] == 1


async def test_register_a_request_without_javascript(client, db, admin):
    token = await csrf_token(client, "/admin/privacy")
    response = await _request(client, token)
    assert response.status_code == 303
    req = (await db.execute(select(PrivacyRequest))).scalar_one()
    assert req.due_on - req.received_on == timedelta(days=15) and req.status == "open"
    bad = await _request(client, token, requester="", received_on="2999-01-01")
    assert bad.status_code == 422
    tree = html(bad)
    assert tree.css_first("#pr-requester").attributes.get("aria-invalid") == "true"
    assert tree.css_first("#pr-subject").attributes["value"] == "+86 139-1234-5678"


async def test_find_copy_and_erase_by_phone_in_another_format(client, db, admin):
    team = await make.team(db)
    cid = await _customer(db, team)
    token = await csrf_token(client, "/admin/privacy")
    location = (await _request(client, token)).headers["location"]
    rid = int(location.rstrip("/").rsplit("/", 1)[1])
    tree = html(await client.get(location))
    assert texts(tree, ".privacy-matches h3")[0].startswith("张伟龙井贸易")
    copy = await client.get(f"/admin/privacy/{rid}/copy/{cid}/json")
    assert json.loads(copy.text)["records"][0]["customer"]["phone"] == PHONE
    confirm = html(await client.get(f"/admin/privacy/{rid}/erase/{cid}"))
    assert confirm.css_first("input[name=confirm]") is not None
    unconfirmed = await client.post(
        f"/admin/privacy/{rid}/erase/{cid}", data={"_csrf_token": token}
    )
    assert unconfirmed.status_code == 422
    assert await customer_search(db, actor=make.actor(admin), q="龙井贸易") != []
    done = await client.post(
        f"/admin/privacy/{rid}/erase/{cid}",
        data={"_csrf_token": token, "confirm": "yes"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert await customer_search(db, actor=make.actor(admin), q="龙井贸易") == []
    actions = set((await db.execute(select(AuditEvent.action))).scalars())
    assert {"privacy_copy_exported", "customer_erased", "privacy_request_created"} <= actions


async def test_a_legal_hold_refuses_the_request_with_its_reason(client, db, admin):
    team = await make.team(db)
    cid = await _customer(db, team)
    token = await csrf_token(client, "/admin/privacy")
    location = (await _request(client, token)).headers["location"]
    rid = int(location.rstrip("/").rsplit("/", 1)[1])
    hold = await client.post(
        f"/admin/privacy/{rid}/customers/{cid}/hold",
        data={"_csrf_token": token, "reason": "合同未结清"},
        follow_redirects=False,
    )
    assert hold.status_code == 303
    await client.post(
        f"/admin/privacy/{rid}/erase/{cid}", data={"_csrf_token": token, "confirm": "yes"}
    )
    tree = html(await client.get(location))
    assert "Refused" in tree.css_first("#privacy-status").text()
    assert "合同未结清" in tree.css_first("#privacy-status").text()
    db.expire_all()
    assert (await db.get(Customer, cid)).name == "张伟龙井贸易"


async def test_answer_needs_a_reason_and_basis_is_shown(client, db, admin):
    team = await make.team(db)
    cid = await _customer(db, team)
    token = await csrf_token(client, "/admin/privacy")
    location = (await _request(client, token, kind="access")).headers["location"]
    rid = int(location.rstrip("/").rsplit("/", 1)[1])
    url = f"/admin/privacy/{rid}/close"
    missing = await client.post(
        url, data={"_csrf_token": token, "status": "answered", "reason": " "}
    )
    assert missing.status_code == 422 and html(missing).css_first("#close-reason-error")
    await client.post(
        f"/admin/privacy/{rid}/customers/{cid}/basis",
        data={"_csrf_token": token, "basis": "consent", "basis_on": "2026-03-01"},
    )
    ok = await client.post(
        url,
        data={"_csrf_token": token, "status": "answered", "reason": "已提供副本"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    tree = html(await client.get(location))
    assert "Answered" in tree.css_first("#privacy-status").text()
    assert "Consent" in tree.css_first(f"#privacy-match-{cid}").text()


async def test_overdue_requests_show_on_the_admins_today(client, db, admin):
    token = await csrf_token(client, "/admin/privacy")
    old = (date.today() - timedelta(days=40)).isoformat()
    await _request(client, token, received_on=old, requester="逾期的人")
    today = html(await client.get("/"))
    assert today.css_first("#privacy-overdue[hx-get]") is not None
    fragment = html(await client.get("/admin/privacy/overdue", headers=HX))
    assert "逾期的人" in fragment.css_first("#privacy-overdue").text()


async def test_the_copy_pdf_is_readable_in_the_persons_language(client, db, admin):
    team = await make.team(db)
    cid = await _customer(db, team)
    token = await csrf_token(client, "/admin/privacy")
    location = (await _request(client, token)).headers["location"]
    rid = int(location.rstrip("/").rsplit("/", 1)[1])
    response = await client.get(f"/admin/privacy/{rid}/copy/{cid}/pdf")
    assert response.status_code == 200 and response.content.startswith(b"%PDF")
    from pdf.privacy_copy import MSGIDS, render_html
    from web.core.i18n import catalogue

    zh = catalogue("zh_CN")
    assert all(m in zh for m in MSGIDS)
    records = [{"customer": {"number": "C1", "name": "张伟"}, "contacts": [], "visits": [],
                "history": [], "events": []}]  # fmt: skip
    text = render_html(records, request_id=rid, when="x", locale="zh_CN", _=lambda m: zh.get(m, m))
    assert "客户系统中关于您的个人信息" in text and "张伟" in text
    events = (await db.execute(select(AuditEvent.detail).where(
        AuditEvent.action == "privacy_copy_exported"))).scalars()  # fmt: skip
    assert [e["format"] for e in events] == ["pdf"]


def test_the_copy_names_codes_in_the_persons_language():
    from pdf.privacy_copy import render_html
    from web.core.i18n import catalogue

    zh = catalogue("zh_CN")
    customer = {"number": "C1", "name": "张伟", "kind": "person", "stage": "lead",
                "status": "potential", "data_basis": "consent",
                "tags": [], "custom": {}}  # fmt: skip
    history = [{"at": "2026-11-30", "from_stage": "lead", "to_stage": "proposal"}]
    records = [{"customer": customer, "contacts": [], "visits": [], "history": history,
                "events": []}]  # fmt: skip
    text = render_html(records, request_id=1, when="x", locale="zh_CN", _=lambda m: zh.get(m, m))
    for shown in ("个人", "潜在客户", "方案提交", "潜在", "同意"):
        assert f">{shown}<" in text, shown
    for code in ("person", "lead", "potential", "consent", "[]", "{}"):
        assert f">{code}<" not in text, code


async def test_admin_settings_show_the_privacy_periods_with_a_link_to_change_them(
    client, db, admin
):
    token = await csrf_token(client, "/admin/privacy")
    data = {"_csrf_token": token, "due_days": "20", "retention_days": "45"}
    resp = await client.post("/admin/privacy/settings", data=data, follow_redirects=False)
    assert resp.status_code == 303
    doc = html(await client.get("/settings"))
    assert doc.css_first("#settings-retention-days").text() == "45 days"
    assert doc.css_first("#settings-due-days").text() == "20 days"
    hrefs = [a.attributes.get("href", "") for a in doc.css("a")]
    assert any(h.startswith("/admin/privacy") for h in hrefs)


async def test_a_manager_reaches_the_audit_log_from_settings(client, db):
    team = await make.team(db, "华东一组")
    manager = await make.user(db, name="李经理", role="manager", team=team, locale="en")
    await sign_in(client, db, manager)
    doc = html(await client.get("/settings"))
    assert doc.css_first("#settings-retention-days") is None
    links = [a.attributes.get("href") for a in doc.css("a") if a.text() == "Audit log"]
    assert len(links) == 1
    assert (await client.get(links[0])).status_code == 200


async def _set_privacy(client, user_id: int, allowed: bool):
    token = await csrf_token(client, "/admin/users")
    data = {"_csrf_token": token, **({"may_handle_privacy": "yes"} if allowed else {})}
    return await client.post(f"/admin/users/{user_id}/privacy", data=data, follow_redirects=False)


async def test_an_admin_grants_and_revokes_the_privacy_permission(client, db, admin):
    team = await make.team(db, "华东一组")
    rep = await make.user(db, name="赵销售", role="rep", team=team, locale="en")
    assert (await _set_privacy(client, rep.id, True)).status_code == 303
    box = html(await client.get("/admin/users")).css_first(f"#user-privacy-{rep.id}")
    assert "checked" in box.attributes

    await sign_in(client, db, rep)
    assert (await client.get("/admin/privacy")).status_code == 200
    token = await csrf_token(client, "/admin/privacy")
    assert (await _request(client, token)).status_code == 303
    assert (await client.get("/admin/audit")).status_code == 403  # only the requests
    links = [a.text() for a in html(await client.get("/settings")).css("a")]
    assert "Privacy requests" in links

    await sign_in(client, db, admin)
    assert (await _set_privacy(client, rep.id, False)).status_code == 303
    box = html(await client.get("/admin/users")).css_first(f"#user-privacy-{rep.id}")
    assert "checked" not in box.attributes
    actions = (
        (
            await db.execute(
                select(AuditEvent.action)
                .where(AuditEvent.entity == "user", AuditEvent.entity_id == rep.id)
                .order_by(AuditEvent.id)
            )
        )
        .scalars()
        .all()
    )
    assert actions[-2:] == ["privacy_permission_granted", "privacy_permission_revoked"]

    await sign_in(client, db, rep)
    assert (await client.get("/admin/privacy")).status_code == 403


async def test_only_admins_change_the_privacy_permission(client, db):
    team = await make.team(db, "华东一组")
    manager = await make.user(db, name="李经理", role="manager", team=team, locale="en")
    await sign_in(client, db, manager)
    token = await csrf_token(client, "/settings")
    data = {"_csrf_token": token, "may_handle_privacy": "yes"}
    response = await client.post(f"/admin/users/{manager.id}/privacy", data=data)
    assert response.status_code == 403
    await db.refresh(manager)
    assert not manager.may_handle_privacy


async def test_a_correction_is_audited_with_the_request_and_listed_on_it(client, db, admin):
    team = await make.team(db)
    cid = await _customer(db, team)
    token = await csrf_token(client, "/admin/privacy")
    await _request(client, token, kind="correction")
    rid = (await db.execute(select(PrivacyRequest.id))).scalar_one()
    page = html(await client.get(f"/admin/privacy/{rid}"))
    assert "No corrections made for this request yet." in page.text()
    correct = [a for a in page.css("a") if a.text() == "Correct"]
    assert len(correct) == 1
    form_page = await client.get(correct[0].attributes["href"])
    assert form_page.status_code == 200
    action = f"/customers/{cid}/edit"
    data = scrape_form(form_page.text, action)
    assert data["privacy_request_id"] == str(rid)
    data["name"] = "张伟龙井茶叶贸易"
    saved = await client.post(action, data=data, follow_redirects=False)
    assert saved.status_code == 303

    event = (
        await db.execute(
            select(AuditEvent).where(
                AuditEvent.action == "customer_updated", AuditEvent.entity_id == cid
            )
        )
    ).scalar_one()
    assert event.detail["privacy_request_id"] == rid and "name" in event.detail["fields"]
    rows = html(await client.get(f"/admin/privacy/{rid}")).css(".privacy-corrections li")
    assert len(rows) == 1 and "王芳" in rows[0].text() and "Changed: Name" in rows[0].text()


async def test_an_edit_without_the_request_or_the_permission_names_no_request(client, db):
    team = await make.team(db)
    cid = await _customer(db, team)
    manager = await make.user(db, name="李经理", role="manager", team=team, locale="en")
    req = PrivacyRequest(
        requester="张先生",
        channel="phone",
        kind="correction",
        subject=PHONE,
        received_on=date(2026, 11, 20),
        due_on=date(2026, 12, 5),
        created_by=manager.id,
    )
    db.add(req)
    await db.commit()
    await sign_in(client, db, manager)
    action = f"/customers/{cid}/edit"
    form_page = await client.get(f"{action}?privacy_request={req.id}")
    data = scrape_form(form_page.text, action)
    assert "privacy_request_id" not in data
    data.update(name="张伟龙井茶叶贸易", privacy_request_id=str(req.id))
    assert (await client.post(action, data=data, follow_redirects=False)).status_code == 303
    event = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "customer_updated"))
    ).scalar_one()
    assert "privacy_request_id" not in event.detail
