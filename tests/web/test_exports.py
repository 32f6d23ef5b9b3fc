"""Export on the web: files in both formats, visibility, the per-role setting, the audit."""

import csv
import io
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlalchemy import select

from db.models import AuditEvent
from tests import factories as make
from tests.support import csrf_token, html, texts


def _csv_rows(response) -> list[list[str]]:
    """The rows of a CSV answer; it must start with the UTF-8 BOM for Excel."""
    assert response.content.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def _xlsx_rows(response) -> list[tuple]:
    """The rows of the first sheet of an XLSX answer."""
    book = load_workbook(io.BytesIO(response.content), read_only=True)
    return [tuple(r) for r in book.worksheets[0].iter_rows(values_only=True)]


async def _two_teams(db):
    """A team with a rep's customer and a pool customer (both level A); another team's customer."""
    team = await make.team(db)
    rep = await make.user(db, role="rep", team=team, name="陈静", locale="en")
    other = await make.team(db, "华南二组")
    mine = await make.customer(db, owner=rep, name="华东机械", phone="13800138000", level="A")
    await make.customer(db, team=team, name="=HYPERLINK(1)", phone="13900139000", level="A")
    far = await make.customer(db, team=other, name="华南贸易", phone="13700137000")
    return team, rep, other, mine, far


async def test_a_manager_exports_the_customers_of_their_team_as_csv(client, db, signed_in):
    team, _rep, _other, _mine, _far = await _two_teams(db)
    await signed_in("manager", team=team, name="王经理", locale="en")
    response = await client.get("/exports/customers?format=csv")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    rows = _csv_rows(response)
    assert rows[0][:2] == ["Number", "Name"]
    names = {r[1] for r in rows[1:]}
    assert names == {"华东机械", "'=HYPERLINK(1)"}  # the other team's customer is not in it


async def test_the_xlsx_export_holds_the_same_customers(client, db, signed_in):
    team, *_ = await _two_teams(db)
    await signed_in("manager", team=team, name="王经理", locale="en")
    response = await client.get("/exports/customers?format=xlsx")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    rows = _xlsx_rows(response)
    assert rows[0][1] == "Name"
    assert sorted(r[1] for r in rows[1:]) == ["'=HYPERLINK(1)", "华东机械"]


async def test_each_export_is_audited_with_its_count(client, db, signed_in):
    team, *_ = await _two_teams(db)
    boss = await signed_in("manager", team=team, name="王经理", locale="en")
    await client.get("/exports/customers?format=csv&level=A")
    event = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "export.customers"))
    ).scalar_one()
    assert event.actor_id == boss.id
    assert event.detail == {"format": "csv", "rows": 2, "filter": {"level": "A"}}


async def test_a_rep_may_not_export_until_an_admin_allows_it(client, db, signed_in):
    _team, rep, *_ = await _two_teams(db)
    await signed_in(rep)
    assert (await client.get("/exports/customers?format=csv")).status_code == 403
    assert (await client.get("/exports/")).status_code == 403

    await signed_in("admin", name="管理员", locale="en")
    token = await csrf_token(client, "/admin/transfer/")
    saved = await client.post(
        "/admin/transfer/",
        data={"_csrf_token": token, "export": "rep"},
        follow_redirects=False,
    )
    assert saved.status_code == 303

    await signed_in(rep)
    response = await client.get("/exports/customers?format=csv")
    assert response.status_code == 200
    # A rep sees their own and the team's pool customers, as on the list.
    assert {r[1] for r in _csv_rows(response)[1:]} == {"华东机械", "'=HYPERLINK(1)"}


async def test_the_admin_settings_page_shows_reps_off_and_managers_on(client, db, signed_in):
    await signed_in("admin", name="管理员", locale="en")
    tree = html(await client.get("/admin/transfer/"))
    checked = {i.attributes["value"] for i in tree.css("input[name=export][checked]")}
    assert checked == {"manager"}


async def test_visits_of_a_date_range_are_exported(client, db, signed_in):
    team, rep, _other, mine, far = await _two_teams(db)
    stranger = await make.user(db, role="rep", name="赵强")
    await make.visit(db, customer=mine, user=rep, at=datetime(2026, 11, 10, 2, tzinfo=UTC))
    await make.visit(db, customer=mine, user=rep, at=datetime(2026, 9, 1, 2, tzinfo=UTC))
    await make.visit(db, customer=far, user=stranger, at=datetime(2026, 11, 10, 2, tzinfo=UTC))
    await signed_in("manager", team=team, name="王经理", locale="en")
    response = await client.get("/exports/visits?start=2026-11-01&end=2026-11-20&format=csv")
    assert response.status_code == 200
    rows = _csv_rows(response)
    assert rows[0][0] == "Time"
    assert [(r[0], r[2], r[3]) for r in rows[1:]] == [("2026-11-10 10:00:00", "华东机械", "陈静")]


async def test_a_wrong_range_re_shows_the_page_with_the_message(client, db, signed_in):
    await signed_in("manager", name="王经理", locale="en")
    response = await client.get("/exports/visits?start=2026-11-20&end=2026-11-01&format=csv")
    assert response.status_code == 422
    tree = html(response)
    assert texts(tree, "#export-end-error") == ["The end date is before the start date."]
    assert tree.css_first("#export-start").attributes["value"] == "2026-11-20"


async def test_the_list_links_to_the_export_with_its_filter(client, db, signed_in):
    await signed_in("manager", name="王经理", locale="en")
    tree = html(await client.get("/customers/"))
    links = {a.text(strip=True): a for a in tree.css("#import-links a")}
    assert set(links) == {"Import", "Export"}
    link = links["Export"]
    page = html(await client.get(link.attributes["href"] + "?level=A"))
    hidden = {
        i.attributes["name"]: i.attributes["value"]
        for i in page.css("#export-customers input[type=hidden]")
    }
    assert hidden == {"level": "A"}


async def test_a_filtered_export_holds_exactly_the_rows_the_list_shows(client, db, signed_in):
    team = await make.team(db)
    rep = await make.user(db, role="rep", team=team, name="陈静")
    await make.customer(db, owner=rep, name="甲级一", level="A", phone="13800138001")
    await make.customer(db, team=team, name="甲级池", level="A", phone="13800138002")
    await make.customer(db, owner=rep, name="乙级", level="B", phone="13800138003")
    far = await make.team(db, "华南二组")
    await make.customer(db, team=far, name="别组甲级", level="A", phone="13800138004")
    boss = await signed_in("manager", team=team, name="王经理", locale="en")
    query = f"level=A&owner={rep.id}"
    shown = {
        a.text(strip=True)
        for a in html(await client.get(f"/customers/?{query}")).css("#customer-list a")
    }
    response = await client.get(f"/exports/customers?format=csv&{query}")
    names = {r[1] for r in _csv_rows(response)[1:]}
    assert names == {"甲级一"}
    assert names <= shown
    event = (
        await db.execute(select(AuditEvent).where(AuditEvent.action == "export.customers"))
    ).scalar_one()
    assert event.actor_id == boss.id
    assert event.detail["filter"] == {"owner": str(rep.id), "level": "A"}
    assert event.detail["rows"] == 1


async def test_a_reps_export_never_holds_another_reps_customers(client, db, signed_in):
    team = await make.team(db)
    rep = await make.user(db, role="rep", team=team, name="陈静", locale="en")
    other = await make.user(db, role="rep", team=team, name="李伟")
    await make.customer(db, owner=rep, name="我的客户", level="A", phone="13800138011")
    await make.customer(db, owner=other, name="同事客户", level="A", phone="13800138012")
    await signed_in("admin", name="管理员", locale="en")
    token = await csrf_token(client, "/admin/transfer/")
    await client.post("/admin/transfer/", data={"_csrf_token": token, "export": "rep"})
    await signed_in(rep)
    for query in ("", "level=A", f"owner={other.id}", f"owner={other.id}&level=A"):
        response = await client.get(f"/exports/customers?format=csv&{query}")
        assert response.status_code == 200
        assert "同事客户" not in {r[1] for r in _csv_rows(response)[1:]}, query


async def test_the_export_link_on_a_filtered_list_carries_the_filter(client, db, signed_in):
    await signed_in("manager", name="王经理", locale="en")
    tree = html(await client.get("/customers/?level=A&due=overdue&page=1"))
    link = {a.text(strip=True): a for a in tree.css("#import-links a")}["Export"]
    page = html(await client.get(link.attributes["href"]))
    hidden = {
        i.attributes["name"]: i.attributes["value"]
        for i in page.css("#export-customers input[type=hidden]")
    }
    assert hidden == {"level": "A", "due": "overdue"}
