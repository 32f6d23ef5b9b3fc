"""The weekly report's pool counts: claims, releases and returns per rep."""

from dataclasses import replace

from sqlmodel.ext.asyncio.session import AsyncSession

from db.pool import pool_counts_by_user
from domain.report import PoolRow, WeeklyReport


async def report_with_pool(db: AsyncSession, *, team_id: int, report: WeeklyReport) -> WeeklyReport:
    """The report with one pool row per rep (claims, releases, returns), in the report's order."""
    counts = await pool_counts_by_user(db, team_id=team_id, start=report.start, end=report.end)
    zero = {"claim": 0, "release": 0, "return": 0}
    rows = []
    for r in report.reps:
        c = counts.get(r.rep_id, zero)
        rows.append(PoolRow(r.rep_name, c["claim"], c["release"], c["return"]))
    return replace(report, pool=tuple(rows))


async def pool_weekly_context(db: AsyncSession, *, team_id: int, report: WeeklyReport) -> dict:
    """The page's pool table rows (name, counts); counted here unless the report has them."""
    if not report.pool and report.reps:
        report = await report_with_pool(db, team_id=team_id, report=report)
    rows = [
        (p.rep_name, {"claim": p.claims, "release": p.releases, "return": p.returns})
        for p in report.pool
    ]
    return {"pool_rows": rows}
