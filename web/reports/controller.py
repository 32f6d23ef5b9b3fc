"""Managers' Team page and the weekly report (HTML and PDF), from the same numbers."""

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
from db.reports import (
    report_customers,
    report_moves,
    report_period_rows,
    report_reps,
    report_visits,
    report_week_figures,
)
from db.users import team_list
from domain.enums import Level, Role
from domain.labels import HEADLINES, LOSS_REASONS, METHODS, STAGES, STATUSES
from domain.report import (
    DRILLDOWNS,
    SILENT_CADENCE_FACTOR,
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
    move_changes,
    parse_iso_week,
    rep_drilldown,
    rep_visits,
    report_team_choose,
    report_team_scope,
    week_nav,
    week_options,
    week_so_far,
    weekly_report_from_figures,
)
from domain.users import Actor
from pdf.weekly import by_text, move_change_text
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


# The silent customers a report carries: the page shows them (collapsed), the PDF the first
# pdf.weekly.MAX_ROWS; the rest are counted and open in the customer list.
SILENT_LIMIT = 200


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
    """Load the two weeks' aggregates (GROUP BY queries, no customer list); compute the report."""
    cadence = await cadence_get(db)
    figures = await report_week_figures(
        db,
        team_id=team.id,
        iso_year=iso_year,
        iso_week=iso_week,
        tz=settings.tz,
        cadence_days=cadence,
        silent_limit=SILENT_LIMIT,
    )
    return weekly_report_from_figures(
        team_name=team.name,
        iso_year=iso_year,
        iso_week=iso_week,
        reps=await report_reps(db, team_id=team.id),
        figures=figures,
        tz=settings.tz,
        cadence_days=cadence,
        generated_at=now,
        generated_by=by,
    )


@dataclass(frozen=True)
class TeamWeek:
    """A team's week on the Team page (this week: so far): one row per rep."""

    team: Team
    teams: list[Team]
    nav: WeekNav
    start: datetime
    upto: datetime
    rows: tuple[RepRow, ...]
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
    try:
        start, upto = week_so_far(y, w, settings.tz, now)
    except WeekNotStarted:
        raise PublicError(400, gettext("That week has not started yet.")) from None
    cadence = await cadence_get(db)
    rows = await report_period_rows(
        db,
        team_id=chosen.id,
        reps=await report_reps(db, team_id=chosen.id),
        start=start,
        end=upto,
        tz=settings.tz,
        cadence_days=cadence,
    )
    return TeamWeek(chosen, teams, week_nav(y, w, today), start, upto, rows, cadence)


async def _rep_lists(
    db: AsyncSession, tw: TeamWeek, *, rep: int, now: datetime, tz
) -> tuple[list[CustomerRow], list[VisitRow]]:
    """One rep's customers as they stood at the week's end, and their visits since it began."""
    team_id = tw.team.id
    customers = await report_customers(db, team_id=team_id, before=tw.start, owner_id=rep)
    visits = await report_visits(db, team_id=team_id, start=tw.start, end=now, user_id=rep)
    if tw.upto < now:
        moves = await report_moves(db, team_id=team_id, start=tw.start, owner_id=rep)
        customers = list(
            customers_as_of(
                customers, visits=visits, moves=moves, at=tw.upto, tz=tz, cadence_days=tw.cadence
            )
        )
    return customers, visits


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
            "start": tw.start,
            "upto": tw.upto,
            "is_current": tw.nav.is_current,
            "labels": LABELS,
            **_picker("team.page", tw.nav, today),
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
        customers, visits = await _rep_lists(db, tw, rep=rep, now=now, tz=settings.tz)
        window = {"start": tw.start, "end": tw.upto}
        ids = rep_drilldown(
            rep, what, customers, visits, **window, tz=settings.tz, cadence_days=tw.cadence
        )
        by_id = await _rows_by_id(db, tw.team.id, ids, customers)
        context = {
            "active": "team",
            "team": tw.team,
            "row": row,
            "what": what,
            "week": tw.nav.week,
            "customers": [by_id[i] for i in ids if i in by_id],
            "visits": rep_visits(rep, visits, **window) if what == "visits" else [],
            "names": await _names(db, tw.team.id, visits) if what == "visits" else {},
            "labels": LABELS,
        }
        return render(request, "pages/reports/team_list.html", context)


async def _rows_by_id(
    db: AsyncSession, team_id: int, ids: tuple[int, ...], owned: list[CustomerRow]
) -> dict[int, CustomerRow]:
    """The rows behind a drilldown: the rep's own, plus any other customer they visited."""
    by_id = {c.id: c for c in owned}
    others = [i for i in ids if i not in by_id]
    if others:
        by_id.update({c.id: c for c in await report_customers(db, team_id=team_id, ids=others)})
    return by_id


async def _names(db: AsyncSession, team_id: int, visits: list[VisitRow]) -> dict[int, str]:
    """The names of the customers a list of visits went to."""
    ids = sorted({v.customer_id for v in visits})
    return {c.id: c.name for c in await report_customers(db, team_id=team_id, ids=ids)}


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
            "labels": LABELS,
            "max_day": max((d.visits for d in report.visits_per_day), default=0),
            **_report_helpers(report),
            **_picker("report.weekly", week_nav(report.iso_year, report.iso_week, today), today),
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


def _picker(route: str, nav: WeekNav, today: date) -> dict:
    """What partials/reports/week_picker.html needs: the week, its neighbours, recent weeks."""
    y, w = parse_iso_week(nav.week)
    return {
        "picker_route": route,
        "week": nav.week,
        "prev_week": nav.prev_week,
        "next_week": nav.next_week,
        "week_options": week_options(y, w, today),
    }


def _report_helpers(report: WeeklyReport) -> dict:
    """Text helpers of the report page (shared with the PDF: one wording of a move)."""
    return {
        "move_changes": move_changes,
        "move_text": lambda c: move_change_text(c, gettext),
        "by_text": lambda name: by_text(name, gettext),
        # The customer list's "no visit in N days" behind each level's silent threshold.
        "silent_days": {lv: SILENT_CADENCE_FACTOR * d for lv, d in report.cadence_days.items()},
    }


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
