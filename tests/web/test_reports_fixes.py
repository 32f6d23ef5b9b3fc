"""Weekly report and Team page fixes: moves one per line, one "won", one A coverage, the picker."""

import re
import subprocess
from datetime import timedelta

import pytest

from db.models import StageChange
from db.types import utcnow
from domain.report import format_iso_week, iso_week_of, previous_week, week_bounds
from tests import factories as make
from tests.support import html, texts
from web.core.settings import Settings


@pytest.fixture
async def week_world(db, settings: Settings):
    """A team in the previous complete week: A customers (one covered), moves, a split win."""
    team = await make.team(db, "华东销售一组")
    manager = await make.user(db, name="李伟", role="manager", team=team, locale="en")
    rep = await make.user(db, name="陈静", role="rep", team=team)
    tz = settings.tz
    today = utcnow().astimezone(tz).date()
    y, w = previous_week(*iso_week_of(today))
    start, end = week_bounds(y, w, tz)
    long_ago = start - timedelta(days=90)
    covered = await make.customer(db, owner=rep, name="覆盖公司", level="A", created_at=long_ago)
    await make.customer(db, owner=rep, name="未覆盖公司", level="A", created_at=long_ago)
    await make.customer(db, owner=rep, name="第三公司", level="A", created_at=long_ago)
    await make.visit(db, customer=covered, user=rep, at=end - timedelta(hours=20))
    moved = await make.customer(db, owner=rep, name="华东机械", created_at=long_ago)
    split = await make.customer(
        db, owner=rep, name="拆分成交", created_at=long_ago, stage="won", status="won"
    )
    db.add_all(
        [
            # the first entry of a customer has no "from": shown without a dash
            StageChange(
                customer_id=moved.id,
                user_id=None,
                at=start + timedelta(hours=1),
                to_stage="lead",
                to_status="potential",
            ),
            StageChange(
                customer_id=moved.id,
                user_id=rep.id,
                at=start + timedelta(hours=2),
                from_stage="lead",
                to_stage="first_contact",
            ),
            # old or imported data: the stage reaches Won first, the status a day later
            StageChange(
                customer_id=split.id,
                user_id=rep.id,
                at=start + timedelta(hours=3),
                from_stage="negotiation",
                to_stage="won",
            ),
            StageChange(
                customer_id=split.id,
                user_id=rep.id,
                at=start + timedelta(hours=27),
                from_status="intent",
                to_status="won",
            ),
        ]
    )
    await db.commit()
    return {"team": team, "manager": manager, "rep": rep, "week": format_iso_week(y, w)}


def pdf_text(content: bytes, tmp_path) -> str:
    path = tmp_path / "r.pdf"
    path.write_bytes(content)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True
    ).stdout


async def test_pdf_lists_stage_moves_one_per_line_with_names_and_no_dashes(
    client, signed_in, week_world, tmp_path
):
    await signed_in(week_world["manager"])
    response = await client.get(f"/reports/weekly/pdf?week={week_world['week']}")
    text = pdf_text(response.content, tmp_path)
    section = text.split("Stage moves this week")[1].split("Lost customers")[0]
    lines = [ln.strip() for ln in section.splitlines() if ln.strip()]
    assert any(
        "华东机械" in ln and "Stage: Lead → First contact" in ln and "by 陈静" in ln for ln in lines
    )
    assert any("华东机械" in ln and "Stage: Lead" in ln and "automatically" in ln for ln in lines)
    assert any("拆分成交" in ln and "Stage: Negotiation → Won" in ln for ln in lines)
    assert len([ln for ln in lines if re.match(r"\d\d-\d\d \d\d:\d\d", ln)]) == 4
    assert "–" not in section and "—" not in section and "()" not in section


async def test_page_lists_stage_moves_one_per_line_with_who(client, signed_in, week_world):
    await signed_in(week_world["manager"])
    tree = html(await client.get(f"/reports/weekly?week={week_world['week']}"))
    moves = texts(tree, "ul.moves li")
    assert len(moves) == 4
    assert any("Stage: Lead → First contact" in m and "by 陈静" in m for m in moves)
    assert all("–" not in m and "()" not in m for m in moves)


async def test_won_is_counted_once_whether_stage_or_status_came_first(
    client, signed_in, week_world
):
    await signed_in(week_world["manager"])
    tree = html(await client.get(f"/reports/weekly?week={week_world['week']}"))
    stats = {
        s.css_first("dt").text(strip=True): s.css_first(".value").text(strip=True)
        for s in tree.css(".headline .stat")
    }
    assert stats["Won"] == "1"  # the stage move and the status change are one win
    reps = {r.css_first("th").text(strip=True): r for r in tree.css("#h-reps ~ div tbody tr")}
    headers = texts(tree, "#h-reps ~ div thead th")
    assert reps["陈静"].css("td")[headers.index("Won") - 1].text(strip=True) == "1"


async def test_status_won_below_the_won_stage_counts_at_won_on_board_and_funnel(
    client, db, signed_in, week_world
):
    # Imported as won while its stage stayed at proposal.
    await make.customer(
        db,
        owner=week_world["rep"],
        name="导入成交",
        stage="proposal",
        status="won",
        created_at=utcnow() - timedelta(days=100),
    )
    await signed_in(week_world["manager"])
    board = html(await client.get("/pipeline"))
    won_column = board.css_first("#col-won").parent
    assert "导入成交" in won_column.text()
    assert "2" in board.css_first("#col-won").text().split()
    proposal = board.css_first("#col-proposal").parent
    assert "导入成交" not in proposal.text()
    tree = html(await client.get(f"/reports/weekly?week={week_world['week']}"))
    funnel = {
        r.css_first("th").text(strip=True): r.css("td")[0].text(strip=True)
        for r in tree.css("section[aria-labelledby=h-funnel] tbody tr")
    }
    assert funnel["Won"] == "2" and funnel["Proposal"] == "0"


async def test_team_page_and_pdf_show_the_same_a_coverage(client, signed_in, week_world, tmp_path):
    await signed_in(week_world["manager"])
    week = week_world["week"]
    tree = html(await client.get(f"/team?week={week}"))
    row = next(
        r for r in tree.css("#report-team-table tbody tr") if r.css_first("th").text() == "陈静"
    )
    cell = row.css_first("a[href*='what=a_uncovered']").parent.text(separator=" ", strip=True)
    team_page = " ".join(cell.split())
    assert team_page == "33% (1/3)"
    text = pdf_text((await client.get(f"/reports/weekly/pdf?week={week}")).content, tmp_path)
    rep_line = next(ln for ln in text.splitlines() if "陈静" in ln and "%" in ln)
    assert team_page in " ".join(rep_line.split())


async def test_week_picker_moves_weeks_without_javascript(client, signed_in, week_world):
    await signed_in(week_world["manager"])
    week = week_world["week"]
    for page in ("/team", "/reports/weekly"):
        tree = html(await client.get(f"{page}?week={week}"))
        assert tree.css_first("#report-week option[selected]").attributes["value"] == week
        assert len(tree.css("#report-week option")) >= 12
        assert tree.css_first("input[type=week]") is None  # a plain text box in iOS Safari
        back = tree.css_first("#report-week-picker a[rel=prev]").attributes["href"]
        earlier = html(await client.get(back))
        shown = earlier.css_first("#report-week option[selected]").attributes["value"]
        assert shown == format_iso_week(*previous_week(*map(int, week.split("-W"))))
        forward = earlier.css_first("#report-week-picker a[rel=next]").attributes["href"]
        again = html(await client.get(forward))
        assert again.css_first("#report-week option[selected]").attributes["value"] == week


async def test_silent_customers_are_collapsed_with_a_count(client, signed_in, week_world):
    await signed_in(week_world["manager"])
    tree = html(await client.get(f"/reports/weekly?week={week_world['week']}"))
    details = tree.css_first("section[aria-labelledby=h-silent] details")
    assert details is not None and "open" not in details.attributes
    summary = details.css_first("summary").text(strip=True)
    shown = len(details.css("li"))
    assert shown >= 2 and f"Show {shown} customers" in summary
