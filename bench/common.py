"""Shared benchmark helpers: a real `kehu serve` on loopback, sign-in, a bounded load generator.

Typical use::

    with Server(db_path) as srv:
        cookie = srv.sign_in(user_id)
        floor = run_load(srv.origin, [srv.static_path()], concurrency=16, seconds=5)
        page = run_load(srv.origin, ["/customers/1"], concurrency=16, seconds=5, cookies=cookie)
        print(format_row("customer page", page, floor))

Numbers come from a closed-loop generator: `concurrency` keep-alive connections each send
a GET (with `Accept-Encoding: br, gzip`, like a browser), wait for the answer and send the
next, for a fixed time. The floor is the same load
against a static file of the same server, so the ratio shows what a page costs on top
of the HTTP stack itself (client and server share this machine's CPUs).
"""

import asyncio
import os
import platform
import secrets
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]


def machine() -> str:
    """Describe the machine: CPU count and model, Python and SQLite versions."""
    model = platform.processor() or "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return (
        f"{os.cpu_count()} CPUs (nproc), {model}; Python {platform.python_version()}, "
        f"SQLite {sqlite3.sqlite_version}"
    )


def free_port() -> int:
    """Ask the OS for a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`kehu serve` in a subprocess on 127.0.0.1 with a given SQLite database file."""

    def __init__(self, db_path: Path, *, port: int | None = None, env: dict | None = None):
        """Prepare (not start) a server for a database file."""
        self.db_path = Path(db_path).resolve()
        self.port = port or free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "KEHU_DATABASE_URL": f"sqlite:///{self.db_path}",
            "KEHU_ORIGIN": self.origin,
            "KEHU_SECRET_KEY": "bench-secret-" + "z" * 40,
            "KEHU_RATE_LIMIT_PER_MINUTE": "100000",
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None
        self.log_path = self.db_path.with_suffix(".server.log")

    def __enter__(self) -> "Server":
        """Start the server and wait until /healthz answers."""
        kehu = str(Path(sys.executable).parent / "kehu")
        self._log = open(self.log_path, "w")
        self.proc = subprocess.Popen(
            [kehu, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            cwd=self.db_path.parent,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                if httpx.get(self.origin + "/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError("kehu serve did not start:\n" + self.log_path.read_text())

    def __exit__(self, *exc) -> None:
        """Stop the server."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
        if getattr(self, "_log", None):
            self._log.close()

    def sign_in(self, user_id: int) -> dict[str, str]:
        """Write a server-side session for a user; return the cookie to send."""
        return sign_in(self.db_path, user_id)

    def static_path(self) -> str:
        """Return the URL path of a static file the server serves (the floor)."""
        from web.core.templating import static_url

        return static_url("css/app.css")


def sign_in(db_path: Path, user_id: int) -> dict[str, str]:
    """Insert a web_session row for a user (hash via web.core.sessions.hash_token)."""
    from web.core.sessions import COOKIE, hash_token

    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    con = sqlite3.connect(db_path)
    with con:
        con.execute(
            "INSERT INTO web_session (id_hash, user_id, data, created_at, expires_at)"
            " VALUES (?, ?, '{}', ?, ?)",
            (
                hash_token(token),
                user_id,
                now.strftime("%Y-%m-%d %H:%M:%S.%f"),
                (now + timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S.%f"),
            ),
        )
    con.close()
    return {COOKIE: token}


@dataclass(frozen=True)
class LoadResult:
    """What a load run measured."""

    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    concurrency: int

    @property
    def rps(self) -> float:
        """Completed requests per second."""
        return self.requests / self.seconds if self.seconds else 0.0


def summarise(
    latencies: list[float], *, errors: int, seconds: float, concurrency: int
) -> "LoadResult":
    """Turn the latencies (ms) of one load run into a LoadResult."""
    latencies = sorted(latencies)
    return LoadResult(
        requests=len(latencies),
        errors=errors,
        seconds=seconds,
        p50_ms=statistics.median(latencies) if latencies else 0.0,
        p95_ms=_percentile(latencies, 95),
        p99_ms=_percentile(latencies, 99),
        concurrency=concurrency,
    )


def _percentile(sorted_values: list[float], p: float) -> float:
    """Return the p-th percentile (nearest rank) of sorted values."""
    if not sorted_values:
        return 0.0
    k = max(0, min(len(sorted_values) - 1, round(p / 100 * len(sorted_values) + 0.5) - 1))
    return sorted_values[k]


async def _read_response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length or chunked body); return its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ", 2)[1])
    fields = {}
    for line in lines[1:]:
        key, sep, value = line.partition(":")
        if sep:
            fields[key.strip().lower()] = value.strip()
    if "content-length" in fields:
        await reader.readexactly(int(fields["content-length"]))
    elif fields.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def _load(
    origin: str,
    paths: Sequence[str] | Callable[[int], str],
    *,
    concurrency: int,
    seconds: float,
    cookies: dict[str, str] | None,
    headers: dict[str, str] | None,
    expect: int,
) -> LoadResult:
    """Run `concurrency` closed-loop keep-alive connections for `seconds`.

    A minimal HTTP/1.1 client on asyncio streams: httpx costs more CPU per request than
    the server spends on a static file, and client and server share this machine's CPUs.
    """
    pick = paths if callable(paths) else (lambda i: paths[i % len(paths)])
    hostport = origin.split("://", 1)[1]
    host, port = hostport.rsplit(":", 1)
    fixed = {"Host": hostport, "Accept-Encoding": "br, gzip", **(headers or {})}
    if cookies:
        fixed["Cookie"] = "; ".join(f"{k}={v}" for k, v in cookies.items())
    tail = "".join(f"{k}: {v}\r\n" for k, v in fixed.items()) + "\r\n"
    latencies: list[float] = []
    errors = 0
    counter = 0

    async def one(reader, writer, i: int) -> bool:
        writer.write(f"GET {pick(i)} HTTP/1.1\r\n{tail}".encode())
        await writer.drain()
        return await _read_response(reader) == expect

    conns = [await asyncio.open_connection(host, int(port)) for _ in range(concurrency)]
    # Warm up: one request per connection, not measured.
    await asyncio.gather(*(one(r, w, k) for k, (r, w) in enumerate(conns)))
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
            latencies.append((time.perf_counter() - t0) * 1000)
            if not ok:
                errors += 1

    await asyncio.gather(*(worker(r, w) for r, w in conns))
    elapsed = time.perf_counter() - start
    for _r, w in conns:
        w.close()
    return summarise(latencies, errors=errors, seconds=elapsed, concurrency=concurrency)


def run_load(
    origin: str,
    paths: Sequence[str] | Callable[[int], str],
    *,
    concurrency: int,
    seconds: float = 5.0,
    cookies: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
    expect: int = 200,
) -> LoadResult:
    """Measure GET requests over `paths` (a list cycled through, or i → path)."""
    return asyncio.run(
        _load(
            origin,
            paths,
            concurrency=concurrency,
            seconds=seconds,
            cookies=cookies,
            headers=headers,
            expect=expect,
        )
    )


HEADER = (
    f"{'what':<34} {'conc':>4} {'req/s':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} "
    f"{'errors':>6} {'vs floor':>8}"
)


def format_row(name: str, result: LoadResult, floor: LoadResult | None = None) -> str:
    """One line of the results table; `vs floor` is this req/s over the floor's req/s."""
    ratio = f"{result.rps / floor.rps:.2f}" if floor and floor.rps else "-"
    return (
        f"{name:<34} {result.concurrency:>4} {result.rps:>8.0f} {result.p50_ms:>8.1f} "
        f"{result.p95_ms:>8.1f} {result.p99_ms:>8.1f} {result.errors:>6} {ratio:>8}"
    )
