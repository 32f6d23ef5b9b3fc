"""Counter lookup server time at scale: each keystroke's request handled in-process.

Usage: python -m bench.counter_bench [--db bench/data/bench-100k.db] [--rounds 200]

Measures, on the 100k-customer database built by `bench.run`, the time the app spends on
one `GET /counter?q=...` (HTMX fragment, as a clerk) from request to last byte,
in-process (no network, no client CPU): the "server time" of a keystroke. Also reports the
share spent in the search query itself. Prints p50/p95/p99 per query kind.
"""

import argparse
import asyncio
import random
import sqlite3
import statistics
import time
from pathlib import Path

from litestar.testing import AsyncTestClient

from bench.common import ROOT, machine, sign_in
from db.search import customer_search
from web.app import create_app
from web.core.settings import load_settings


def _pct(values: list[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _clerk_and_queries(db_path: Path, rng: random.Random) -> tuple[int, dict[str, list[str]]]:
    """Pick the clerk of the busiest store and realistic keystroke queries for it."""
    con = sqlite3.connect(db_path)
    clerk, team = con.execute(
        "select u.id, u.team_id from user u join customer c on c.team_id = u.team_id"
        " where u.role = 'clerk' group by u.id order by count(*) desc limit 1"
    ).fetchone()
    rows = con.execute(
        "select phone, name, name_initials from customer where team_id = ? limit 2000", (team,)
    ).fetchall()
    con.close()
    queries = {
        "2 digits": [p[-2:] for p, _n, _i in rng.sample(rows, 50)],
        "3 digits": [p[-3:] for p, _n, _i in rng.sample(rows, 50)],
        "last 4": [p[-4:] for p, _n, _i in rng.sample(rows, 50)],
        "full phone": [p for p, _n, _i in rng.sample(rows, 50)],
        "name 1 char": [n[:1] for _p, n, _i in rng.sample(rows, 50)],
        "pinyin initials": [i[:2] for _p, _n, i in rng.sample(rows, 50) if i],
    }
    return clerk, queries


async def _run(db_path: Path, rounds: int) -> list[str]:
    """Time lookups in-process and return the report lines."""
    rng = random.Random(3)
    clerk, queries = _clerk_and_queries(db_path, rng)
    cookie = sign_in(db_path, clerk)
    settings = load_settings(
        {
            "KEHU_DATABASE_URL": f"sqlite:///{db_path}",
            "KEHU_SECRET_KEY": "bench-secret-" + "z" * 40,
            "KEHU_ORIGIN": "http://localhost:8000",
        },
        workdir=ROOT / "bench" / "data",
    )
    app = create_app(settings)
    lines = [
        "| query kind | requests | p50 ms | p95 ms | p99 ms | search query p50 ms |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as client:
        client.cookies.update(cookie)
        headers = {"HX-Request": "true"}
        await client.get("/counter?q=1234", headers=headers)  # warm caches
        from domain.enums import Role
        from domain.users import Actor

        con = sqlite3.connect(db_path)
        team = con.execute("select team_id from user where id = ?", (clerk,)).fetchone()[0]
        con.close()
        actor = Actor(id=clerk, name="clerk", role=Role.CLERK, team_id=team, team_is_store=True)
        for kind, qs in queries.items():
            times, search_times = [], []
            for i in range(rounds):
                q = qs[i % len(qs)]
                started = time.perf_counter()
                response = await client.get("/counter", params={"q": q}, headers=headers)
                times.append((time.perf_counter() - started) * 1000)
                assert response.status_code == 200, response.text[:200]
                async with app.state.sessionmaker() as db:
                    started = time.perf_counter()
                    await customer_search(db, actor=actor, q=q, limit=12)
                    search_times.append((time.perf_counter() - started) * 1000)
            lines.append(
                f"| {kind} | {len(times)} | {statistics.median(times):.1f} | "
                f"{_pct(times, 95):.1f} | {_pct(times, 99):.1f} | "
                f"{statistics.median(search_times):.1f} |"
            )
    return lines


def main() -> None:
    """Run the counter lookup benchmark and print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--db", type=Path, default=ROOT / "bench" / "data" / "bench-100k.db")
    parser.add_argument("--rounds", type=int, default=200)
    args = parser.parse_args()
    if not args.db.exists():
        raise SystemExit(f"{args.db} does not exist: run `make bench` first to build it")
    customers = sqlite3.connect(args.db).execute("select count(*) from customer").fetchone()[0]
    print(f"Counter lookup, in-process server time; {customers} customers; {machine()}")
    for line in asyncio.run(_run(args.db, args.rounds)):
        print(line)


if __name__ == "__main__":
    main()
