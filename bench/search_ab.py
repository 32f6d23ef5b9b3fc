"""Search fragment and counter lookup, before/after in the same run (issue 17 point 3).

    .venv/bin/python -m bench.search_ab --before DIR [--url URL] [--workers 1 2]
                                        [--conc 16] [--rounds 3] [--seconds 4]

Starts `kehu serve --workers N` of this tree and of another source tree (`--before DIR`,
e.g. `git archive <commit> | tar -x -C DIR`), both on the same database: the 100,000-customer
SQLite file of `bench.run` (bench/data/bench-100k.db, built when missing) or `--url` (e.g. a
PostgreSQL copy of it made with `kehu db copy`). Each round measures, on each server in
turn (the order alternates between rounds): the floor (the static CSS file of that server),
the search fragment with the bench's mixed queries (as `bench.run`) and the counter lookup
(4 digits, as `bench.run`), at `--conc` keep-alive clients. Per cell: req/s, its ratio to
that server's floor of the same round, p50 / p99, and the server's CPU time per request
(utime + stime of the server and its workers from /proc over the cell, divided by the
requests), which the client and other work on the machine disturb far less than req/s.
Medians over the rounds.
"""

import argparse
import os
import time
from pathlib import Path
from urllib.parse import quote

from bench.common import Server, machine
from bench.lean_bench import Sample, _median, _server_cpu
from bench.run import HX, ensure_sqlite, load, pick_cast

CELLS = ("floor: static app.css", "search fragment (rep)", "counter lookup (clerk)")


def _round(srv: Server, cast, cookies: dict, *, conc: int, seconds: float) -> dict[str, Sample]:
    """Measure the three cells once on one server."""
    paths = {
        CELLS[0]: ([srv.static_path()], None, None),
        CELLS[1]: ([f"/customers?q={quote(q)}" for q in cast.queries], cookies["rep"], HX),
        CELLS[2]: ([f"/counter?q={d}" for d in cast.clerk_last4], cookies["clerk"], HX),
    }
    out: dict[str, Sample] = {}
    floor = None
    for name, (urls, cookie, headers) in paths.items():
        before = _server_cpu(srv)
        result = load(
            srv.origin, urls, concurrency=conc, seconds=seconds, cookies=cookie, headers=headers
        )
        used = _server_cpu(srv) - before
        floor = floor or result
        out[name] = Sample(
            rps=result.rps,
            floor_rps=floor.rps,
            cpu_ms=used * 1000 / result.requests if result.requests else 0.0,
            errors=result.errors,
            p50_ms=result.p50_ms,
            p99_ms=result.p99_ms,
        )
    return out


def table(runs: dict[str, list[dict[str, Sample]]], workers: int) -> list[str]:
    """One Markdown row per cell and server: medians over the rounds."""
    lines = []
    for name in CELLS:
        for label, rounds in runs.items():
            s = [r[name] for r in rounds]
            ratio = _median(x.rps / x.floor_rps for x in s if x.floor_rps)
            p50, p99 = _median(x.p50_ms for x in s), _median(x.p99_ms for x in s)
            errors = sum(x.errors for x in s)
            lines.append(
                f"| {name} | {workers} | {label} | {_median(x.rps for x in s):.0f} | "
                f"{ratio:.4f} | {p50:.1f} / {p99:.1f} ({p99 / p50 if p50 else 0:.1f}×) | "
                f"{_median(x.cpu_ms for x in s):.2f} | {errors} |"
            )
    return lines


def main() -> None:
    """Measure this tree and the before tree in alternating rounds, per worker count."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="source tree to compare")
    parser.add_argument("--url", help="database URL (default: the SQLite bench dataset)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--conc", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=float, default=4.0)
    args = parser.parse_args()
    url = args.url or ensure_sqlite(100_000, 1_000_000, rebuild=False)[0]
    db_path = Path(url.removeprefix("sqlite:///")) if url.startswith("sqlite") else None
    cast = pick_cast(url)
    print(f"machine: {machine()}")
    print(f"load average at start: {os.getloadavg()}", flush=True)
    started = time.perf_counter()
    lines = [
        "| what | workers | code | req/s | × floor | p50 / p99 ms | CPU ms/req | errors |",
        "|---|---:|---|---:|---:|---:|---:|---:|",
    ]
    for workers in args.workers:
        env = {"PYTHONPATH": str(args.before.resolve())}
        servers = {
            "before": Server(db_path, url=url, workers=workers, env=env),
            "after": Server(db_path, url=url, workers=workers),
        }
        runs: dict[str, list[dict[str, Sample]]] = {label: [] for label in servers}
        for srv in servers.values():
            srv.__enter__()
        try:
            cookies = {
                label: {"rep": srv.sign_in(cast.rep), "clerk": srv.sign_in(cast.clerk)}
                for label, srv in servers.items()
            }
            for r in range(args.rounds):
                for label in list(servers) if r % 2 == 0 else list(reversed(servers)):
                    sample = _round(
                        servers[label], cast, cookies[label], conc=args.conc, seconds=args.seconds
                    )
                    runs[label].append(sample)
                    print(
                        f"{workers} worker(s), round {r + 1}, {label}: "
                        + ", ".join(
                            f"{k.split(' (')[0].split(':')[0]} {s.rps:.0f}/s {s.cpu_ms:.2f} ms"
                            for k, s in sample.items()
                        ),
                        flush=True,
                    )
        finally:
            for srv in servers.values():
                srv.__exit__(None, None, None)
        lines += table(runs, workers)
    print(f"load average at end: {os.getloadavg()}")
    print(
        f"{args.rounds} rounds × {args.seconds:g} s per cell at {args.conc} clients, "
        f"{time.perf_counter() - started:.0f} s; medians over the rounds:\n"
    )
    print("\n".join(lines))


if __name__ == "__main__":
    main()
