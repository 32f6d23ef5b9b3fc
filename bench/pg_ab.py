"""PostgreSQL hot paths before/after in the same run: the workers' and the database's CPU.

    .venv/bin/python -m bench.pg_ab --before DIR [--sqlite] [--workers 2] [--rounds 3]
                                    [--seconds 4] [--cells healthz,page,search,today,counter]

Starts `kehu serve --workers N` of this tree and of another source tree (`--before DIR`,
e.g. `git archive <commit> | tar -x -C DIR`) on the same database: the 100,000-customer
PostgreSQL database of `bench.run` in its cluster under bench/data/pg (started here when it
is not running; `bench.run` builds it), or with `--sqlite` the SQLite file of `bench.run`.
Each round measures on each server in turn (the order alternates between rounds) the floor
(the static CSS file of that server) and the cells of `bench.run` at 16 keep-alive clients:
the signed-in no-op `/healthz`, the rep's customer pages, the search fragment (the mixed
queries), Today and the clerk's 4-digit counter lookup. Per cell: req/s and its ratio to the
floor of the same round, p50 / p99, and CPU per request of the server's workers and of the
PostgreSQL backends (utime + stime from /proc over the cell, divided by the requests): the
two share the machine's CPUs with the client, so CPU per request is the figure that other
work on the machine disturbs least. Medians over the rounds.
"""

import argparse
import os
import statistics
from pathlib import Path
from urllib.parse import quote

from bench.common import PgCluster, Server, machine
from bench.lean_bench import TICK, _server_cpu
from bench.run import DATA, HX, ensure_sqlite, load, pick_cast

PG_DB = "bench_100000_1000000"


def _pg_ticks(cluster: PgCluster | None) -> dict[int, int]:
    return cluster.backend_cpu_ticks() if cluster else {}


def _cell(srv: Server, cluster, paths, cookies, headers, seconds: float) -> dict:
    """One closed-loop cell: rates, latencies and CPU ms per request (workers, database)."""
    cpu0, pg0 = _server_cpu(srv), _pg_ticks(cluster)
    r = load(srv.origin, paths, concurrency=16, seconds=seconds, cookies=cookies, headers=headers)
    cpu1, pg1 = _server_cpu(srv), _pg_ticks(cluster)
    n = max(1, r.requests)
    pg = sum(t - pg0.get(pid, 0) for pid, t in pg1.items()) / TICK
    return {
        "rps": r.rps,
        "p50": r.p50_ms,
        "p99": r.p99_ms,
        "errors": r.errors,
        "cpu": (cpu1 - cpu0) * 1000 / n,
        "pg": pg * 1000 / n,
    }


def main() -> None:
    """Measure this tree and the before tree in alternating rounds; print a Markdown table."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="source tree to compare")
    parser.add_argument("--sqlite", action="store_true", help="the SQLite dataset instead")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--cells", default="healthz,page,search,today,counter")
    args = parser.parse_args()
    cluster, started = None, False
    if args.sqlite:
        url = ensure_sqlite(100_000, 1_000_000, rebuild=False)[0]
        db_path = Path(url.removeprefix("sqlite:///"))
    else:
        cluster = PgCluster(DATA / "pg")
        if not cluster.running():
            cluster.start()
            started = True
        url, db_path = cluster.url(PG_DB), None
    cast = pick_cast(url)
    print(f"machine: {machine()}\nload average at start: {os.getloadavg()}", flush=True)
    step = max(1, len(cast.rep_customers) // 200)
    cells = args.cells.split(",")
    servers = {
        "before": Server(
            db_path, url=url, workers=args.workers, env={"PYTHONPATH": str(args.before.resolve())}
        ),
        "after": Server(db_path, url=url, workers=args.workers),
    }
    runs: dict[str, dict[str, list[dict]]] = {label: {} for label in servers}
    try:
        for srv in servers.values():
            srv.__enter__()
        who = {label: (s.sign_in(cast.rep), s.sign_in(cast.clerk)) for label, s in servers.items()}
        for r in range(args.rounds):
            for label in list(servers) if r % 2 == 0 else list(reversed(servers)):
                srv, (rep, clerk) = servers[label], who[label]
                plan = {
                    "floor": ([srv.static_path()], None, None),
                    "healthz": (["/healthz"], rep, None),
                    "page": ([f"/customers/{i}" for i in cast.rep_customers[::step]], rep, None),
                    "search": ([f"/customers?q={quote(q)}" for q in cast.queries], rep, HX),
                    "today": (["/"], rep, None),
                    "counter": ([f"/counter?q={d}" for d in cast.clerk_last4], clerk, HX),
                }
                for name in ("floor", *cells):
                    m = _cell(srv, cluster, *plan[name], args.seconds)
                    runs[label].setdefault(name, []).append(m)
                    print(
                        f"round {r + 1} {label:6} {name:8} {m['rps']:7.0f}/s p50 {m['p50']:6.1f}"
                        f" p99 {m['p99']:6.1f} err {m['errors']} workers {m['cpu']:.2f}"
                        f" db {m['pg']:.2f} CPU ms/req",
                        flush=True,
                    )
    finally:
        for srv in servers.values():
            srv.__exit__(None, None, None)
        if started:
            cluster.stop()
    print(f"load average at end: {os.getloadavg()}")
    med = statistics.median
    print(
        "| what | code | req/s | × floor | p50 / p99 ms | workers' CPU ms/req "
        "| database CPU ms/req | errors |\n|---|---|---:|---:|---:|---:|---:|---:|"
    )
    for name in ("floor", *cells):
        for label, found in runs.items():
            ms, floor = found[name], found["floor"]
            ratio = med(m["rps"] / f["rps"] for m, f in zip(ms, floor, strict=True))
            print(
                f"| {name} | {label} | {med(m['rps'] for m in ms):.0f} | {ratio:.4f} | "
                f"{med(m['p50'] for m in ms):.1f} / {med(m['p99'] for m in ms):.1f} | "
                f"{med(m['cpu'] for m in ms):.2f} | {med(m['pg'] for m in ms):.2f} | "
                f"{sum(m['errors'] for m in ms)} |"
            )


if __name__ == "__main__":
    main()
