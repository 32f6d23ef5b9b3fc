"""Managers' Team page and the weekly report (HTML and PDF), from the same numbers."""

import asyncio
import weakref
from dataclasses import dataclass
from datetime import date, datetime
from urllib.parse import quote

from litestar import Controller, Request, Response, get
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.models import Team
from db.outcomes import cadence_get
from db.reports import report_customers, report_moves, report_reps, report_visits
from db.users import team_list
from domain.enums import Level, Role
from domain.labels import HEADLINES, LOSS_REASONS, METHODS, STAGES, STATUSES
from domain.report import (
    DRILLDOWNS,
    CustomerRow,
    NoTeamToReport,
    RepRow,
    TeamNotAllowed,
    VisitRow,
    WeeklyReport,
    WeekNav,
    WeekNotStarted,
    customers_as_of,
    iso_week_of,
    last_complete_week,
    parse_iso_week,
    previous_week,
    rep_drilldown,
    rep_rows,
    rep_visits,
    report_team_choose,
    report_team_scope,
    week_bounds,
    week_nav,
    week_so_far,
    weekly_report,
)
from domain.users import Actor
from web.core.client_ip import client_ip
from web.core.errors import PublicError
from web.core.guards import require_roles
from web.core.htmx import render
from web.core.i18n import current_locale, gettext
from web.core.settings import Settings
from web.pool.weekly import pool_weekly_context, report_with_pool
from web.reports import pdf_worker
from web.reports.pdf_worker import PdfRenderFailed, render_weekly_pdf_in_child

LABELS = {
    "headline": HEADLINES,
    "method": METHODS,
    "stage": STAGES,
    "status": STATUSES,
    "reason": LOSS_REASONS,
}


async def _pick_team(db: AsyncSession, actor: Actor, team: int | None) -> tuple[Team, list[Team]]:
    """Return the chosen (or default) team and the ones to choose from; 404 / 403 otherwise."""
    teams = await team_list(db, team_ids=report_team_scope(actor))
    try:
        chosen = report_team_choose(actor, [t.id for t in teams], team)
    except NoTeamToReport:
        raise PublicError(404, gettext("There is no team to report on yet.")) from None
    except TeamNotAllowed:
        raise PermissionDeniedException() from None
    return next(t for t in teams if t.id == chosen), teams


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
    db: AsyncSession,
    *,
    team: Team,
    iso_year: int,
    iso_week: int,
    settings: Settings,
    by: str,
    now: datetime,
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
            visits=await report_visits(db, team_id=team.id, start=prev_start, end=now),
            moves=await report_moves(db, team_id=team.id, start=prev_start),
            tz=tz,
            cadence_days=await cadence_get(db),
            generated_at=now,
            generated_by=by,
        )


@dataclass(frozen=True)
class TeamWeek:
    """A team's week on the Team page (this week: so far): rows per rep and their inputs."""

    team: Team
    teams: list[Team]
    nav: WeekNav
    start: datetime
    upto: datetime
    rows: tuple[RepRow, ...]
    customers: list[CustomerRow]
    visits: list[VisitRow]
    cadence: dict[Level, int]


async def _team_week(
    db: AsyncSession,
    *,
    actor: Actor,
    settings: Settings,
    now: datetime,
    today: date,
    team: int | None,
    week: str | None,
) -> TeamWeek:
    """Check the team, parse the week (default: this one) and count it up to now."""
    chosen, teams = await _pick_team(db, actor, team)
    y, w = _parse_week(week, iso_week_of(today))
    tz = settings.tz
    try:
        start, upto = week_so_far(y, w, tz, now)
    except WeekNotStarted:
        raise PublicError(400, gettext("That week has not started yet.")) from None
    async with _report_build_lock():
        cadence = await cadence_get(db)
        reps = await report_reps(db, team_id=chosen.id)
        customers = await report_customers(db, team_id=chosen.id, before=start)
        visits = await report_visits(db, team_id=chosen.id, start=start, end=now)
        if upto < now:
            moves = await report_moves(db, team_id=chosen.id, start=start)
            customers = list(
                customers_as_of(
                    customers, visits=visits, moves=moves, at=upto, tz=tz, cadence_days=cadence
                )
            )
        rows = rep_rows(reps, customers, visits, start=start, end=upto, tz=tz, cadence_days=cadence)
    nav = week_nav(y, w, today)
    return TeamWeek(chosen, teams, nav, start, upto, rows, customers, visits, cadence)


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
        now: datetime,
        today: date,
        team: int | None = None,
        week: str | None = None,
    ) -> Template:
        """Show the team's week."""
        tw = await _team_week(
            db, actor=actor, settings=settings, now=now, today=today, team=team, week=week
        )
        context = {
            "active": "team",
            "team": tw.team,
            "teams": tw.teams,
            "rows": tw.rows,
            "week": tw.nav.week,
            "start": tw.start,
            "upto": tw.upto,
            "is_current": tw.nav.is_current,
            "prev_week": tw.nav.prev_week,
            "next_week": tw.nav.next_week,
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
        now: datetime,
        today: date,
        team: int,
        rep: int,
        what: str,
        week: str | None = None,
    ) -> Template:
        """Show the customers behind one number of the Team page."""
        if what not in DRILLDOWNS:
            raise NotFoundException()
        tw = await _team_week(
            db, actor=actor, settings=settings, now=now, today=today, team=team, week=week
        )
        row = next((r for r in tw.rows if r.rep_id == rep), None)
        if row is None:
            raise NotFoundException()
        window = {"start": tw.start, "end": tw.upto}
        ids = rep_drilldown(
            rep, what, tw.customers, tw.visits, **window, tz=settings.tz, cadence_days=tw.cadence
        )
        by_id = {c.id: c for c in tw.customers}
        context = {
            "active": "team",
            "team": tw.team,
            "row": row,
            "what": what,
            "week": tw.nav.week,
            "customers": [by_id[i] for i in ids if i in by_id],
            "visits": rep_visits(rep, tw.visits, **window) if what == "visits" else [],
            "names": {c.id: c.name for c in tw.customers},
            "labels": LABELS,
        }
        return render(request, "pages/reports/team_list.html", context)


async def _requested_report(
    db: AsyncSession,
    actor: Actor,
    settings: Settings,
    now: datetime,
    today: date,
    team: int | None,
    week: str | None,
) -> tuple[Team, list[Team], WeeklyReport]:
    """Check the team, parse the week (default: last complete one) and build its report."""
    chosen, teams = await _pick_team(db, actor, team)
    y, w = _parse_week(week, last_complete_week(today))
    report = await build_weekly_report(
        db, team=chosen, iso_year=y, iso_week=w, settings=settings, by=actor.name, now=now
    )
    # The public pool table (page and PDF) comes from the pool events.
    report = await report_with_pool(db, team_id=chosen.id, report=report)
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
        now: datetime,
        today: date,
        team: int | None = None,
        week: str | None = None,
    ) -> Template:
        """Show the report as a page with a Download PDF link."""
        chosen, teams, report = await _requested_report(db, actor, settings, now, today, team, week)
        pdf_worker.prepare()  # the PDF is likely next: start its renderer now
        context = {
            "active": "report",
            "team": chosen,
            "teams": teams,
            "r": report,
            "week": report.week_label,
            "labels": LABELS,
            "max_day": max((d.visits for d in report.visits_per_day), default=0),
            **await pool_weekly_context(db, team_id=chosen.id, report=report),
        }
        return render(request, "pages/reports/weekly.html", context)

    @get("/pdf", name="report.weekly_pdf")
    async def pdf(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        now: datetime,
        today: date,
        team: int | None = None,
        week: str | None = None,
    ) -> Response:
        """Render the PDF off the event loop and send it as a download."""
        chosen, _teams, report = await _requested_report(
            db, actor, settings, now, today, team, week
        )
        try:
            data = await render_weekly_pdf_in_child(report, locale=current_locale())
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
            detail={"week": report.week_label, "bytes": len(data)},
            ip=client_ip(request),
        )
        await db.commit()
        return _pdf_download(data, team=chosen, week=report.week_label)


def _pdf_download(data: bytes, *, team: Team, week: str) -> Response:
    """The PDF as an attachment: an ASCII file name, and the team's own name for browsers."""
    filename = f"kehu-weekly-{week}-{team.id}.pdf"
    display = f"{team.name}-{week}.pdf"
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
