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
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "out" / "bench"


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


def default_workers() -> int:
    """`kehu serve`'s default worker count (the CPUs this process may use)."""
    from web.cli.main import default_workers as serve_default

    return serve_default()


def free_port() -> int:
    """Ask the OS for a free loopback port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`kehu serve --workers N` in a subprocess on 127.0.0.1, on a SQLite file or a database URL."""

    def __init__(
        self,
        db_path: Path | None = None,
        *,
        url: str | None = None,
        workers: int = 1,
        port: int | None = None,
        env: dict | None = None,
    ):
        """Prepare (not start) a server for a database file (or `url`, e.g. PostgreSQL)."""
        if db_path is None and url is None:
            raise ValueError("a database file or URL is needed")
        self.db_path = Path(db_path).resolve() if db_path is not None else None
        self.url = url or f"sqlite:///{self.db_path}"
        self.workers = workers
        self.port = port or free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.env = {
            **os.environ,
            "KEHU_DATABASE_URL": self.url,
            "KEHU_ORIGIN": self.origin,
            "KEHU_SECRET_KEY": "bench-secret-" + "z" * 40,
            "KEHU_RATE_LIMIT_PER_MINUTE": "100000",
            **(env or {}),
        }
        self.proc: subprocess.Popen | None = None
        self.workdir = self.db_path.parent if self.db_path else OUT
        name = self.db_path.stem if self.db_path else "server"
        self.log_path = self.workdir / f"{name}.{self.port}.server.log"

    def __enter__(self) -> "Server":
        """Start the server and wait until /healthz answers (and every worker runs)."""
        kehu = str(Path(sys.executable).parent / "kehu")
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [
                kehu,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--workers",
                str(self.workers),
            ],
            cwd=self.workdir,
            env=self.env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                up = httpx.get(self.origin + "/healthz", timeout=1).status_code == 200
            except httpx.HTTPError:
                up = False
            if up and (self.workers == 1 or len(self.worker_pids()) == self.workers):
                return self
            time.sleep(0.1)
        self.__exit__(None, None, None)
        raise RuntimeError("kehu serve did not start:\n" + self.log_path.read_text())

    def __exit__(self, *exc) -> None:
        """Stop the server."""
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
            self.proc = None
        if getattr(self, "_log", None):
            self._log.close()

    def worker_pids(self) -> list[int]:
        """The processes that serve requests: the spawned workers, or the server itself."""
        if self.proc is None:
            return []
        if self.workers == 1:
            return [self.proc.pid]
        return spawned_children(self.proc.pid)

    def kill_worker(self) -> int:
        """SIGKILL the busiest worker (uvicorn's supervisor starts another); the killed pid.

        The busiest (most CPU used so far) is the one with requests in flight; killing an
        idle one would prove nothing.
        """
        pid = max(self.worker_pids(), key=cpu_ticks)
        os.kill(pid, signal.SIGKILL)
        return pid

    def sign_in(self, user_id: int) -> dict[str, str]:
        """Write a server-side session for a user; return the cookie to send."""
        return sign_in_url(self.url, user_id)

    def static_path(self) -> str:
        """Return the URL path of a static file the server serves (the floor)."""
        from web.core.templating import static_url

        return static_url("css/app.css")


def spawned_children(pid: int) -> list[int]:
    """Child processes of `pid` started by multiprocessing's spawn (uvicorn's workers)."""
    found = []
    try:
        raw = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    for child in map(int, raw):
        try:
            if b"spawn_main" in Path(f"/proc/{child}/cmdline").read_bytes():
                found.append(child)
        except OSError:
            continue
    return found


def cpu_ticks(pid: int) -> int:
    """User + system CPU time a process has used (clock ticks); 0 once it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return int(fields[11]) + int(fields[12])


def rss_mb(pid: int) -> tuple[float, float]:
    """VmHWM (peak) and VmRSS (now) of a process in MB; zeros once it is gone."""
    fields = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                fields[key] = int(value.split()[0]) / 1024
    except OSError:
        pass
    return fields.get("VmHWM", 0.0), fields.get("VmRSS", 0.0)


class RssWatch:
    """Samples every worker's peak RSS (VmHWM) twice a second, killed workers included."""

    def __init__(self, server: Server):
        """Watch the workers of a running server."""
        self.server = server
        self.peaks: dict[int, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(0.5)

    def sample(self) -> None:
        """Read every worker's VmHWM now."""
        for pid in self.server.worker_pids():
            hwm, _now = rss_mb(pid)
            if hwm:
                self.peaks[pid] = max(self.peaks.get(pid, 0.0), hwm)

    def __enter__(self) -> "RssWatch":
        """Start sampling."""
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        """Take a last sample and stop."""
        self.sample()
        self._stop.set()
        self._thread.join()

    @property
    def worst(self) -> float:
        """The largest peak RSS of any worker (MB)."""
        return max(self.peaks.values(), default=0.0)


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


def sign_in_url(url: str, user_id: int) -> dict[str, str]:
    """A web_session row for a user in any database (SQLite or PostgreSQL); the cookie."""
    if url.startswith("sqlite"):
        return sign_in(Path(url.split(":///", 1)[1]), user_id)
    from sqlalchemy import insert

    from db.models import WebSession
    from web.core.sessions import COOKIE, hash_token

    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    row = {
        "id_hash": hash_token(token),
        "user_id": user_id,
        "data": {},
        "created_at": now,
        "expires_at": now + timedelta(days=1),
    }
    with sync_engine(url).begin() as conn:
        conn.execute(insert(WebSession.__table__).values(**row))
    return {COOKIE: token}


_ENGINES: dict = {}


def sync_engine(url: str):
    """A synchronous SQLAlchemy engine for the bench's own queries (one per URL)."""
    from sqlalchemy import create_engine

    from db.engine import sync_url

    if url not in _ENGINES:
        _ENGINES[url] = create_engine(sync_url(url.replace("sqlite:///", "sqlite+aiosqlite:///")))
    return _ENGINES[url]


def sql(url: str, query: str, **params) -> list[tuple]:
    """Run one SQL query on either backend; the rows (`"user"` is quoted for PostgreSQL)."""
    from sqlalchemy import text

    with sync_engine(url).begin() as conn:
        result = conn.execute(text(query), params)
        return [tuple(r) for r in result] if result.returns_rows else []


def count_idempotency_keys(url: str, keys: list[str]) -> tuple[int, int]:
    """(keys with no visit row, keys with more than one row) among these keys."""
    from sqlalchemy import func, select

    from db.models import Visit

    found: dict[str, int] = {}
    with sync_engine(url).connect() as conn:
        for start in range(0, len(keys), 5000):
            chunk = keys[start : start + 5000]
            stmt = (
                select(Visit.idempotency_key, func.count())
                .where(Visit.idempotency_key.in_(chunk))
                .group_by(Visit.idempotency_key)
            )
            found.update({k: n for k, n in conn.execute(stmt)})
    missing = sum(1 for k in keys if k not in found)
    doubled = sum(1 for n in found.values() if n > 1)
    return missing, doubled


PG_BIN = Path("/usr/lib/postgresql/15/bin")


class PgCluster:
    """A throwaway PostgreSQL cluster of the bench's own (initdb, pg_ctl; a socket, no TCP)."""

    def __init__(self, root: Path, *, port: int = 55412):
        """Prepare a cluster whose data lives under `root` (kept between runs to reuse data)."""
        self.root = root
        self.data = root / "data"
        self.port = port
        self.started = False

    @staticmethod
    def unavailable() -> str:
        """Why no cluster can be started here ("" when one can)."""
        if not (PG_BIN / "initdb").exists():
            return f"PostgreSQL binaries not found in {PG_BIN} (apt-get install postgresql)"
        if os.geteuid() == 0 and shutil.which("runuser") is None:
            return "running as root without runuser: cannot start PostgreSQL as postgres"
        return ""

    def _run(self, *cmd: str) -> subprocess.CompletedProcess:
        if os.geteuid() == 0:
            cmd = ("runuser", "-u", "postgres", "--", *cmd)
        return subprocess.run(cmd, check=True, capture_output=True, text=True)

    def url(self, db: str) -> str:
        """The SQLAlchemy URL of a database of this cluster."""
        return f"postgresql+asyncpg://postgres@/{db}?host={self.root}&port={self.port}"

    def start(self) -> "PgCluster":
        """initdb (first time) and start the server on a socket in `root`."""
        self.root.mkdir(parents=True, exist_ok=True)
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")
        if not (self.data / "PG_VERSION").exists():
            self._run(str(PG_BIN / "initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        opts = f"-k {self.root} -p {self.port} -c listen_addresses='' -c max_connections=200"
        self._run(
            str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-o", opts,
            "-l", str(self.root / "log"), "-w", "start",
        )  # fmt: skip
        self.started = True
        return self

    def createdb(self, db: str) -> bool:
        """Create a database; False if it was already there."""
        try:
            self._run(str(PG_BIN / "createdb"), "-h", str(self.root), "-p", str(self.port), db)
        except subprocess.CalledProcessError as exc:
            if "already exists" in (exc.stderr or ""):
                return False
            raise
        return True

    def dropdb(self, db: str) -> None:
        """Drop a database if it exists."""
        self._run(
            str(PG_BIN / "dropdb"), "--if-exists", "-h", str(self.root), "-p", str(self.port), db
        )

    def running(self) -> bool:
        """Whether this cluster's postmaster is up (started here or by an earlier run)."""
        try:
            pid = int((self.data / "postmaster.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return False
        return Path(f"/proc/{pid}").exists()

    def backend_cpu_ticks(self) -> dict[int, int]:
        """CPU used so far by the postmaster and each of its processes (clock ticks, by pid).

        The backends of the bench's connections are children of the postmaster; comparing
        two readings gives the database's own CPU over a cell (a backend that ended between
        them is not counted, so pooled servers, whose backends live on, are measured).
        """
        pid = int((self.data / "postmaster.pid").read_text().split()[0])
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            return {}
        return {p: cpu_ticks(p) for p in (pid, *map(int, kids))}

    def stop(self) -> None:
        """Stop the server (the data stays for the next run)."""
        if self.started:
            for engine in list(_ENGINES.values()):
                engine.dispose()
            self._run(str(PG_BIN / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
            self.started = False


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
