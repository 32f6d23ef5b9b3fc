"""Team page and weekly report: visibility, numbers that match, HTML escaping, the real PDF."""

import subprocess
from datetime import timedelta

import pytest
from sqlalchemy import select

from db.models import AuditEvent, StageChange
from db.types import utcnow
from domain.report import format_iso_week, iso_week_of, last_complete_week, week_bounds
from tests import factories as make
from tests.support import html, texts
from web.core.settings import Settings


@pytest.fixture
async def team_setup(db, settings: Settings):
    team = await make.team(db, "华东销售一组")
    other = await make.team(db, "华北销售组")
    manager = await make.user(db, name="李伟", role="manager", team=team, locale="en")
    rep = await make.user(db, name="陈静", role="rep", team=team)
    rep2 = await make.user(db, name="刘洋", role="rep", team=team)
    other_manager = await make.user(db, name="张敏", role="manager", team=other, locale="en")
    tz = settings.tz
    today = utcnow().astimezone(tz).date()
    start, _ = week_bounds(*iso_week_of(today), tz)
    long_ago = start - timedelta(days=60)
    a1 = await make.customer(
        db, owner=rep, name="上海华东机械有限公司", level="A", created_at=long_ago
    )
    a2 = await make.customer(db, owner=rep, name="<b>x</b>", level="B", created_at=long_ago)
    a3 = await make.customer(db, owner=rep2, name="杭州恒通电子", level="A", created_at=long_ago)
    await make.visit(db, customer=a1, user=rep, at=start + timedelta(minutes=5))
    at = start + timedelta(minutes=10)
    await make.visit(db, customer=a2, user=rep, at=at, method="phone", outcome="called")
    return {
        "team": team,
        "other": other,
        "manager": manager,
        "rep": rep,
        "rep2": rep2,
        "other_manager": other_manager,
        "customers": (a1, a2, a3),
        "start": start,
        "week": format_iso_week(*iso_week_of(today)),
    }


@pytest.mark.parametrize("path", ["/team", "/reports/weekly", "/reports/weekly/pdf"])
async def test_reps_and_clerks_cannot_open_team_numbers(client, db, signed_in, team_setup, path):
    await signed_in(team_setup["rep"])
    assert (await client.get(path)).status_code == 403


@pytest.mark.parametrize("path", ["/team", "/reports/weekly", "/reports/weekly/pdf"])
async def test_manager_cannot_open_another_team(client, db, signed_in, team_setup, path):
    await signed_in(team_setup["other_manager"])
    response = await client.get(f"{path}?team={team_setup['team'].id}")
    assert response.status_code == 403


async def test_team_page_counts_this_week_and_links_to_the_list(client, db, signed_in, team_setup):
    await signed_in(team_setup["manager"])
    tree = html(await client.get("/team"))
    rows = {r.css_first("th").text(strip=True): r for r in tree.css("#report-team-table tbody tr")}
    assert set(rows) == {"陈静", "刘洋"}
    chen = rows["陈静"]
    visits_link = chen.css_first("a[href*='what=visits']")
    assert visits_link.text(strip=True) == "2"
    touched = chen.css_first("a[href*='what=touched']").text(strip=True)
    assert touched == "2"
    detail = html(await client.get(visits_link.attributes["href"]))
    names = texts(detail, ".list strong")
    assert names == ["<b>x</b>", "上海华东机械有限公司"]
    assert detail.css_first("b") is None  # the name is escaped, not markup


async def test_team_page_a_coverage_and_uncovered_list(client, db, signed_in, team_setup):
    await signed_in(team_setup["manager"])
    tree = html(await client.get("/team"))
    liu = next(
        r for r in tree.css("#report-team-table tbody tr") if r.css_first("th").text() == "刘洋"
    )
    link = liu.css_first("a[href*='what=a_uncovered']")
    assert link.text(strip=True) == "0%"
    listed = texts(html(await client.get(link.attributes["href"])), ".list strong")
    assert listed == ["杭州恒通电子"]


async def test_admin_can_choose_any_team(client, db, signed_in, team_setup):
    await signed_in("admin", name="王芳", locale="en")
    response = await client.get(f"/reports/weekly?team={team_setup['other'].id}")
    assert response.status_code == 200
    tree = html(response)
    options = texts(tree, "#report-team option")
    assert "华东销售一组" in options and "华北销售组" in options
    assert "华北销售组" in tree.css_first(".report-head").text()


async def test_weekly_report_defaults_to_last_complete_week(
    client, db, signed_in, team_setup, settings
):
    await signed_in(team_setup["manager"])
    tree = html(await client.get("/reports/weekly"))
    today = utcnow().astimezone(settings.tz).date()
    expected = format_iso_week(*last_complete_week(today))
    assert tree.css_first("#report-week option[selected]").attributes["value"] == expected
    link = tree.css_first("a[download]")
    assert link.text(strip=True) == "Download PDF"


async def test_weekly_report_page_shows_this_weeks_numbers_escaped(
    client, db, signed_in, team_setup
):
    db.add(
        StageChange(
            customer_id=team_setup["customers"][2].id,
            user_id=team_setup["rep2"].id,
            at=team_setup["start"] + timedelta(hours=3),
            from_status="intent",
            to_status="lost",
            reason="price",
        )
    )
    # The customer named "<b>x</b>" moves on too, so the report lists that name.
    db.add(
        StageChange(
            customer_id=team_setup["customers"][1].id,
            user_id=team_setup["rep"].id,
            at=team_setup["start"] + timedelta(hours=4),
            from_stage="lead",
            to_stage="first_contact",
        )
    )
    c = team_setup["customers"][2]
    c.status, c.loss_reason = "lost", "price"
    db.add(c)
    await db.commit()
    await signed_in(team_setup["manager"])
    week = team_setup["week"]
    response = await client.get(f"/reports/weekly?week={week}")
    assert response.status_code == 200
    assert "&lt;b&gt;x&lt;/b&gt;" in response.text and "<b>x</b>" not in response.text
    tree = html(response)
    stats = {
        s.css_first("dt").text(strip=True): s.css_first(".value").text() for s in tree.css(".stat")
    }
    assert stats["Visits"] == "2"
    assert stats["Lost"] == "1"
    lost = tree.css_first("section[aria-labelledby=h-lost]").text()
    assert "杭州恒通电子" in lost and "Price too high" in lost


async def test_bad_week_is_a_clear_400(client, db, signed_in, team_setup):
    await signed_in(team_setup["manager"])
    response = await client.get("/reports/weekly?week=banana")
    assert response.status_code == 400
    assert "2026-W47" in response.text


async def test_pdf_download_is_a_real_pdf_with_names_and_audit(
    client, db, signed_in, team_setup, tmp_path
):
    manager = team_setup["manager"]
    manager.locale = "zh_CN"
    db.add(manager)
    await db.commit()
    await signed_in(manager)
    week = team_setup["week"]
    response = await client.get(f"/reports/weekly/pdf?week={week}")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    assert "attachment" in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF")
    pdf = tmp_path / "r.pdf"
    pdf.write_bytes(response.content)
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "华东销售一组" in text and "陈静" in text and "刘洋" in text
    fonts = subprocess.run(["pdffonts", str(pdf)], capture_output=True, text=True).stdout
    assert "CJK" in fonts.replace("-", "")
    events = (
        (await db.execute(select(AuditEvent).where(AuditEvent.action == "report_exported")))
        .scalars()
        .all()
    )
    assert len(events) == 1 and events[0].actor_id == manager.id
