"""A leaner request (issue 17.3): server CPU per request and hot-path throughput, A/B.

    .venv/bin/python -m bench.lean_bench [--before DIR] [--rounds 5] [--seconds 3]
                                         [--conc 1] [--customers N --visits M]
                                         [--workers N] [--only 'customer,Today']
                                         [--postgres]
    .venv/bin/python -m bench.lean_bench --compression [--rounds 200]

Starts one `kehu serve` process of this tree, and with `--before DIR` a second one of
another source tree (e.g. `git archive <commit> | tar -x -C DIR`), both on the same
database file (bench/data/bench-100k.db, built by `bench.run` when missing). Each round
measures, for each server in turn (the order alternates between rounds, so neither always
goes first): the floor (the static CSS file of that server), a signed-in `/healthz` (the
whole stack around `SELECT 1`: the "no-op request"), the search fragment, a customer page,
Today, the counter lookup and recording a visit (POST). Per cell it records req/s, its
ratio to that server's floor of the same round, and the server's own CPU time per request
(utime + stime of the process from /proc over the cell, divided by the requests), which
the client's CPU and other work on the machine disturb far less than req/s does.
With `--postgres` both servers use the same dataset in the bench's PostgreSQL cluster
(bench/data/pg, started and built by `bench.run`'s machinery); the database server's own
CPU is then not in the figures.

It prints the median of each over the rounds (and the spread of the ratio), so a noisy
round on a shared machine does not decide the result.

`--compression` instead fetches a rep's customer page, Today, the visit answer's size class
(one timeline item) and a search fragment uncompressed from this tree's server and prints,
per brotli quality 1-5 and gzip 1/6, the bytes and the CPU µs one response costs the
compression middleware as Litestar runs it (a new compressor, process + flush + finish;
median of `--rounds` runs).
"""

import argparse
import gzip
import os
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import brotli
import httpx

from bench.common import PgCluster, Server, count_idempotency_keys, cpu_ticks, machine, sql
from bench.run import DATA, HX, ensure_postgres, ensure_sqlite, load, pick_cast, record_visits

TICK = os.sysconf("SC_CLK_TCK")


def _uptime() -> str:
    """The load averages, as `uptime` shows them."""
    one, five, fifteen = os.getloadavg()
    return f"load average: {one:.2f}, {five:.2f}, {fifteen:.2f}"


@dataclass
class Sample:
    """One cell of one round on one server."""

    rps: float
    floor_rps: float
    cpu_ms: float
    errors: int
    p50_ms: float
    p99_ms: float


def _server_cpu(srv: Server) -> float:
    """CPU seconds of the server: the process, and every worker when there are several."""
    pids = {srv.proc.pid, *srv.worker_pids()}
    return sum(cpu_ticks(pid) for pid in pids) / TICK


def _cell(srv: Server, run) -> tuple[object, float]:
    """Run a load function; return its result and the server's CPU ms per request."""
    before = _server_cpu(srv)
    result = run()
    used = _server_cpu(srv) - before
    return result, (used * 1000 / result.requests) if result.requests else 0.0


def measure(
    srv: Server, cast, cookies: dict, *, conc: int, seconds: float, only: tuple[str, ...] = ()
) -> dict[str, Sample]:
    """One round of every cell against one server."""
    rep, clerk = cookies["rep"], cookies["clerk"]
    search = [f"/customers?q={quote(q)}" for q in cast.queries]
    pages = [
        f"/customers/{i}" for i in cast.rep_customers[:: max(1, len(cast.rep_customers) // 200)]
    ]
    lookups = [f"/counter?q={d}" for d in cast.clerk_last4]
    floor, floor_cpu = _cell(
        srv, lambda: load(srv.origin, [srv.static_path()], concurrency=conc, seconds=seconds)
    )
    cells = {
        "floor: static app.css": lambda: floor,
        "/healthz, signed in (no-op)": lambda: load(
            srv.origin, ["/healthz"], concurrency=conc, seconds=seconds, cookies=rep
        ),
        "search fragment (rep)": lambda: load(
            srv.origin, search, concurrency=conc, seconds=seconds, cookies=rep, headers=HX
        ),
        "customer page (rep)": lambda: load(
            srv.origin, pages, concurrency=conc, seconds=seconds, cookies=rep
        ),
        "Today (rep)": lambda: load(
            srv.origin, ["/"], concurrency=conc, seconds=seconds, cookies=rep
        ),
        "counter lookup (clerk)": lambda: load(
            srv.origin, lookups, concurrency=conc, seconds=seconds, cookies=clerk, headers=HX
        ),
    }
    out: dict[str, Sample] = {}
    for name, run in cells.items():
        if only and not name.startswith("floor") and not name.startswith(only):
            continue
        if name.startswith("floor"):
            result, cpu = floor, floor_cpu
        else:
            result, cpu = _cell(srv, run)
        out[name] = Sample(result.rps, floor.rps, cpu, result.errors, result.p50_ms, result.p99_ms)
    if only and not "record visit".startswith(only):
        return out
    acked: list[str] = []

    def visits():
        result, tally = record_visits(
            srv, rep, cast.rep_customers, concurrency=conc, seconds=seconds, kill_at=None
        )
        acked.extend(tally.acked)
        return result

    result, cpu = _cell(srv, visits)
    missing, _doubled = count_idempotency_keys(srv.url, acked)  # either backend
    errors = result.errors + missing  # an acknowledged visit missing is an error
    out["record visit (rep, POST)"] = Sample(
        result.rps, floor.rps, cpu, errors, result.p50_ms, result.p99_ms
    )
    return out


def _median(values) -> float:
    """The median of some numbers, 0 when there are none."""
    values = list(values)
    return statistics.median(values) if values else 0.0


def report(runs: dict[str, list[dict[str, Sample]]]) -> list[str]:
    """The median table (one block per server), and after/before when both ran."""
    labels = list(runs)
    names = list(next(iter(runs.values()))[0])
    lines = [
        "| what | "
        + " | ".join(
            f"{lab}: req/s | {lab}: × floor (min–max) | {lab}: CPU ms/req | {lab}: p99 / p50"
            for lab in labels
        )
        + (" | × floor after/before | CPU after/before |" if len(labels) == 2 else " |"),
        "|---|" + "---:|" * (4 * len(labels) + (2 if len(labels) == 2 else 0)),
    ]
    for name in names:
        cols = []
        med: dict[str, tuple[float, float]] = {}
        for lab in labels:
            samples = [r[name] for r in runs[lab]]
            ratios = [s.rps / s.floor_rps for s in samples if s.floor_rps]
            rps, cpu, ratio = (
                _median([s.rps for s in samples]),
                _median([s.cpu_ms for s in samples]),
                _median(ratios),
            )
            med[lab] = (ratio, cpu)
            errors = sum(s.errors for s in samples)
            spread = f"{min(ratios):.4f}–{max(ratios):.4f}" if ratios else "-"
            p50, p99 = _median([s.p50_ms for s in samples]), _median([s.p99_ms for s in samples])
            cols += [
                f"{rps:.0f}" + (f" ({errors} errors)" if errors else ""),
                f"{ratio:.4f} ({spread})",
                f"{cpu:.2f}",
                f"{p99 / p50:.1f}× ({p50:.0f} / {p99:.0f} ms)" if p50 else "-",
            ]
        if len(labels) == 2:
            (rb, cb), (ra, ca) = med[labels[0]], med[labels[1]]
            cols += [f"{ra / rb:.2f}×" if rb else "-", f"{ca / cb:.2f}×" if cb else "-"]
        lines.append(f"| {name} | " + " | ".join(cols) + " |")
    return lines


# What the compression table compares: Litestar's brotli facade (a compressor per response,
# text mode, 22-bit window) at qualities 1-5, and its gzip fallback at levels 1 and 6.
CODECS = [(f"br {q}", "br", q) for q in range(1, 6)] + [
    ("gzip 1", "gzip", 1),
    ("gzip 6", "gzip", 6),
]


def compress_once(codec: str, level: int, body: bytes) -> bytes:
    """Compress one response body the way the compression middleware does."""
    if codec == "br":
        c = brotli.Compressor(quality=level, mode=brotli.MODE_TEXT, lgwin=22, lgblock=0)
        return c.process(body) + c.flush() + c.finish()
    return gzip.compress(body, compresslevel=level)


def compression_table(bodies: dict[str, bytes], runs: int) -> list[str]:
    """Bytes and median CPU µs per response body and codec, as a Markdown table."""
    lines = [
        "| body (raw) | " + " | ".join(name for name, _c, _l in CODECS) + " |",
        "|---|" + "---:|" * len(CODECS),
    ]
    for label, body in bodies.items():
        cols = []
        for _name, codec, level in CODECS:
            times = []
            for _ in range(runs):
                t0 = time.process_time_ns()
                out = compress_once(codec, level, body)
                times.append((time.process_time_ns() - t0) / 1000)
            cols.append(f"{len(out):,} B, {statistics.median(times):.0f} µs")
        lines.append(f"| {label} ({len(body) / 1024:.1f} KB) | " + " | ".join(cols) + " |")
    return lines


def fetch_bodies(srv: Server, cast, rep: dict) -> dict[str, bytes]:
    """Uncompressed bodies of the pages the table is about, as the rep receives them."""
    plain = {"Accept-Encoding": "identity"}
    [(visit_id,)] = sql(
        srv.url,
        "SELECT id FROM visit WHERE customer_id = :c ORDER BY id DESC LIMIT 1",
        c=cast.rep_customers[0],
    )
    with httpx.Client(base_url=srv.origin, cookies=rep, headers=plain, timeout=30) as client:
        pages = {
            "customer page": client.get(f"/customers/{cast.rep_customers[0]}"),
            "Today": client.get("/"),
            "search fragment": client.get(
                f"/customers?q={quote(cast.queries[0])}", headers={**plain, **HX}
            ),
            "visit list fragment": client.get(
                f"/customers/{cast.rep_customers[0]}/visits", headers={**plain, **HX}
            ),
            # The size class of a visit POST's answer: one timeline item.
            "one visit item": client.get(f"/visits/{visit_id}", headers={**plain, **HX}),
        }
    for label, response in pages.items():
        if response.status_code != 200 or response.headers.get("content-encoding"):
            raise RuntimeError(f"{label}: {response.status_code} {response.headers}")
    return {label: response.content for label, response in pages.items()}


def main() -> None:
    """Measure this tree (and another, with --before) in interleaved rounds."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, help="source tree of the code to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--conc", type=int, default=1)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--only", default="", help="comma-separated starts of cell names, e.g. 'customer,Today'"
    )
    parser.add_argument(
        "--compression", action="store_true", help="print the brotli/gzip bytes-vs-CPU table"
    )
    parser.add_argument(
        "--postgres", action="store_true", help="the dataset in the bench's PostgreSQL cluster"
    )
    args = parser.parse_args()
    only = tuple(w for w in args.only.split(",") if w)
    print(f"machine: {machine()}")
    print(f"uptime at start: {_uptime()}", flush=True)
    cluster = None
    if args.postgres:
        if why := PgCluster.unavailable():
            raise SystemExit(f"PostgreSQL unavailable: {why}")
        cluster = PgCluster(DATA / "pg").start()
        url, _meta = ensure_postgres(cluster, args.customers, args.visits, rebuild=False)
        where: dict = {"url": url}
    else:
        url, _meta = ensure_sqlite(args.customers, args.visits, rebuild=False)
        where = {"db_path": Path(url.split(":///", 1)[1])}
    cast = pick_cast(url)
    if args.compression:
        with Server(**where) as srv:
            bodies = fetch_bodies(srv, cast, srv.sign_in(cast.rep))
        print("\n".join(compression_table(bodies, max(args.rounds, 50))))
        print(f"uptime at end: {_uptime()}")
        return
    servers: dict[str, Server] = {}
    if args.before:
        env = {"PYTHONPATH": str(args.before.resolve())}
        servers["before"] = Server(**where, env=env, workers=args.workers)
    servers["after" if args.before else "this tree"] = Server(**where, workers=args.workers)
    started = time.perf_counter()
    runs: dict[str, list[dict[str, Sample]]] = {label: [] for label in servers}
    for srv in servers.values():
        srv.__enter__()
    try:
        cookies = {
            label: {"rep": srv.sign_in(cast.rep), "clerk": srv.sign_in(cast.clerk)}
            for label, srv in servers.items()
        }
        for r in range(args.rounds):
            order = list(servers) if r % 2 == 0 else list(reversed(servers))
            for label in order:
                sample = measure(
                    servers[label],
                    cast,
                    cookies[label],
                    conc=args.conc,
                    seconds=args.seconds,
                    only=only,
                )
                runs[label].append(sample)
                print(
                    f"round {r + 1} {label}: "
                    + ", ".join(
                        f"{k.split(' (')[0]} {s.rps / s.floor_rps:.4f}× {s.cpu_ms:.2f} ms"
                        for k, s in sample.items()
                        if s.floor_rps
                    ),
                    flush=True,
                )
    finally:
        for srv in servers.values():
            srv.__exit__(None, None, None)
        if cluster is not None:
            cluster.stop()
    print(f"uptime at end: {_uptime()}")
    print(
        f"{args.rounds} rounds × {args.seconds:g} s per cell at {args.conc} client(s), "
        f"{time.perf_counter() - started:.0f} s; medians over the rounds:\n"
    )
    print("\n".join(report(runs)))


if __name__ == "__main__":
    main()
