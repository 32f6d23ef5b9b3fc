"""Full benchmark (`make bench`): issue 17's targets on SQLite and PostgreSQL, 1 and N workers.

    .venv/bin/python -m bench.run [--quick] [--customers N --visits M] [--seconds S]
                                  [--workers N] [--backends sqlite,postgresql]
                                  [--no-before] [--rebuild] [--no-docs]

1. Builds (or reuses) the dataset with `db.demo.seed_demo` (the same bulk loader as
   `kehu demo`, the same seed on both backends): bench/data/bench-100k.db, and a database
   in a throwaway PostgreSQL cluster that the bench starts itself (initdb/pg_ctl under
   bench/data/pg/, a Unix socket, no TCP; kept between runs so the data is loaded once).
   Without PostgreSQL binaries the PostgreSQL half is skipped with a message.
2. For each backend, starts `kehu serve --workers 1` ("before") and `--workers N`
   ("after"), signs in the rep, clerk and manager with the most customers, and at 16
   clients measures the floor (a static file of the same server), the customer page, the
   search fragment, Today and the counter lookup, then visit recording (POST) while one
   worker is SIGKILLed mid-run (N workers; uvicorn starts a new one) with the phone's
   retry: a post without an answer is sent again with the same idempotency key. Every
   worker's peak RSS (VmHWM) is sampled twice a second the whole time.
3. Prints each target of issue 17 as met / missed with its ratio to the floor of the same
   server in the same run, and writes them under "## Several workers (issue 17)" in
   docs/BENCHMARKS.md with the before / after table.
4. Runs bench/durability.py with N workers and a worker killed (both backends).
"""

import argparse
import asyncio
import json
import os
import re
import shlex
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

from bench.common import (
    ROOT,
    LoadResult,
    PgCluster,
    RssWatch,
    Server,
    count_idempotency_keys,
    machine,
    rss_mb,
    sql,
    summarise,
)

DATA = ROOT / "bench" / "data"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
SECTION = "## Several workers (issue 17)"
HX = {"HX-Request": "true"}
ENCODING = {"Accept-Encoding": "br, gzip"}
CONC = 16

# Targets of issue 17 (this machine, 100k customers / ~1M visits, ratios to the floor).
TARGET_READ_X = 0.02
TARGET_P99_OVER_P50 = 3.0
TARGET_VISIT_X = 0.015
TARGET_RSS_MB = 200.0
READS = ("customer page (rep)", "search fragment (rep)", "Today (rep)", "counter lookup (clerk)")
VISITS = "record visit (rep, POST)"


# --- the datasets -----------------------------------------------------------------------


def _db_path(customers: int, visits: int) -> Path:
    """bench-100k.db for the full size, bench-<customers>-<visits>.db otherwise."""
    if (customers, visits) == (100_000, 1_000_000):
        return DATA / "bench-100k.db"
    return DATA / f"bench-{customers}-{visits}.db"


def _load(url: str, customers: int, visits: int) -> dict:
    """Migrate and seed one database; the build facts."""
    from db.demo import seed_demo
    from db.migrate import upgrade

    t0 = time.perf_counter()
    upgrade(url)
    summary = seed_demo(url, customers=customers, visits=visits)
    if url.startswith("postgresql"):
        sql(url, "ANALYZE")
    took = time.perf_counter() - t0
    print(f"{summary}\nload (migrate + seed) took {took:.1f} s", flush=True)
    return {
        "customers": customers,
        "visits": visits,
        "load_seconds": took,
        "summary": summary,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _reuse(meta_path: Path, customers: int, visits: int) -> dict | None:
    """The build facts of a complete dataset of this size, if there is one."""
    if not meta_path.exists():
        return None
    meta = json.loads(meta_path.read_text())
    if meta.get("customers") == customers and meta.get("visits") == visits:
        return meta
    return None


def ensure_sqlite(customers: int, visits: int, rebuild: bool) -> tuple[str, dict]:
    """The SQLite dataset (built unless a complete one exists): its URL and build facts."""
    from db.migrate import upgrade

    path = _db_path(customers, visits)
    meta_path = path.with_suffix(".json")
    url = f"sqlite:///{path}"
    meta = None if rebuild or not path.exists() else _reuse(meta_path, customers, visits)
    if meta:
        print(f"reusing {path.relative_to(ROOT)} (built in {meta['load_seconds']:.0f} s)")
        upgrade(url)
        return url, meta
    DATA.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", ".json"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    print(f"building {path.relative_to(ROOT)}: {customers} customers, {visits} visits …")
    meta = _load(url, customers, visits)
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    return url, meta


def ensure_postgres(
    cluster: PgCluster, customers: int, visits: int, rebuild: bool
) -> tuple[str, dict]:
    """The same dataset in the bench's PostgreSQL cluster: its URL and build facts."""
    from db.migrate import upgrade

    name = f"bench_{customers}_{visits}"
    meta_path = DATA / f"pg-{name}.json"
    url = cluster.url(name)
    meta = None if rebuild else _reuse(meta_path, customers, visits)
    if meta and not cluster.createdb(name):
        print(f"reusing PostgreSQL database {name} (built in {meta['load_seconds']:.0f} s)")
        upgrade(url)
        prewarm(url)
        return url, meta
    cluster.dropdb(name)
    cluster.createdb(name)
    print(f"building PostgreSQL database {name}: {customers} customers, {visits} visits …")
    meta = _load(url, customers, visits)
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    return url, meta


def prewarm(url: str) -> None:
    """Read the database's tables and indexes into PostgreSQL's buffers before measuring.

    A cluster started on files the OS had dropped from its page cache (this VM reclaims idle
    pages) served 37 customer pages/s with a p99 of 1.2 s in its first cells, and 180/s a
    minute later: the first cells measured the disk. A running server has them in memory.
    """
    sql(url, "CREATE EXTENSION IF NOT EXISTS pg_prewarm")
    [(pages,)] = sql(
        url,
        "SELECT coalesce(sum(pg_prewarm(c.oid)), 0) FROM pg_class c"
        " WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i', 'm')",
    )
    print(f"prewarmed {pages * 8 / 1024:.0f} MB of tables and indexes", flush=True)


@dataclass
class Cast:
    """Who is signed in and what they can see."""

    rep: int
    clerk: int
    manager: int
    rep_customers: list[int]
    clerk_last4: list[str]
    queries: list[str]


def pick_cast(url: str) -> Cast:
    """The rep, clerk and manager with the most customers, and queries from their data."""
    [(rep, rep_team)] = sql(
        url,
        'SELECT u.id, u.team_id FROM "user" u JOIN customer c ON c.owner_id = u.id'
        " WHERE u.role = 'rep' AND u.active GROUP BY u.id, u.team_id"
        " ORDER BY count(*) DESC, u.id LIMIT 1",
    )
    [(clerk, store)] = sql(
        url,
        'SELECT u.id, u.team_id FROM "user" u JOIN customer c ON c.team_id = u.team_id'
        " WHERE u.role = 'clerk' AND u.active GROUP BY u.id, u.team_id"
        " ORDER BY count(*) DESC, u.id LIMIT 1",
    )
    [(manager,)] = sql(
        url,
        "SELECT id FROM \"user\" WHERE role = 'manager' AND active AND team_id = :t"
        " ORDER BY id LIMIT 1",
        t=rep_team,
    )
    own = sql(
        url,
        "SELECT id, name, name_initials, phone_last4 FROM customer WHERE owner_id = :u ORDER BY id",
        u=rep,
    )
    clerk_last4 = [
        r[0]
        for r in sql(
            url,
            "SELECT phone_last4 FROM customer WHERE team_id = :t ORDER BY id LIMIT 200",
            t=store,
        )
    ]
    step = max(1, len(own) // 40)
    sample = own[::step][:40]
    queries: list[str] = []
    for i, (_id, name, initials, last4) in enumerate(sample):
        cjk = [ch for ch in name if "\u4e00" <= ch <= "\u9fff"]
        kind = i % 5
        if kind == 0 and cjk:
            queries.append(cjk[min(2, len(cjk) - 1)])  # one character
        elif kind == 1 and len(cjk) >= 4:
            queries.append("".join(cjk[2:4]))  # two characters
        elif kind == 2 and len(cjk) >= 5:
            queries.append("".join(cjk[1:5]))  # four characters
        elif kind == 3 and len(initials) >= 3:
            queries.append(initials[:4])  # pinyin initials
        else:
            queries.append(last4)  # last four digits
    return Cast(
        rep=rep,
        clerk=clerk,
        manager=manager,
        rep_customers=[r[0] for r in own],
        clerk_last4=clerk_last4,
        queries=queries,
    )


# --- measurements -----------------------------------------------------------------------


@dataclass
class Cell:
    """One measured row: a result and the floor of the same server."""

    name: str
    result: LoadResult
    floor: LoadResult
    note: str = ""

    @property
    def ratio(self) -> float:
        """Successful requests per second over the floor's."""
        ok = (self.result.requests - self.result.errors) / self.result.seconds
        return ok / self.floor.rps if self.floor.rps else 0.0

    @property
    def tail(self) -> float:
        """p99 over p50."""
        return self.result.p99_ms / self.result.p50_ms if self.result.p50_ms else 0.0


@dataclass
class VisitTally:
    """What the phones' visit posts saw."""

    sent: set[str] = field(default_factory=set)
    acked: list[str] = field(default_factory=list)
    retried: int = 0
    refused: int = 0
    killed: list[int] = field(default_factory=list)
    lost: int = 0
    doubled: int = 0


CSRF_RE = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')


def record_visits(
    srv: Server,
    cookies: dict[str, str],
    customers: list[int],
    *,
    concurrency: int,
    seconds: float,
    kill_at: float | None,
) -> tuple[LoadResult, VisitTally]:
    """POST visits in a closed loop (the HTMX two-tap) like phones, optionally killing a worker.

    A post without an answer (a killed worker's connection) is sent again with the same
    idempotency key on a new connection, as the phone's offline queue does.
    """
    with httpx.Client(base_url=srv.origin, cookies=cookies, timeout=30) as client:
        page = client.get(f"/customers/{customers[0]}")
        match = CSRF_RE.search(page.text)
        if page.status_code != 200 or not match:
            raise RuntimeError(f"no CSRF token on the customer page ({page.status_code})")
        jar = dict(client.cookies.items())
    headers = {
        **ENCODING,
        **HX,
        **_cookie(jar),
        "x-csrftoken": match.group(1),
        "Content-Type": "application/x-www-form-urlencoded",
    }
    tally = VisitTally()
    result = asyncio.run(_visit_loop(srv, headers, customers, tally, concurrency, seconds, kill_at))
    # Doubled: any key sent with more than one row. Lost: an acknowledged key with no row
    # (a key sent but never acknowledged may or may not be stored; both are fine).
    _unacked, tally.doubled = count_idempotency_keys(srv.url, sorted(tally.sent))
    tally.lost, _ = count_idempotency_keys(srv.url, tally.acked)
    return result, tally


async def _visit_loop(
    srv: Server,
    headers: dict[str, str],
    customers: list[int],
    tally: VisitTally,
    concurrency: int,
    seconds: float,
    kill_at: float | None,
) -> LoadResult:
    """`concurrency` phones posting visits for `seconds`; SIGKILL a worker at `kill_at`."""
    host = srv.origin.split("://", 1)[1]
    hostname, port = host.split(":")
    latencies: list[float] = []
    errors = 0
    start = time.perf_counter()
    deadline = start + seconds

    async def connect():
        while True:
            try:
                return await asyncio.open_connection(hostname, int(port))
            except OSError:
                await asyncio.sleep(0.05)

    async def phone(n: int) -> None:
        nonlocal errors
        reader, writer = await connect()
        pending: tuple[str, int, str] | None = None
        i = n
        while time.perf_counter() < deadline:
            if pending is None:
                i += concurrency
                pending = (uuid.uuid4().hex, customers[i % len(customers)],
                           datetime.now(UTC).isoformat())  # fmt: skip
            key, customer_id, device_at = pending
            tally.sent.add(key)
            body = urlencode(
                {"outcome": "met_interested", "idempotency_key": key, "device_at": device_at}
            ).encode()
            head = _head(
                "POST", f"/customers/{customer_id}/visits", host,
                {**headers, "Content-Length": str(len(body))},
            )  # fmt: skip
            t0 = time.perf_counter()
            try:
                status, _n = await _http(reader, writer, head, body)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                status = None
                writer.close()
                reader, writer = await connect()
            latencies.append((time.perf_counter() - t0) * 1000)
            if status == 200:
                tally.acked.append(key)
                pending = None
                continue
            errors += 1
            if status is None or status >= 500:
                tally.retried += 1  # same key again, as the phone's queue does
            else:
                tally.refused += 1
                pending = None
        writer.close()

    async def killer() -> None:
        if kill_at is None:
            return
        await asyncio.sleep(kill_at)
        tally.killed.append(srv.kill_worker())

    await asyncio.gather(killer(), *(phone(n) for n in range(concurrency)))
    elapsed = time.perf_counter() - start
    return summarise(latencies, errors=errors, seconds=elapsed, concurrency=concurrency)


# A lean HTTP/1.1 keep-alive client: httpx's async client costs more CPU per request than
# the server's static path, and client and server share this machine's two cores.


async def _http(reader, writer, head: bytes, body: bytes = b"") -> tuple[int, int]:
    """Send one request on an open connection; return the status and the body bytes read."""
    writer.write(head + body)
    await writer.drain()
    raw = await reader.readuntil(b"\r\n\r\n")
    lines = raw.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        if ":" in line:
            k, _, v = line.partition(":")
            fields[k.strip().lower()] = v.strip()
    if "content-length" in fields:
        n = int(fields["content-length"])
        await reader.readexactly(n)
        return status, n
    if fields.get("transfer-encoding", "").lower() == "chunked":
        total = 0
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            total += size
            if size == 0:
                return status, total
    return status, 0


def _head(method: str, path: str, host: str, headers: dict[str, str]) -> bytes:
    """The request line and headers."""
    lines = [
        f"{method} {path} HTTP/1.1",
        f"Host: {host}",
        *(f"{k}: {v}" for k, v in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


async def _fast(
    origin: str,
    make: Callable[[int], tuple[str, str, dict[str, str], bytes]],
    *,
    concurrency: int,
    seconds: float,
    expect: int,
    on_ok: Callable[[int], None] | None = None,
) -> LoadResult:
    """Closed loop: `concurrency` connections, each sending make(i) and awaiting the answer."""
    host = origin.split("://", 1)[1]
    hostname, port = host.split(":")
    latencies: list[float] = []
    errors = counter = 0

    async def one(reader, writer, i: int) -> bool:
        method, path, headers, body = make(i)
        if body:
            headers = {**headers, "Content-Length": str(len(body))}
        status, _n = await _http(reader, writer, _head(method, path, host, headers), body)
        return status == expect

    conns = [await asyncio.open_connection(hostname, int(port)) for _ in range(concurrency)]
    # Warm up: one request per connection, not measured (and not counted as a visit).
    await asyncio.gather(*(one(r, w, -1 - k) for k, (r, w) in enumerate(conns)))
    # Fresh connections: a slow warm-up can leave some idle past the server's keep-alive.
    for _r, w in conns:
        w.close()
    conns = [await asyncio.open_connection(hostname, int(port)) for _ in range(concurrency)]
    start = time.perf_counter()
    deadline = start + seconds

    async def worker(reader, writer) -> None:
        nonlocal errors, counter
        while time.perf_counter() < deadline:
            i = counter
            counter += 1
            t0 = time.perf_counter()
            try:
                ok = await one(reader, writer, i)
            except (OSError, asyncio.IncompleteReadError, ValueError):
                ok = False
                # The server closed the connection (e.g. idle past its keep-alive while a
                # slow warm-up finished): open a new one, as a browser would.
                writer.close()
                reader, writer = await asyncio.open_connection(hostname, int(port))
                conns.append((reader, writer))
            latencies.append((time.perf_counter() - t0) * 1000)
            if ok and on_ok:
                on_ok(i)
            if not ok:
                errors += 1

    await asyncio.gather(*(worker(r, w) for r, w in conns))
    elapsed = time.perf_counter() - start
    for _r, w in conns:
        w.close()
    return summarise(latencies, errors=errors, seconds=elapsed, concurrency=concurrency)


def _cookie(cookies: dict[str, str] | None) -> dict[str, str]:
    """A Cookie header from a dict."""
    return {"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())} if cookies else {}


def load(
    origin: str,
    paths: list[str],
    *,
    concurrency: int,
    seconds: float,
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    expect: int = 200,
) -> LoadResult:
    """GET `paths` (cycled) like a browser: keep-alive, `Accept-Encoding: br, gzip`."""
    fixed = {**ENCODING, **_cookie(cookies), **(headers or {})}
    return asyncio.run(
        _fast(
            origin,
            lambda i: ("GET", paths[i % len(paths)], fixed, b""),
            concurrency=concurrency,
            seconds=seconds,
            expect=expect,
        )
    )


def write_docs(text: str) -> None:
    """Replace (or append) our section of docs/BENCHMARKS.md."""
    DOCS.parent.mkdir(parents=True, exist_ok=True)
    old = DOCS.read_text() if DOCS.exists() else "# Benchmarks\n"
    start = old.find("\n" + SECTION + "\n")
    if start < 0:
        start = 0 if old.startswith(SECTION + "\n") else -1
    if start < 0:
        new = old.rstrip("\n") + "\n\n" + text
    else:
        cut = start + (1 if old[start] == "\n" else 0)
        rest = old.find("\n## ", cut + len(SECTION))
        tail = old[rest + 1 :] if rest >= 0 else ""
        new = old[:cut] + text + ("\n" + tail if tail else "")
    DOCS.write_text(new.rstrip("\n") + "\n")


# --- one server ---------------------------------------------------------------------------


@dataclass
class Run:
    """Everything measured against one server (one backend, one worker count)."""

    backend: str
    workers: int
    floor: LoadResult
    cells: dict[str, Cell]
    visits: VisitTally
    rss: dict[int, float]
    rss_start: dict[int, float]


def measure(backend: str, url: str, cast: Cast, *, workers: int, seconds: float) -> Run:
    """Start `kehu serve --workers N` on the dataset and measure every cell at 16 clients."""
    path = Path(url.split(":///", 1)[1]) if url.startswith("sqlite") else None
    srv = Server(path, url=None if path else url, workers=workers)
    print(f"{backend}, {workers} worker(s):", flush=True)
    with srv, RssWatch(srv) as rss:
        started = {pid: rss_mb(pid)[1] for pid in srv.worker_pids()}  # before any request
        rep, clerk = srv.sign_in(cast.rep), srv.sign_in(cast.clerk)
        step = max(1, len(cast.rep_customers) // 200)
        pages = [f"/customers/{i}" for i in cast.rep_customers[::step]]
        search = [f"/customers?q={quote(q)}" for q in cast.queries]
        lookups = [f"/counter?q={d}" for d in cast.clerk_last4]
        floor = load(srv.origin, [srv.static_path()], concurrency=CONC, seconds=seconds)
        show(Cell("floor: static app.css", floor, floor))
        plan: list[tuple[str, list[str], dict, dict | None, str]] = [
            ("/healthz (signed in)", ["/healthz"], rep, None, "the stack for a no-op"),
            ("customer page (rep)", pages, rep, None, ""),
            ("search fragment (rep)", search, rep, HX, "mixed queries"),
            ("Today (rep)", ["/"], rep, None, ""),
            ("counter lookup (clerk)", lookups, clerk, HX, "4 digits"),
        ]
        cells: dict[str, Cell] = {}
        for name, paths, cookies, headers, note in plan:
            result = load(
                srv.origin, paths, concurrency=CONC, seconds=seconds, cookies=cookies,
                headers=headers,
            )  # fmt: skip
            cells[name] = Cell(name, result, floor, note)
            show(cells[name])
        span = max(seconds, 6.0)
        result, tally = record_visits(
            srv, rep, cast.rep_customers, concurrency=CONC, seconds=span,
            kill_at=span * 0.4 if workers > 1 else None,
        )  # fmt: skip
        killed = f", worker {tally.killed[0]} SIGKILLed at {span * 0.4:g} s" if tally.killed else ""
        cells[VISITS] = Cell(
            VISITS, result, floor,
            f"{len(tally.acked)} acked, {tally.lost} lost, {tally.doubled} doubled{killed}",
        )  # fmt: skip
        show(cells[VISITS])
    print(f"  peak RSS per worker (MB): {_rss_text(rss.peaks)}", flush=True)
    return Run(backend, workers, floor, cells, tally, dict(rss.peaks), started)


def show(cell: Cell) -> None:
    """Print one measured cell as it is done."""
    r = cell.result
    print(
        f"  {cell.name:<26} {_rate(r.rps):>7}/s ({cell.ratio:.3f}× floor)  p50 {r.p50_ms:6.1f}"
        f"  p99 {r.p99_ms:6.1f}  err {r.errors} {cell.note}",
        flush=True,
    )


def _rss_text(peaks: dict[int, float]) -> str:
    """Peak RSS per worker pid."""
    return ", ".join(f"{pid}: {mb:.0f}" for pid, mb in sorted(peaks.items())) or "-"


def _rate(rps: float) -> str:
    """Requests per second: whole numbers, one decimal below 10."""
    return f"{rps:.1f}" if rps < 10 else f"{rps:.0f}"


# --- the report -----------------------------------------------------------------------------


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def targets(run: Run) -> list[str]:
    """Issue 17's targets for one server, each met / missed with its figures."""
    lines = []
    for name in READS:
        c = run.cells[name]
        ok = c.ratio >= TARGET_READ_X and c.tail <= TARGET_P99_OVER_P50
        lines.append(
            f"- {name}: {c.ratio:.3f}× floor (target ≥ {TARGET_READ_X}×), p99 {c.tail:.1f}× p50 "
            f"(target ≤ {TARGET_P99_OVER_P50:g}×) — {_verdict(ok)}"
        )
    v, t = run.cells[VISITS], run.visits
    ok = v.ratio >= TARGET_VISIT_X and t.lost == 0 and t.doubled == 0 and bool(t.killed)
    lines.append(
        f"- visit recording: {v.ratio:.3f}× floor (target ≥ {TARGET_VISIT_X}×), {t.lost} lost, "
        f"{t.doubled} doubled, {'a worker killed mid-run' if t.killed else 'NO worker killed'}"
        f" — {_verdict(ok)}"
    )
    worst = max(run.rss.values(), default=0.0)
    lines.append(
        f"- each worker's peak RSS: at most {worst:.1f} MB (target < {TARGET_RSS_MB:g} MB) — "
        + _verdict(0 < worst < TARGET_RSS_MB)
    )
    return lines


def before_after(before: Run | None, after: Run) -> list[str]:
    """The before (1 worker) / after (N workers) table of one backend."""
    n = after.workers
    lines = [
        f"| what | 1 worker: req/s (× floor) | p50 / p99 ms | {n} workers: req/s (× floor) "
        "| p50 / p99 ms | note |",
        "|---|---:|---:|---:|---:|---|",
    ]

    def cells(run: Run | None, name: str) -> str:
        if run is None:
            return "- | -"
        c = run.cells[name] if name in run.cells else Cell(name, run.floor, run.floor)
        ok = (c.result.requests - c.result.errors) / c.result.seconds
        return f"{_rate(ok)} ({c.ratio:.3f}×) | {c.result.p50_ms:.1f} / {c.result.p99_ms:.1f}"

    for name in ("floor: static app.css", "/healthz (signed in)", *READS, VISITS):
        note = after.cells[name].note if name in after.cells else ""
        lines.append(f"| {name} | {cells(before, name)} | {cells(after, name)} | {note} |")
    rss_before = max(before.rss.values(), default=0.0) if before else 0.0
    start_before = max(before.rss_start.values(), default=0.0) if before else 0.0
    lines.append(
        f"| peak RSS, worst worker | {rss_before:.0f} MB | | "
        f"{max(after.rss.values(), default=0.0):.0f} MB | | per worker: {_rss_text(after.rss)} |"
    )
    lines.append(
        f"| RSS of a worker just started | {start_before:.0f} MB | | "
        f"{max(after.rss_start.values(), default=0.0):.0f} MB | | before any request |"
    )
    return lines


def pdf_lines(quick: bool) -> list[str]:
    """The weekly PDF target: bench/report_bench.py times the baseline and this code."""
    from bench import report_bench

    return ["- " + report_bench.weekly_pdf_target(runs=1 if quick else 3)]


def parse_args() -> argparse.Namespace:
    """The command line (see the module docstring)."""
    from bench.common import default_workers

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="10,000 customers, 100,000 visits")
    parser.add_argument("--seconds", type=float, default=5.0, help="per measured cell")
    parser.add_argument("--workers", type=int, default=default_workers())
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--no-before", action="store_true", help="skip the 1-worker run")
    parser.add_argument("--no-durability", action="store_true")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--no-docs", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    if args.quick:
        args.customers, args.visits = 10_000, 100_000
    args.backends = [b.strip() for b in args.backends.split(",") if b.strip()]
    unknown = set(args.backends) - {"sqlite", "postgresql"}
    if unknown:
        parser.error(f"unknown backend(s): {', '.join(sorted(unknown))}")
    return args


def main() -> None:
    """Build or reuse the datasets, measure both backends with 1 and N workers, report."""
    args = parse_args()
    started = time.perf_counter()
    command = (
        "make bench" if sys.argv[1:] == [] else "python -m bench.run " + shlex.join(sys.argv[1:])
    )
    uptime_start = _uptime()
    print(f"machine: {machine()}\nuptime: {uptime_start}", flush=True)
    runs: dict[str, tuple[Run | None, Run]] = {}
    datasets: dict[str, str] = {}
    skipped: list[str] = []
    cluster: PgCluster | None = None
    try:
        for backend in args.backends:
            if backend == "sqlite":
                url, meta = ensure_sqlite(args.customers, args.visits, args.rebuild)
            else:
                why = PgCluster.unavailable()
                if why:
                    print(f"PostgreSQL skipped: {why}", flush=True)
                    skipped.append(f"PostgreSQL skipped: {why}")
                    continue
                cluster = PgCluster(DATA / "pg").start()
                url, meta = ensure_postgres(cluster, args.customers, args.visits, args.rebuild)
            datasets[backend] = f"{meta['summary']}; loaded in {meta['load_seconds']:.0f} s"
            cast = pick_cast(url)
            before = None
            if not args.no_before and args.workers > 1:
                before = measure(backend, url, cast, workers=1, seconds=args.seconds)
            after = measure(backend, url, cast, workers=args.workers, seconds=args.seconds)
            runs[backend] = (before, after)
            if cluster is not None:
                cluster.stop()
                cluster = None
    finally:
        if cluster is not None:
            cluster.stop()
    lines = [
        SECTION,
        "",
        f"Written by `bench/run.py` on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
        "",
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        f"- `uptime` before: {uptime_start}; after: {_uptime()} (the bench's own server, "
        "client and PostgreSQL raise it; above ~2 before, other work shared the CPUs)",
        f"- Each cell: {CONC} keep-alive clients (the lean asyncio HTTP/1.1 loop, "
        f"`Accept-Encoding: br, gzip`, on the same 2 CPUs as the server), closed loop, "
        f"{args.seconds:g} s after one warm-up request per connection; visit recording "
        f"{max(args.seconds, 6.0):g} s. Ratios are successful requests per second over the "
        "floor (the static CSS file of the same server in the same run).",
        *(f"- {s}" for s in skipped),
        "",
    ]
    for backend, (before, after) in runs.items():
        title = "SQLite (WAL)" if backend == "sqlite" else "PostgreSQL 15"
        lines += [f"### {title}", "", f"Data: {datasets[backend]}.", ""]
        lines += before_after(before, after)
        lines += ["", f"Targets ({after.workers} workers):", "", *targets(after), ""]
    lines += ["Weekly PDF (bench/report_bench.py):", "", *pdf_lines(args.quick), ""]
    lines.append(f"Whole run: {time.perf_counter() - started:.0f} s.")
    text = "\n".join(lines) + "\n"
    print("\n" + text, flush=True)
    if not args.no_docs:
        write_docs(text)
        print(f"wrote the '{SECTION}' section of {DOCS.relative_to(ROOT)}")
    if not args.no_durability:
        from bench import durability

        for backend in runs:
            durability.run(
                customers=2000, seconds=12, clients=16, replays=0.2, docs=not args.no_docs,
                command=f"python -m bench.durability --workers {args.workers} --kill worker"
                + ("" if backend == "sqlite" else " --postgres"),
                workers=args.workers, kill="worker", postgres=backend == "postgresql",
            )  # fmt: skip


def _uptime() -> str:
    """`uptime`'s load averages, for the record."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f}, {five:.2f}, {fifteen:.2f}"


if __name__ == "__main__":
    main()
