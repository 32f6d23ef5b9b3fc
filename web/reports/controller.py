"""Managers' Team page and the weekly report (HTML and PDF), from the same numbers."""

import asyncio
import weakref
from datetime import UTC, timedelta
from urllib.parse import quote

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.models import Team
from db.reports import (
    cadence_days,
    report_customers,
    report_moves,
    report_reps,
    report_visits,
    team_list,
)
from db.types import utcnow
from domain.enums import Role
from domain.report import (
    DRILLDOWNS,
    WeeklyReport,
    customers_as_of,
    format_iso_week,
    iso_week_of,
    last_complete_week,
    parse_iso_week,
    previous_week,
    rep_drilldown,
    rep_rows,
    week_bounds,
    weekly_report,
)
from domain.users import Actor, can_manage_team
from pdf.weekly import (
    HEADLINE_LABELS,
    LOSS_REASON_LABELS,
    METHOD_LABELS,
    STAGE_LABELS,
    STATUS_LABELS,
)
from web.core.client_ip import client_ip
from web.core.errors import PublicError
from web.core.guards import require_roles
from web.core.htmx import render
from web.core.i18n import current_locale, gettext
from web.core.settings import Settings
from web.reports import pdf_worker
from web.reports.pdf_worker import PdfRenderFailed, render_weekly_pdf_in_child

LABELS = {
    "headline": HEADLINE_LABELS,
    "method": METHOD_LABELS,
    "stage": STAGE_LABELS,
    "status": STATUS_LABELS,
    "reason": LOSS_REASON_LABELS,
}


async def _teams_for(db: AsyncSession, actor: Actor) -> list[Team]:
    """Return the teams whose numbers the actor may see."""
    if actor.role == Role.ADMIN:
        return await team_list(db)
    return await team_list(db, team_ids=[actor.team_id] if actor.team_id else [])


async def _pick_team(db: AsyncSession, actor: Actor, team: int | None) -> tuple[Team, list[Team]]:
    """Return the chosen (or default) team, refusing teams the actor may not see."""
    teams = await _teams_for(db, actor)
    if not teams:
        raise PublicError(404, gettext("There is no team to report on yet."))
    if team is None:
        return teams[0], teams
    chosen = next((t for t in teams if t.id == team), None)
    if chosen is None or not can_manage_team(actor, chosen.id):
        raise PermissionDeniedException()
    return chosen, teams


def _parse_week(week: str | None, default: tuple[int, int]) -> tuple[int, int]:
    """Parse an ISO week from the query, or use the default."""
    if not week:
        return default
    try:
        return parse_iso_week(week)
    except ValueError:
        raise PublicError(400, gettext("Choose a week like 2026-W47.")) from None


# One report (the weekly report, or a week of the Team page) is built at a time: a build
# holds a team's customers and a fortnight of visits in memory (tens of MB for a
# 10,000-customer team), and parallel builds share one CPU anyway, so running them side by
# side only multiplies the peak (bench: 4 concurrent PDFs raised the server's peak RSS by
# ~60 MB).
_REPORT_BUILDS: "weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock]" = (
    weakref.WeakKeyDictionary()
)


def _report_build_lock() -> asyncio.Lock:
    """The report-build lock of the running event loop (asyncio locks belong to one loop)."""
    loop = asyncio.get_running_loop()
    lock = _REPORT_BUILDS.get(loop)
    if lock is None:
        lock = _REPORT_BUILDS[loop] = asyncio.Lock()
    return lock


async def build_weekly_report(
    db: AsyncSession, *, team: Team, iso_year: int, iso_week: int, settings: Settings, by: str
) -> WeeklyReport:
    """Load the two weeks' data in a few queries and compute the report."""
    tz = settings.tz
    prev_start, _ = week_bounds(*previous_week(iso_year, iso_week), tz)
    async with _report_build_lock():
        return weekly_report(
            team_name=team.name,
            iso_year=iso_year,
            iso_week=iso_week,
            reps=await report_reps(db, team_id=team.id),
            customers=await report_customers(db, team_id=team.id, before=prev_start),
            visits=await report_visits(db, team_id=team.id, start=prev_start, end=utcnow()),
            moves=await report_moves(db, team_id=team.id, start=prev_start),
            tz=tz,
            cadence_days=await cadence_days(db),
            generated_at=utcnow(),
            generated_by=by,
        )


async def _team_week(db: AsyncSession, *, team: Team, y: int, w: int, settings: Settings):
    """Per-rep rows for a week (this week: so far), the inputs, and the window."""
    tz = settings.tz
    now = utcnow()
    start, end = week_bounds(y, w, tz)
    upto = min(now, end)
    if upto <= start:
        raise PublicError(400, gettext("That week has not started yet."))
    async with _report_build_lock():
        cadence = await cadence_days(db)
        reps = await report_reps(db, team_id=team.id)
        customers = await report_customers(db, team_id=team.id, before=start)
        visits = await report_visits(db, team_id=team.id, start=start, end=now)
        if upto < now:
            moves = await report_moves(db, team_id=team.id, start=start)
            customers = list(
                customers_as_of(
                    customers, visits=visits, moves=moves, at=upto, tz=tz, cadence_days=cadence
                )
            )
        rows = rep_rows(reps, customers, visits, start=start, end=upto, tz=tz, cadence_days=cadence)
    return rows, customers, visits, start, upto, cadence


class TeamController(Controller):
    """The Team page: this week so far per rep, each number linking to its list."""

    path = "/team"
    guards = [require_roles(Role.MANAGER, Role.ADMIN)]

    @get("/", name="team.page")
    async def page(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        team: int | None = None,
        week: str | None = None,
    ) -> Template:
        """Show the team's week."""
        chosen, teams = await _pick_team(db, actor, team)
        today = utcnow().astimezone(settings.tz).date()
        y, w = _parse_week(week, iso_week_of(today))
        rows, _c, _v, start, upto, _cad = await _team_week(
            db, team=chosen, y=y, w=w, settings=settings
        )
        this_week = iso_week_of(today)
        context = {
            "active": "team",
            "team": chosen,
            "teams": teams,
            "rows": rows,
            "week": format_iso_week(y, w),
            "start": start,
            "upto": upto,
            "is_current": (y, w) == this_week,
            "prev_week": format_iso_week(*previous_week(y, w)),
            "next_week": None if (y, w) >= this_week else _next_week(y, w),
            "labels": LABELS,
        }
        return render(
            request, "pages/reports/team.html", context, partial="partials/reports/team_table.html"
        )

    @get("/list", name="team.list")
    async def drilldown(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        team: int,
        rep: int,
        what: str,
        week: str | None = None,
    ) -> Template:
        """Show the customers behind one number of the Team page."""
        if what not in DRILLDOWNS:
            raise NotFoundException()
        chosen, _teams = await _pick_team(db, actor, team)
        today = utcnow().astimezone(settings.tz).date()
        y, w = _parse_week(week, iso_week_of(today))
        rows, customers, visits, start, upto, cadence = await _team_week(
            db, team=chosen, y=y, w=w, settings=settings
        )
        row = next((r for r in rows if r.rep_id == rep), None)
        if row is None:
            raise NotFoundException()
        ids = rep_drilldown(
            rep,
            what,
            customers,
            visits,
            start=start,
            end=upto,
            tz=settings.tz,
            cadence_days=cadence,
        )
        by_id = {c.id: c for c in customers}
        rep_visits = sorted(
            (v for v in visits if v.user_id == rep and start <= v.at < upto),
            key=lambda v: v.at,
            reverse=True,
        )
        context = {
            "active": "team",
            "team": chosen,
            "row": row,
            "what": what,
            "week": format_iso_week(y, w),
            "customers": [by_id[i] for i in ids if i in by_id],
            "visits": rep_visits if what == "visits" else [],
            "names": {c.id: c.name for c in customers},
            "labels": LABELS,
        }
        return render(request, "pages/reports/team_list.html", context)


def _next_week(y: int, w: int) -> str:
    """The ISO week after (y, w)."""
    start, _ = week_bounds(y, w, UTC)
    return format_iso_week(*iso_week_of((start + timedelta(days=7)).date()))


async def _requested_report(
    db: AsyncSession, actor: Actor, settings: Settings, team: int | None, week: str | None
) -> tuple[Team, list[Team], WeeklyReport]:
    """Check the team, parse the week (default: last complete one) and build its report."""
    chosen, teams = await _pick_team(db, actor, team)
    today = utcnow().astimezone(settings.tz).date()
    y, w = _parse_week(week, last_complete_week(today))
    report = await build_weekly_report(
        db, team=chosen, iso_year=y, iso_week=w, settings=settings, by=actor.name
    )
    return chosen, teams, report


class WeeklyReportController(Controller):
    """The weekly report: choose team and week, read it, download the PDF."""

    path = "/reports/weekly"
    guards = [require_roles(Role.MANAGER, Role.ADMIN)]

    @get("/", name="report.weekly")
    async def page(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        team: int | None = None,
        week: str | None = None,
    ) -> Template:
        """Show the report as a page with a Download PDF link."""
        chosen, teams, report = await _requested_report(db, actor, settings, team, week)
        pdf_worker.prepare()  # the PDF is likely next: start its renderer now
        y, w = report.iso_year, report.iso_week
        context = {
            "active": "report",
            "team": chosen,
            "teams": teams,
            "r": report,
            "week": format_iso_week(y, w),
            "labels": LABELS,
            "max_day": max((d.visits for d in report.visits_per_day), default=0),
        }
        return render(request, "pages/reports/weekly.html", context)

    @get("/pdf", name="report.weekly_pdf")
    async def pdf(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        team: int | None = None,
        week: str | None = None,
    ) -> Response:
        """Render the PDF off the event loop and send it as a download."""
        chosen, _teams, report = await _requested_report(db, actor, settings, team, week)
        y, w = report.iso_year, report.iso_week
        locale = current_locale()
        try:
            data = await render_weekly_pdf_in_child(report, locale=locale)
        except PdfRenderFailed:
            raise PublicError(
                503, gettext("The PDF could not be made just now. Please try again.")
            ) from None
        await audit_add(
            db,
            action="report_exported",
            actor_id=actor.id,
            entity="team",
            entity_id=chosen.id,
            detail={"week": format_iso_week(y, w), "bytes": len(data)},
            ip=client_ip(request),
        )
        await db.commit()
        filename = f"kehu-weekly-{format_iso_week(y, w)}-{chosen.id}.pdf"
        display = f"{chosen.name}-{format_iso_week(y, w)}.pdf"
        return Response(
            content=data,
            media_type="application/pdf",
            headers={
                "Content-Disposition": (
                    f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(display)}"
                ),
                "Cache-Control": "private, no-store",
            },
        )
