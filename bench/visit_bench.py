"""Visit recording throughput: 16 phones tapping outcomes at once against a real server.

    .venv/bin/python -m bench.visit_bench [--customers 10000] [--visits 100000]
                                          [--seconds 10] [--concurrency 16] [--rebuild]

1. Builds (or reuses) out/bench/visits-<customers>-<visits>.db with `db.demo.seed_demo`
   (the same loader as `kehu demo`).
2. Starts ONE `kehu serve` on 127.0.0.1 and signs in the reps of the first team.
3. Closed loop: `--concurrency` clients each POST a visit exactly as the two-tap panel
   does (HTMX, CSRF header, a fresh idempotency key, device time, a location near the
   customer), wait for the swapped timeline, and tap again, for `--seconds`. Then the
   same at concurrency 1 for reference.
4. Duplicate bursts: the same key sent by 16 clients at once, 50 times: each must store
   exactly one row and every client must get the same visit back.
5. Counts rows: every acknowledged key must be in the database and the table must have
   grown by exactly the number of acknowledged visits (nothing lost, nothing doubled).

A/B with several workers (issue 17), this tree against another source tree:

    .venv/bin/python -m bench.visit_bench --ab --before /tmp/y-before --workers 1,2
                                          [--backend sqlite|postgresql] [--rounds 2]
                                          [--seconds 6]

For each round, each worker count and each tree in turn (the order of the trees
alternates), starts `kehu serve --workers N` on the same data (bench/data/bench-100k.db,
or a database of the bench's own PostgreSQL cluster), measures the floor (the static CSS
file, 16 clients) and then 16 phones posting visits (`bench.run.record_visits`, the lean
HTTP/1.1 loop), and records visits/s, its ratio to the floor, the workers' CPU time per
visit (utime + stime from /proc over the cell) and lost / doubled keys. Prints the medians.
"""

import argparse
import asyncio
import json
import random
import re
import shlex
import sqlite3
import statistics
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.common import ROOT, LoadResult, Server, _percentile, machine, run_load, sign_in

OUT = ROOT / "out" / "bench"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
SECTION = "## Visit recording"
CSRF_RE = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')
VISIT_ID_RE = re.compile(r'<li id="visit-(\d+)"')
HX = {"HX-Request": "true"}
OUTCOMES = ["met_interested", "met_not_now", "not_met", "called", "message"]
TARGET_PER_S = 300.0


def ensure_db(customers: int, visits: int, rebuild: bool) -> tuple[Path, float]:
    """Build the dataset unless it exists; return its path and how long the build took."""
    from db.demo import seed_demo
    from db.migrate import upgrade

    path = OUT / f"visits-{customers}-{visits}.db"
    meta = path.with_suffix(".json")
    url = f"sqlite:///{path}"
    if path.exists() and meta.exists() and not rebuild:
        upgrade(url)
        return path, json.loads(meta.read_text())["seconds"]
    OUT.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    t0 = time.perf_counter()
    upgrade(url)
    print(seed_demo(url, customers=customers, visits=visits), flush=True)
    took = time.perf_counter() - t0
    meta.write_text(json.dumps({"seconds": took}))
    return path, took


@dataclass
class Rep:
    """A signed-in rep and the customers they may record visits on."""

    user_id: int
    cookies: dict[str, str]
    customers: list[tuple[int, float | None, float | None]]


def reps_of_a_team(path: Path, limit: int = 16) -> list[Rep]:
    """The reps (with customers) of the team with the most reps, each signed in."""
    con = sqlite3.connect(path)
    try:
        team = con.execute(
            "SELECT team_id FROM user WHERE role = 'rep' AND active GROUP BY team_id"
            " ORDER BY count(*) DESC LIMIT 1"
        ).fetchone()[0]
        users = [
            r[0]
            for r in con.execute(
                "SELECT id FROM user WHERE role = 'rep' AND active AND team_id = ?"
                " ORDER BY id LIMIT ?",
                (team, limit),
            )
        ]
        reps = []
        for uid in users:
            own = con.execute(
                "SELECT id, lat, lng FROM customer WHERE owner_id = ? ORDER BY id LIMIT 500",
                (uid,),
            ).fetchall()
            if own:
                reps.append(Rep(uid, sign_in(path, uid), own))
        return reps
    finally:
        con.close()


def visit_count(path: Path) -> int:
    """Rows in the visit table."""
    con = sqlite3.connect(path)
    try:
        return con.execute("SELECT count(*) FROM visit").fetchone()[0]
    finally:
        con.close()


def keys_found(path: Path, keys: list[str]) -> int:
    """How many of these idempotency keys have a visit row."""
    con = sqlite3.connect(path)
    try:
        con.execute("CREATE TEMP TABLE k (key TEXT PRIMARY KEY)")
        con.executemany("INSERT OR IGNORE INTO k VALUES (?)", [(k,) for k in keys])
        return con.execute(
            "SELECT count(*) FROM visit WHERE idempotency_key IN (SELECT key FROM k)"
        ).fetchone()[0]
    finally:
        con.close()


async def _client(origin: str, rep: Rep) -> tuple[httpx.AsyncClient, dict[str, str]]:
    """A keep-alive client for one phone, with its CSRF header from the customer page."""
    client = httpx.AsyncClient(base_url=origin, cookies=rep.cookies, timeout=30)
    page = await client.get(f"/customers/{rep.customers[0][0]}")
    match = CSRF_RE.search(page.text)
    if page.status_code != 200 or not match:
        raise RuntimeError(f"no CSRF token on the customer page ({page.status_code})")
    return client, {**HX, "x-csrftoken": match.group(1)}


def _tap(rng: random.Random, customer: tuple[int, float | None, float | None]) -> dict:
    """What one outcome tap sends."""
    _cid, lat, lng = customer
    data = {
        "outcome": rng.choice(OUTCOMES),
        "idempotency_key": str(uuid.uuid4()),
        "device_at": datetime.now(UTC).isoformat(),
    }
    if lat is not None and lng is not None:
        data |= {
            "lat": f"{lat + rng.uniform(-0.003, 0.003):.6f}",
            "lng": f"{lng + rng.uniform(-0.003, 0.003):.6f}",
            "accuracy": f"{rng.uniform(5, 60):.0f}",
        }
    return data


async def record_load(
    origin: str, reps: list[Rep], *, concurrency: int, seconds: float
) -> tuple[LoadResult, list[str]]:
    """`concurrency` phones record visits in a closed loop; return timings and acked keys."""
    clients = [await _client(origin, reps[i % len(reps)]) for i in range(concurrency)]
    latencies: list[float] = []
    acked: list[str] = []
    errors = 0
    try:
        # Warm-up: one visit per phone, not measured (its key still counts below).
        rng = random.Random(1)
        for i, (client, headers) in enumerate(clients):
            rep = reps[i % len(reps)]
            data = _tap(rng, rep.customers[0])
            r = await client.post(
                f"/customers/{rep.customers[0][0]}/visits", data=data, headers=headers
            )
            if r.status_code == 200:
                acked.append(data["idempotency_key"])
        start = time.perf_counter()
        deadline = start + seconds

        async def phone(i: int) -> None:
            nonlocal errors
            client, headers = clients[i]
            rep = reps[i % len(reps)]
            rng = random.Random(i)
            n = 0
            while time.perf_counter() < deadline:
                customer = rep.customers[n % len(rep.customers)]
                n += 1
                data = _tap(rng, customer)
                t0 = time.perf_counter()
                try:
                    r = await client.post(
                        f"/customers/{customer[0]}/visits", data=data, headers=headers
                    )
                    ok = r.status_code == 200 and 'class="visit-item fresh"' in r.text
                except httpx.HTTPError:
                    ok = False
                latencies.append((time.perf_counter() - t0) * 1000)
                if ok:
                    acked.append(data["idempotency_key"])
                else:
                    errors += 1

        await asyncio.gather(*(phone(i) for i in range(concurrency)))
        elapsed = time.perf_counter() - start
    finally:
        for client, _h in clients:
            await client.aclose()
    latencies.sort()
    return (
        LoadResult(
            requests=len(latencies),
            errors=errors,
            seconds=elapsed,
            p50_ms=statistics.median(latencies) if latencies else 0.0,
            p95_ms=_percentile(latencies, 95),
            p99_ms=_percentile(latencies, 99),
            concurrency=concurrency,
        ),
        acked,
    )


async def duplicate_bursts(
    origin: str, rep: Rep, *, bursts: int, fan: int
) -> tuple[int, int, list[str]]:
    """Send each key from `fan` clients at once; return (bursts ok, answers differing, keys)."""
    clients = [await _client(origin, rep) for _ in range(fan)]
    ok = differing = 0
    keys: list[str] = []
    rng = random.Random(99)
    try:
        for b in range(bursts):
            customer = rep.customers[b % len(rep.customers)]
            data = _tap(rng, customer)
            keys.append(data["idempotency_key"])
            answers = await asyncio.gather(
                *(
                    c.post(f"/customers/{customer[0]}/visits", data=data, headers=h)
                    for c, h in clients
                )
            )
            ids = {
                (r.status_code, m.group(1) if (m := VISIT_ID_RE.search(r.text)) else None)
                for r in answers
            }
            if len(ids) == 1 and next(iter(ids))[0] == 200:
                ok += 1
            else:
                differing += 1
    finally:
        for client, _h in clients:
            await client.aclose()
    return ok, differing, keys


def write_docs(section: str, lines: list[str]) -> None:
    """Replace (or append) this benchmark's results under `section` in BENCHMARKS.md.

    Only the "### Latest run" block of the section is rewritten; prose above it stays.
    """
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    text = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    block = f"### Latest run ({stamp})\n\n" + "\n".join(lines) + "\n"
    start = text.find(section + "\n")
    if start < 0:
        text = text.rstrip("\n") + f"\n\n{section}\n\n" + block
    else:
        end = text.find("\n## ", start + len(section))
        body = text[start : end if end >= 0 else len(text)]
        latest = body.find("### Latest run")
        if latest >= 0:
            nxt = body.find("\n### ", latest + 1)
            tail = body[nxt + 1 :] if nxt >= 0 else ""
            body = body[:latest] + block + ("\n" + tail if tail else "")
        else:
            body = body.rstrip("\n") + "\n\n" + block
        text = text[:start] + body.rstrip("\n") + "\n" + (text[end:] if end >= 0 else "")
    DOCS.write_text(text.rstrip("\n") + "\n")


@dataclass
class AbCell:
    """One (tree, workers) measurement of the A/B run."""

    floor_rps: float
    rps: float
    cpu_ms: float
    p50_ms: float
    p99_ms: float
    errors: int
    lost: int
    doubled: int


def _cpu_ticks(srv: Server) -> int:
    """CPU ticks used so far by the processes that serve requests."""
    from bench.common import cpu_ticks

    return sum(cpu_ticks(pid) for pid in srv.worker_pids())


def ab_cell(url: str, cast, *, tree: Path | None, workers: int, seconds: float) -> AbCell:
    """Start a server of `tree` (None: this one) with `workers`; floor, then visits."""
    import os

    from bench.run import load, record_visits

    env = {"PYTHONPATH": str(tree)} if tree else None
    with Server(url=url, workers=workers, env=env) as srv:
        floor = load(srv.origin, [srv.static_path()], concurrency=16, seconds=5.0)
        cookies = srv.sign_in(cast.rep)
        before = _cpu_ticks(srv)
        result, tally = record_visits(
            srv, cookies, cast.rep_customers, concurrency=16, seconds=seconds, kill_at=None
        )
        used = (_cpu_ticks(srv) - before) / os.sysconf("SC_CLK_TCK")
    return AbCell(
        floor.rps,
        result.rps,
        used * 1000 / max(1, result.requests),
        result.p50_ms,
        result.p99_ms,
        result.errors,
        tally.lost,
        tally.doubled,
    )


def ab_main(args: argparse.Namespace) -> None:
    """Measure this tree against `--before` with each worker count, in alternating order."""
    import os

    from bench.common import PgCluster
    from bench.run import DATA, ensure_postgres, ensure_sqlite, pick_cast

    print(f"machine: {machine()}\nload average at start: {os.getloadavg()}", flush=True)
    cluster = None
    if args.backend == "postgresql":
        cluster = PgCluster(DATA / "pg").start()
        url, _meta = ensure_postgres(cluster, args.customers, args.visits, False)
    else:
        url, _meta = ensure_sqlite(args.customers, args.visits, False)
    cast = pick_cast(url)
    trees = {"before": args.before.resolve(), "after": None}
    workers = [int(w) for w in args.workers.split(",")]
    cells: dict[tuple[str, int], list[AbCell]] = {}
    try:
        for r in range(args.rounds):
            for w in workers:
                order = list(trees) if (r + w) % 2 == 0 else list(reversed(trees))
                for label in order:
                    cell = ab_cell(url, cast, tree=trees[label], workers=w, seconds=args.seconds)
                    cells.setdefault((label, w), []).append(cell)
                    print(f"round {r + 1} {label} {w} worker(s): {cell}", flush=True)
    finally:
        if cluster is not None:
            cluster.stop()
    print(f"load average at end: {os.getloadavg()}")
    med = statistics.median
    print(
        f"\n{args.backend}, {args.rounds} rounds, medians; 16 clients, "
        f"{args.seconds:g} s per cell\n"
        "| code | workers | floor req/s | visits/s | × floor | server CPU ms/visit "
        "| p50 / p99 ms | errors | lost | doubled |\n"
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---:|"
    )
    for (label, w), got in sorted(cells.items(), key=lambda kv: (kv[0][1], kv[0][0] != "before")):
        ratio = med(c.rps / c.floor_rps for c in got if c.floor_rps)
        print(
            f"| {label} | {w} | {med(c.floor_rps for c in got):.0f} | {med(c.rps for c in got):.0f}"
            f" | {ratio:.4f}× | {med(c.cpu_ms for c in got):.2f} | "
            f"{med(c.p50_ms for c in got):.0f} / {med(c.p99_ms for c in got):.0f} | "
            f"{sum(c.errors for c in got)} | {sum(c.lost for c in got)} | "
            f"{sum(c.doubled for c in got)} |"
        )


def main() -> None:
    """Build or reuse the data, run the load, check nothing was lost, print the report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ab", action="store_true", help="A/B against --before, see above")
    parser.add_argument("--before", type=Path, help="(--ab) the source tree to compare with")
    parser.add_argument("--workers", default="1,2", help="(--ab) worker counts")
    parser.add_argument("--backend", default="sqlite", choices=["sqlite", "postgresql"])
    parser.add_argument("--rounds", type=int, default=2, help="(--ab)")
    parser.add_argument("--customers", type=int, help="default 10,000 (--ab: 100,000)")
    parser.add_argument("--visits", type=int, help="default 100,000 (--ab: 1,000,000)")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--docs", action="store_true", help="write docs/BENCHMARKS.md")
    args = parser.parse_args()
    if args.ab:  # the A/B's default data is bench.run's 100,000-customer database
        args.customers = args.customers or 100_000
        args.visits = args.visits or 1_000_000
        ab_main(args)
        return
    args.customers = args.customers or 10_000
    args.visits = args.visits or 100_000
    command = "python -m bench.visit_bench " + shlex.join(sys.argv[1:])
    print(f"machine: {machine()}", flush=True)
    path, build_s = ensure_db(args.customers, args.visits, args.rebuild)
    reps = reps_of_a_team(path)
    print(
        f"data: {path.relative_to(ROOT)} (built in {build_s:.0f} s); {len(reps)} reps signed in",
        flush=True,
    )
    before = visit_count(path)
    rows: list[tuple[str, LoadResult]] = []
    acked_all: list[str] = []
    with Server(path) as srv:
        for conc in (args.concurrency, 1):
            floor = run_load(
                srv.origin, [srv.static_path()], concurrency=conc, seconds=min(5.0, args.seconds)
            )
            rows.append(("floor: static app.css (same server)", floor))
            print(
                f"  c={conc:<2} floor {floor.rps:7.0f} req/s  p95 {floor.p95_ms:5.1f} ms",
                flush=True,
            )
            result, acked = asyncio.run(
                record_load(srv.origin, reps, concurrency=conc, seconds=args.seconds)
            )
            rows.append((f"record visit, {conc} client{'s' if conc > 1 else ''}", result))
            acked_all += acked
            print(
                f"  c={conc:<2} {result.rps:7.0f} visits/s  p50 {result.p50_ms:5.1f} ms"
                f"  p95 {result.p95_ms:5.1f} ms  p99 {result.p99_ms:5.1f} ms"
                f"  errors {result.errors}",
                flush=True,
            )
        ok, differing, dup_keys = asyncio.run(
            duplicate_bursts(srv.origin, reps[0], bursts=50, fan=16)
        )
    after = visit_count(path)
    found = keys_found(path, acked_all)
    dup_rows = keys_found(path, dup_keys)
    grew = after - before
    lost = len(acked_all) - found
    extra = grew - len(acked_all) - dup_rows
    best = rows[1][1]
    floor16 = rows[0][1]
    lines = [
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        f"- Data: {args.customers} customers, {args.visits} demo visits (`db.demo.seed_demo`);"
        " one `kehu serve` process on 127.0.0.1, client (httpx, asyncio, keep-alive) on the "
        f"same machine; closed loop for {args.seconds:g} s per row after one warm-up visit per "
        "client.",
        "",
        "| what | clients | per s | p50 ms | p95 ms | p99 ms | errors |",
        "|---|---:|---:|---:|---:|---:|---:|",
        *(
            f"| {name} | {r.concurrency} | {r.rps:.0f} | {r.p50_ms:.1f} | {r.p95_ms:.1f} "
            f"| {r.p99_ms:.1f} | {r.errors} |"
            for name, r in rows
        ),
        "",
        f"- Rows: {len(acked_all)} visits acknowledged, {found} of their keys in the database, "
        f"table grew by {grew} (= acknowledged + {dup_rows} from the duplicate bursts): "
        + (
            "**none lost, none doubled**."
            if lost == 0 and extra == 0
            else f"**{lost} LOST, {extra} EXTRA**."
        ),
        f"- Duplicate bursts (one key from 16 clients at once, 50 times): {ok}/50 stored "
        f"exactly once with the same answer for all 16 ({dup_rows} rows, {differing} bursts "
        "differing).",
        f"- Target ≥ {TARGET_PER_S:g} visits/s at {args.concurrency} clients: "
        + ("met" if best.rps >= TARGET_PER_S else "MISSED")
        + f" ({best.rps:.0f}/s, p95 {best.p95_ms:.1f} ms; "
        f"{best.rps / floor16.rps:.2f}× the static-file floor of {floor16.rps:.0f} req/s "
        "measured on the same server just before).",
    ]
    print("\n" + "\n".join(lines))
    if args.docs:
        write_docs(SECTION, lines)
        print(f"wrote the '{SECTION}' section of {DOCS.relative_to(ROOT)}")
    if lost or extra or differing or dup_rows != len(dup_keys):
        raise SystemExit("visits were lost or doubled")


if __name__ == "__main__":
    main()
