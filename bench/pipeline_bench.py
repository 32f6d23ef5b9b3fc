"""Pipeline board for the manager of the largest team, in process, against a one-row floor.

    .venv/bin/python -m bench.pipeline_bench [--db bench/data/bench-100k.db] [--rounds 20]

Counts the SQL statements one board costs (the totals and the cards) and times it, next to
the same session answering `SELECT 1` (the floor: one round trip through SQLAlchemy and
aiosqlite), so the ratio says what the board costs beyond the plumbing.
"""

import argparse
import asyncio
import statistics
import time
from pathlib import Path

from sqlalchemy import event, func, select, text

from db.engine import make_engine, make_sessionmaker
from db.models import Customer, User
from db.sales import PipelineFilter, pipeline_cards, pipeline_totals
from db.types import utcnow
from domain.enums import Role
from domain.sales import DEFAULT_STUCK_DAYS
from domain.users import Actor

ROOT = Path(__file__).resolve().parent.parent


async def _largest_team_manager(db) -> tuple[Actor, int]:
    """The manager of the team with the most customers, and that team's customer count."""
    team_id, count = (
        await db.execute(
            select(Customer.team_id, func.count())
            .group_by(Customer.team_id)
            .order_by(func.count().desc())
            .limit(1)
        )
    ).one()
    user = (
        await db.execute(
            select(User).where(User.team_id == team_id, User.role == Role.MANAGER).limit(1)
        )
    ).scalar_one()
    return Actor(id=user.id, name=user.name, role=Role.MANAGER, team_id=team_id), count


async def run(db_path: Path, rounds: int) -> None:
    """Time the board and the floor; print statements, medians and the ratio."""
    engine = make_engine(f"sqlite+aiosqlite:///{db_path}")
    sessionmaker = make_sessionmaker(engine)
    statements: list[str] = []
    event.listen(engine.sync_engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    async with sessionmaker() as db:
        boss, customers = await _largest_team_manager(db)
        board, floor = [], []
        for i in range(rounds + 2):
            t0 = time.perf_counter()
            await db.execute(text("SELECT 1"))
            t1 = time.perf_counter()
            statements.clear()
            totals = await pipeline_totals(
                db,
                actor=boss,
                filters=PipelineFilter(),
                stuck_days=DEFAULT_STUCK_DAYS,
                now=utcnow(),
            )
            cards = await pipeline_cards(db, actor=boss, filters=PipelineFilter())
            t2 = time.perf_counter()
            if i >= 2:  # the first rounds warm SQLite's page cache
                floor.append(t1 - t0)
                board.append(t2 - t1)
        used = len(statements)
    await engine.dispose()
    on_board = sum(t.count for t in totals)
    med_board, med_floor = statistics.median(board) * 1000, statistics.median(floor) * 1000
    print(f"team: {customers} customers, {on_board} on the board, {len(cards)} cards shown")
    print(f"statements per board: {used}")
    print(f"floor (SELECT 1): median {med_floor:.2f} ms")
    p95 = sorted(board)[int(len(board) * 0.95) - 1] * 1000
    print(f"board: median {med_board:.1f} ms, p95 {p95:.1f} ms")
    print(f"ratio board / floor: {med_board / med_floor:.0f}x")


def main() -> None:
    """Parse the arguments and run."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "data" / "bench-100k.db")
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    asyncio.run(run(args.db, args.rounds))


if __name__ == "__main__":
    main()
