"""Full benchmark (`make bench`): one real server, 100,000 customers, 1,000,000 visits.

    .venv/bin/python -m bench.run [--quick] [--customers N --visits M] [--seconds S]
                                  [--rebuild] [--no-docs]

1. Builds (or reuses) bench/data/bench-100k.db with `db.demo.seed_demo` (the same bulk
   loader as `kehu demo`), timing the load.
2. Starts ONE `kehu serve` on 127.0.0.1, signs in the rep, the clerk and the manager with
   the most customers, and measures at concurrency 1 and 16 (the weekly PDF at 1 and 4),
   each cell for a bounded time: the floor (a static file of the same server), search,
   customer page, Today, counter lookup, visit recording (POST, each acknowledged visit
   then counted in the database) and the weekly report PDF.
3. Measures bytes on the wire for a first visit to a customer page (HTML + linked CSS/JS,
   brotli/gzip as sent) and for an HTMX search swap, and the server's peak RSS.
4. Prints the table and writes it under "## Full run" in docs/BENCHMARKS.md.
"""

import argparse
import asyncio
import json
import os
import re
import shlex
import sqlite3
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote, urlencode

import httpx

from bench.common import ROOT, LoadResult, Server, machine, summarise

DATA = ROOT / "bench" / "data"
DOCS = ROOT / "docs" / "BENCHMARKS.md"
SECTION = "## Full run"
HX = {"HX-Request": "true"}
ENCODING = {"Accept-Encoding": "br, gzip"}

# Targets of issue #8 (2 cores, 100k customers / 1M visits, one server process).
TARGET_P95_MS = 50.0
TARGET_VISITS_PER_S = 300.0
TARGET_FIRST_VISIT_KB = 60.0
TARGET_RSS_MB = 300.0


# --- the dataset ------------------------------------------------------------------------


def _db_path(customers: int, visits: int) -> Path:
    """bench-100k.db for the full size, bench-<customers>-<visits>.db otherwise."""
    if (customers, visits) == (100_000, 1_000_000):
        return DATA / "bench-100k.db"
    return DATA / f"bench-{customers}-{visits}.db"


def ensure_db(customers: int, visits: int, rebuild: bool) -> tuple[Path, dict]:
    """Build the dataset unless a complete one exists; return its path and build facts."""
    from db.demo import seed_demo
    from db.migrate import upgrade

    path = _db_path(customers, visits)
    meta_path = path.with_suffix(".json")
    url = f"sqlite:///{path}"
    if path.exists() and meta_path.exists() and not rebuild:
        meta = json.loads(meta_path.read_text())
        if meta.get("customers") == customers and meta.get("visits") == visits:
            print(f"reusing {path.relative_to(ROOT)} (built in {meta['load_seconds']:.0f} s)")
            upgrade(url)
            return path, meta
    DATA.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm", ".json"):
        Path(str(path) + suffix).unlink(missing_ok=True)
    meta_path.unlink(missing_ok=True)
    print(f"building {path.relative_to(ROOT)}: {customers} customers, {visits} visits …")
    t0 = time.perf_counter()
    upgrade(url)
    summary = seed_demo(url, customers=customers, visits=visits)
    took = time.perf_counter() - t0
    print(f"{summary}\nload (migrate + seed) took {took:.1f} s")
    meta = {
        "customers": customers,
        "visits": visits,
        "load_seconds": took,
        "summary": summary,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    meta_path.write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    return path, meta


@dataclass
class Cast:
    """Who is signed in and what they can see."""

    rep: int
    clerk: int
    manager: int
    rep_customers: list[int]
    clerk_last4: list[str]
    queries: list[str]


def pick_cast(path: Path) -> Cast:
    """The rep, clerk and manager with the most customers, and queries from their data."""
    con = sqlite3.connect(path)
    q = con.execute
    rep, rep_team = q(
        "SELECT u.id, u.team_id FROM user u JOIN customer c ON c.owner_id = u.id"
        " WHERE u.role = 'rep' AND u.active GROUP BY u.id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    clerk, store = q(
        "SELECT u.id, u.team_id FROM user u JOIN customer c ON c.team_id = u.team_id"
        " WHERE u.role = 'clerk' AND u.active GROUP BY u.id ORDER BY count(*) DESC LIMIT 1"
    ).fetchone()
    manager = q(
        "SELECT id FROM user WHERE role = 'manager' AND active AND team_id = ? LIMIT 1",
        (rep_team,),
    ).fetchone()[0]
    own = q(
        "SELECT id, name, name_initials, phone_last4 FROM customer WHERE owner_id = ? ORDER BY id",
        (rep,),
    ).fetchall()
    clerk_last4 = [
        r[0]
        for r in q(
            "SELECT phone_last4 FROM customer WHERE team_id = ? ORDER BY random() LIMIT 200",
            (store,),
        )
    ]
    con.close()
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
    """One row of the table."""

    name: str
    result: LoadResult
    floor: LoadResult
    note: str = ""


CSRF_RE = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')


def record_visits(
    origin: str,
    cookies: dict[str, str],
    customers: list[int],
    *,
    concurrency: int,
    seconds: float,
) -> tuple[LoadResult, list[str]]:
    """POST visits in a closed loop (the HTMX two-tap); return the result and acked keys."""
    with httpx.Client(base_url=origin, cookies=cookies, timeout=30) as client:
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
    keys: dict[int, str] = {}
    acked: list[str] = []

    def make(i: int) -> tuple[str, str, dict[str, str], bytes]:
        keys[i] = key = uuid.uuid4().hex
        body = urlencode(
            {
                "outcome": "met_interested",
                "idempotency_key": key,
                "device_at": datetime.now(UTC).isoformat(),
            }
        ).encode()
        return "POST", f"/customers/{customers[abs(i) % len(customers)]}/visits", headers, body

    result = asyncio.run(
        _fast(
            origin,
            make,
            concurrency=concurrency,
            seconds=seconds,
            expect=200,
            on_ok=lambda i: acked.append(keys[i]),
        )
    )
    return result, acked


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


def count_keys(path: Path, keys: list[str]) -> int:
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


def _wire_size(
    client: httpx.Client, path: str, headers: dict | None = None
) -> tuple[int, str, str]:
    """Bytes of a response body as sent (still compressed), its encoding and its text."""
    r = client.get(path, headers=headers)
    r.raise_for_status()
    return r.num_bytes_downloaded, r.headers.get("content-encoding", "identity"), r.text


ASSET_RE = re.compile(r'(?:href|src)="(/static/[^"]+\.(?:css|js)(?:\?[^"]*)?)"')


def transfer_sizes(origin: str, rep: dict[str, str], customer_id: int, query: str) -> dict:
    """First visit to a customer page (page + linked CSS/JS) and one HTMX search swap."""
    out: dict = {"assets": []}
    with httpx.Client(base_url=origin, cookies=rep, headers=ENCODING, timeout=30) as client:
        size, enc, html = _wire_size(client, f"/customers/{customer_id}")
        out["page"] = (size, enc)
        total = size
        for asset in dict.fromkeys(ASSET_RE.findall(html)):
            a_size, a_enc, _ = _wire_size(client, asset)
            out["assets"].append((asset.split("?")[0], a_size, a_enc))
            total += a_size
        out["first_visit"] = total
        s_size, s_enc, _ = _wire_size(client, f"/customers?q={quote(query)}", HX)
        out["swap"] = (s_size, s_enc)
    return out


def renderer_peak_mb(log_path: Path) -> float:
    """The largest peak RSS the PDF renderer child reported in the server log (MB)."""
    peaks = [
        float(m.group(1))
        for m in re.finditer(r"renderer peak RSS (\d+) MB", log_path.read_text(errors="replace"))
    ]
    return max(peaks, default=0.0)


def peak_rss_mb(pid: int) -> tuple[float, float]:
    """VmHWM (peak) and VmRSS (now) of a process, in MB."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmHWM", "VmRSS"):
            fields[key] = int(value.split()[0]) / 1024
    return fields.get("VmHWM", 0.0), fields.get("VmRSS", 0.0)


# --- the report -------------------------------------------------------------------------


def _rate(rps: float) -> str:
    """Requests per second: whole numbers, one decimal below 10."""
    return f"{rps:.1f}" if rps < 10 else f"{rps:.0f}"


def _x(value: float, floor: float) -> str:
    """A figure's ratio to the floor's figure."""
    return f"{value / floor:.1f}×" if floor else "-"


def table(cells: list[Cell]) -> list[str]:
    """Markdown table: each figure with its ratio to the floor of the same concurrency."""
    lines = [
        "| what | conc | req/s (× floor) | p50 ms (× floor) | p95 ms (× floor) "
        "| p99 ms (× floor) | errors | note |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for c in cells:
        r, f = c.result, c.floor
        lines.append(
            f"| {c.name} | {r.concurrency} | {_rate(r.rps)} ({_x(r.rps, f.rps)}) "
            f"| {r.p50_ms:.1f} ({_x(r.p50_ms, f.p50_ms)}) "
            f"| {r.p95_ms:.1f} ({_x(r.p95_ms, f.p95_ms)}) "
            f"| {r.p99_ms:.1f} ({_x(r.p99_ms, f.p99_ms)}) | {r.errors} | {c.note} |"
        )
    return lines


def write_docs(text: str) -> None:
    """Replace (or append) the "## Full run" section of docs/BENCHMARKS.md."""
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


# --- main -------------------------------------------------------------------------------


def main() -> None:
    """Build or reuse the dataset, measure everything against one server, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--visits", type=int, default=1_000_000)
    parser.add_argument("--quick", action="store_true", help="10,000 customers, 100,000 visits")
    parser.add_argument("--seconds", type=float, default=4.0, help="per measured cell")
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--no-docs", action="store_true", help="do not touch BENCHMARKS.md")
    args = parser.parse_args()
    if args.quick:
        args.customers, args.visits = 10_000, 100_000
    started = time.perf_counter()
    command = (
        "make bench" if sys.argv[1:] == [] else "python -m bench.run " + shlex.join(sys.argv[1:])
    )
    print(f"machine: {machine()}")
    load_start = os.getloadavg()[0]
    path, meta = ensure_db(args.customers, args.visits, args.rebuild)
    cast = pick_cast(path)
    print(
        f"rep #{cast.rep} ({len(cast.rep_customers)} own customers), clerk #{cast.clerk},"
        f" manager #{cast.manager}; {len(cast.queries)} search queries"
    )
    secs = args.seconds
    cells: list[Cell] = []
    acked_total = 0
    found_total = 0

    def show(cell: Cell) -> None:
        r = cell.result
        print(
            f"  {cell.name:<30} c={r.concurrency:<2} {_rate(r.rps):>7}/s  p50 {r.p50_ms:6.1f}"
            f"  p95 {r.p95_ms:6.1f}  p99 {r.p99_ms:6.1f}  err {r.errors} {cell.note}",
            flush=True,
        )

    with Server(path) as srv:
        rep = srv.sign_in(cast.rep)
        clerk = srv.sign_in(cast.clerk)
        manager = srv.sign_in(cast.manager)
        static = srv.static_path()
        search = [f"/customers?q={quote(q)}" for q in cast.queries]
        pages = [
            f"/customers/{i}" for i in cast.rep_customers[:: max(1, len(cast.rep_customers) // 200)]
        ]
        lookups = [f"/counter?q={d}" for d in cast.clerk_last4]
        floors: dict[int, LoadResult] = {}
        for conc in (1, 16):
            floor = load(srv.origin, [static], concurrency=conc, seconds=secs)
            floors[conc] = floor
            for cell in (
                Cell("floor: static app.css", floor, floor),
                Cell(
                    "/healthz (SELECT 1, signed in)",
                    load(srv.origin, ["/healthz"], concurrency=conc, seconds=secs, cookies=rep),
                    floor,
                    "the whole stack for a no-op query",
                ),
                Cell(
                    "search fragment (rep, mixed)",
                    load(
                        srv.origin, search, concurrency=conc, seconds=secs, cookies=rep, headers=HX
                    ),
                    floor,
                ),
                Cell(
                    "customer page (rep)",
                    load(srv.origin, pages, concurrency=conc, seconds=secs, cookies=rep),
                    floor,
                ),
                Cell(
                    "Today page (rep)",
                    load(srv.origin, ["/"], concurrency=conc, seconds=secs, cookies=rep),
                    floor,
                ),
                Cell(
                    "pipeline board (manager)",
                    load(
                        srv.origin, ["/pipeline"], concurrency=conc, seconds=secs, cookies=manager
                    ),
                    floor,
                    "two aggregate queries over the team",
                ),
                Cell(
                    "filtered list (manager)",
                    load(
                        srv.origin,
                        [f"/customers?owner={cast.rep}&level=A&due=overdue"],
                        concurrency=conc,
                        seconds=secs,
                        cookies=manager,
                    ),
                    floor,
                    "owner + level + overdue, with the count",
                ),
                Cell(
                    "counter lookup (clerk, 4 digits)",
                    load(
                        srv.origin,
                        lookups,
                        concurrency=conc,
                        seconds=secs,
                        cookies=clerk,
                        headers=HX,
                    ),
                    floor,
                ),
            ):
                cells.append(cell)
                show(cell)
            result, acked = record_visits(
                srv.origin, rep, cast.rep_customers, concurrency=conc, seconds=secs
            )
            found = count_keys(path, acked)
            acked_total += len(acked)
            found_total += found
            cell = Cell(
                "record visit (rep, POST)",
                result,
                floor,
                f"{found}/{len(acked)} acknowledged visits in the DB",
            )
            cells.append(cell)
            show(cell)
        for conc in (1, 4):
            floor = floors.get(conc) or load(srv.origin, [static], concurrency=conc, seconds=secs)
            if conc not in floors:
                floors[conc] = floor
                cells.append(Cell("floor: static app.css", floor, floor))
                show(cells[-1])
            cell = Cell(
                "weekly report PDF (manager)",
                load(
                    srv.origin,
                    ["/reports/weekly/pdf"],
                    concurrency=conc,
                    seconds=max(secs, 5.0),
                    cookies=manager,
                ),
                floor,
            )
            cells.append(cell)
            show(cell)
        sizes = transfer_sizes(srv.origin, rep, cast.rep_customers[0], cast.queries[1])
        hwm, rss = peak_rss_mb(srv.proc.pid)
        child_mb = renderer_peak_mb(srv.log_path)

    # --- report ---
    by = {(c.name, c.result.concurrency): c.result for c in cells}
    first_kb = sizes["first_visit"] / 1024
    checks = [
        (
            "search p95 at 16 clients",
            by[("search fragment (rep, mixed)", 16)].p95_ms,
            "<",
            TARGET_P95_MS,
            "ms",
        ),
        (
            "customer page p95 at 16 clients",
            by[("customer page (rep)", 16)].p95_ms,
            "<",
            TARGET_P95_MS,
            "ms",
        ),
        (
            "visits recorded per second (best)",
            max(by[("record visit (rep, POST)", c)].rps for c in (1, 16)),
            ">=",
            TARGET_VISITS_PER_S,
            "/s",
        ),
        ("first visit to a customer page", first_kb, "<", TARGET_FIRST_VISIT_KB, "KB"),
        ("server peak RSS (VmHWM)", hwm, "<", TARGET_RSS_MB, "MB"),
    ]
    lost = acked_total - found_total
    lines = [
        SECTION,
        "",
        f"Written by `bench/run.py` on {datetime.now(UTC).strftime('%Y-%m-%d %H:%M UTC')}.",
        "",
        f"- Command: `{command}`",
        f"- Machine: {machine()}",
        f"- Data: {meta.get('summary', '')} (`{path.relative_to(ROOT)}`); "
        f"load with `seed_demo` (migrate + seed + ANALYZE): **{meta['load_seconds']:.0f} s**",
        f"- One `kehu serve` process on 127.0.0.1; the client (a lean asyncio HTTP/1.1 "
        "keep-alive loop, `Accept-Encoding: br, gzip`) shares the same CPUs; "
        f"closed loop, {secs:g} s per cell after one warm-up request per connection. "
        "Ratios are to the floor (the static CSS file of the same server) at the same "
        "concurrency (the PDF at 4 clients uses a floor at 4).",
        f"- Load average (1 min) at start / end: {load_start:.2f} / {os.getloadavg()[0]:.2f} "
        "(other work on the machine skews the figures; compare ratios to the floor).",
        "",
        *table(cells),
        "",
        f"Visits: {acked_total} acknowledged, {found_total} found in the database "
        f"({'none lost' if lost == 0 else f'{lost} LOST'}).",
        "",
        "Bytes on the wire (response bodies as sent, `Accept-Encoding: br, gzip`):",
        "",
        f"- First visit to a customer page: **{first_kb:.1f} KB** — page "
        f"{sizes['page'][0] / 1024:.1f} KB ({sizes['page'][1]})"
        + "".join(f", {a} {s / 1024:.1f} KB ({e})" for a, s, e in sizes["assets"]),
        f"- HTMX search swap: {sizes['swap'][0] / 1024:.1f} KB ({sizes['swap'][1]})",
        f"- Server peak RSS (VmHWM at the end): **{hwm:.0f} MB** (RSS now {rss:.0f} MB)",
        f"- PDF renderer child (one process, renders queue): peak RSS {child_mb:.0f} MB; it"
        " exits 60 s after the last PDF, so the server never holds that memory",
        "",
        "Targets:",
        "",
    ]
    for label, value, op, target, unit in checks:
        ok = value < target if op == "<" else value >= target
        lines.append(
            f"- {label}: {value:.1f} {unit} (target {op} {target:g} {unit}) — "
            + ("met" if ok else "MISSED")
        )
    lines.append(f"- visits lost: {lost} (target 0) — {'met' if lost == 0 else 'MISSED'}")
    lines.append("")
    # The audit log page on its own 1,000,000-event database (bench/audit_bench.py).
    from bench.audit_bench import run as audit_run

    events = 100_000 if args.quick else 1_000_000
    lines += ["Audit log page (filtered page, in-process, target p95 < 100 ms):", ""]
    lines += [audit_run(events=events, rounds=20), ""]
    took = time.perf_counter() - started
    lines.append(f"Whole run: {took:.0f} s.")
    text = "\n".join(lines) + "\n"
    print("\n" + text)
    if not args.no_docs:
        write_docs(text)
        print(f"wrote the '{SECTION}' section of {DOCS.relative_to(ROOT)}")
    # Durability: SIGKILL the server mid-load on its own small database (bench/durability.py).
    from bench import durability

    durability.run(
        customers=2000,
        seconds=12,
        clients=16,
        replays=0.2,
        docs=not args.no_docs,
        command="python -m bench.durability",
    )


if __name__ == "__main__":
    main()
