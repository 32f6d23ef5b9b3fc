"""The weekly report's pool counts: claims, releases and returns per rep."""

from sqlmodel.ext.asyncio.session import AsyncSession

from db.pool import pool_counts_by_user
from domain.report import WeeklyReport


async def pool_weekly_context(db: AsyncSession, *, team_id: int, report: WeeklyReport) -> dict:
    """One row per rep of the report (name, claims, releases, returns), in the report's order."""
    counts = await pool_counts_by_user(db, team_id=team_id, start=report.start, end=report.end)
    zero = {"claim": 0, "release": 0, "return": 0}
    rows = [(r.rep_name, counts.get(r.rep_id, zero)) for r in report.reps]
    return {"pool_rows": rows}
