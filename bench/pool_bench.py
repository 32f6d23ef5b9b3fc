"""Public pool speed: the manager's filtered list and `kehu pool reclaim` on the bench database.

Usage: python -m bench.pool_bench [--customers 100000] [--visits 1000000] [--runs 20]

Uses (and builds once, like `make bench`) the dataset in bench/data. Times the customer
list filtered by owner + level A + overdue for the manager of the biggest team, in-process
through the db function the page uses (p50/p95 of `--runs`), then `kehu pool reclaim
--dry-run` and the real run on a copy of the database (time and customers returned), so the
shared dataset keeps its owners.
"""

import argparse
import asyncio
import shutil
import sqlite3
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import machine
from bench.run import ensure_db
from db.customer_filter import customer_list_filtered
from db.engine import make_engine, make_sessionmaker
from domain.customer_filter import filter_parse
from domain.enums import Role
from domain.users import Actor
from web.pool.reclaim import reclaim_run

TZ = ZoneInfo("Asia/Shanghai")


def _cast(path: Path) -> tuple[Actor, int, int]:
    """The manager of the biggest team, the rep owning most customers there, the team size."""
    con = sqlite3.connect(path)
    team, size = con.execute(
        "SELECT team_id, count(*) FROM customer GROUP BY team_id ORDER BY 2 DESC LIMIT 1"
    ).fetchone()
    manager = con.execute(
        "SELECT id, name FROM user WHERE role = 'manager' AND team_id = ? LIMIT 1", (team,)
    ).fetchone()
    rep = con.execute(
        "SELECT owner_id FROM customer WHERE team_id = ? AND owner_id IS NOT NULL"
        " GROUP BY owner_id ORDER BY count(*) DESC LIMIT 1",
        (team,),
    ).fetchone()[0]
    con.close()
    actor = Actor(id=manager[0], name=manager[1], role=Role.MANAGER, team_id=team)
    return actor, rep, size


async def _filtered(path: Path, actor: Actor, rep: int, runs: int) -> tuple[list[float], int]:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    maker = make_sessionmaker(engine)
    filt, _ = filter_parse({"owner": str(rep), "level": "A", "due": "overdue"})
    times, total = [], 0
    now = datetime.now(UTC)
    for _ in range(runs):
        async with maker() as db:
            started = time.perf_counter()
            page = await customer_list_filtered(
                db, actor=actor, filt=filt, today=now.astimezone(TZ).date(), now=now, tz=TZ
            )
            times.append((time.perf_counter() - started) * 1000)
            total = page.total
    await engine.dispose()
    return times, total


async def _reclaim(path: Path, dry_run: bool) -> tuple[float, int | None]:
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    started = time.perf_counter()
    n = await reclaim_run(make_sessionmaker(engine), now=datetime.now(UTC), tz=TZ, dry_run=dry_run)
    took = time.perf_counter() - started
    await engine.dispose()
    return took, n


def main() -> None:
    """Run the pool bench and print its figures."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    path, _meta = ensure_db(args.customers, args.visits, False)
    actor, rep, size = _cast(path)
    times, total = asyncio.run(_filtered(path, actor, rep, args.runs))
    times.sort()
    p95 = times[min(len(times) - 1, int(len(times) * 0.95))]
    print(
        f"filtered list (manager of a {size:,}-customer team; owner + level A + overdue):"
        f" {total} matches, p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms"
    )
    with tempfile.TemporaryDirectory() as tmp:
        copy = Path(tmp) / "pool.db"
        shutil.copy(path, copy)
        for suffix in ("-wal", "-shm"):
            if Path(str(path) + suffix).exists():
                shutil.copy(str(path) + suffix, str(copy) + suffix)
        dry_s, would = asyncio.run(_reclaim(copy, True))
        print(f"kehu pool reclaim --dry-run: would return {would} customers in {dry_s:.2f} s")
        real_s, returned = asyncio.run(_reclaim(copy, False))
        print(f"kehu pool reclaim: returned {returned} customers in {real_s:.2f} s")
        again_s, again = asyncio.run(_reclaim(copy, False))
        print(f"kehu pool reclaim (again): returned {again} customers in {again_s:.2f} s")


if __name__ == "__main__":
    main()
