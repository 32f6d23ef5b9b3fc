"""Where a hot path's CPU goes at 16 clients: the workers, PostgreSQL and the bench client.

    .venv/bin/python -m bench.cpu_split [--backends sqlite,postgresql] [--seconds 6]
                                        [--workers 2] [--cells 'customer,counter,Today']

`make bench` gives req/s as a ratio to the static floor; this says what a target would take.
It serves the bench's 100,000-customer datasets (bench/data, built by `bench.run`) with
`kehu serve --workers N` and, per cell, after a 3 s warm-up, loads it for `--seconds` with
16 keep-alive clients while it reads from /proc the CPU (user + system, all threads) of the
workers and of every `postgres` process, and its own. Each is divided by the requests
answered. With the machine's CPUs saturated, their sum is about CPUs / req/s: the budget a
request may cost for a throughput, e.g. 2 CPUs at 0.02× a 19,000/s floor = 380/s = 5.3 ms.
"""

import argparse
import os
from pathlib import Path
from urllib.parse import quote

from bench.common import PgCluster, Server, cpu_ticks, default_workers, machine
from bench.run import CONC, DATA, HX, ensure_postgres, ensure_sqlite, load, pick_cast

TICK = os.sysconf("SC_CLK_TCK")


def process_cpu(pid: int | str) -> float:
    """CPU seconds (user + system, all threads) a process has used; 0 once it is gone."""
    return cpu_ticks(int(pid)) / TICK


def postgres_cpu() -> float:
    """CPU seconds used by every running `postgres` process (server and backends)."""
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            if (entry / "comm").read_text().strip() == "postgres":
                total += process_cpu(entry.name)
        except OSError:
            continue
    return total


def own_cpu() -> float:
    """CPU seconds this process (the bench client) has used."""
    times = os.times()
    return times.user + times.system


def measure(srv: Server, name: str, paths: list[str], cookies: dict, headers, seconds: float):
    """One cell: req/s, latencies and CPU ms per request of workers, PostgreSQL, client."""
    load(srv.origin, paths, concurrency=CONC, seconds=3, cookies=cookies, headers=headers)
    pids = srv.worker_pids()
    workers0, pg0, own0 = sum(map(process_cpu, pids)), postgres_cpu(), own_cpu()
    result = load(
        srv.origin, paths, concurrency=CONC, seconds=seconds, cookies=cookies, headers=headers
    )  # fmt: skip
    per = 1000 / result.requests
    workers = (sum(map(process_cpu, pids)) - workers0) * per
    pg, own = (postgres_cpu() - pg0) * per, (own_cpu() - own0) * per
    total = workers + pg + own
    budget = len(os.sched_getaffinity(0)) * 1000 / result.rps
    print(
        f"| {name} | {result.rps:.0f} | {result.p50_ms:.0f} / {result.p99_ms:.0f} | "
        f"{workers:.2f} | {pg:.2f} | {own:.2f} | {total:.2f} | {budget:.2f} |",
        flush=True,
    )


def run(backend: str, cells: list[str], *, workers: int, seconds: float) -> None:
    """Measure the chosen cells on one backend."""
    cluster = None
    try:
        if backend == "sqlite":
            url, _meta = ensure_sqlite(100_000, 1_000_000, False)
            srv = Server(Path(url.split(":///", 1)[1]), workers=workers)
        else:
            cluster = PgCluster(DATA / "pg").start()
            url, _meta = ensure_postgres(cluster, 100_000, 1_000_000, False)
            srv = Server(url=url, workers=workers)
        cast = pick_cast(url)
        with srv:
            rep, clerk = srv.sign_in(cast.rep), srv.sign_in(cast.clerk)
            step = max(1, len(cast.rep_customers) // 200)
            pages = [f"/customers/{i}" for i in cast.rep_customers[::step]]
            search = [f"/customers?q={quote(q)}" for q in cast.queries]
            lookups = [f"/counter?q={d}" for d in cast.clerk_last4]
            plan = {
                "customer": ("customer page (rep)", pages, rep, None),
                "search": ("search fragment (rep)", search, rep, HX),
                "Today": ("Today (rep)", ["/"], rep, None),
                "counter": ("counter lookup (clerk)", lookups, clerk, HX),
            }
            print(f"\n{backend}, {workers} workers, {CONC} clients, {seconds:g} s per cell\n")
            print("| cell | req/s | p50 / p99 ms | workers ms/req | PostgreSQL ms/req | client "
                  "ms/req | sum | CPUs × 1000 / req/s |")  # fmt: skip
            print("|---|---:|---:|---:|---:|---:|---:|---:|")
            for key in cells:
                name, paths, cookies, headers = plan[key]
                measure(srv, name, paths, cookies, headers, seconds)
    finally:
        if cluster is not None:
            cluster.stop()


def main() -> None:
    """Parse the command line and measure."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--cells", default="customer,search,Today,counter")
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--workers", type=int, default=default_workers())
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {os.getloadavg()[0]:.2f}")
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        if backend == "postgresql" and (why := PgCluster.unavailable()):
            print(f"PostgreSQL skipped: {why}")
            continue
        run(backend, [c.strip() for c in args.cells.split(",")], workers=args.workers,
            seconds=args.seconds)  # fmt: skip


if __name__ == "__main__":
    main()
