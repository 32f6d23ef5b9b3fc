"""Several `kehu serve` worker processes: what one process used to keep in memory works across them.

These tests start real servers (`kehu serve --workers 2`, a subprocess) on a SQLite file.
Each worker listens on its own SO_REUSEPORT socket and the kernel picks one per new
connection, so to send requests to one particular worker a test opens connections until one
lands on it (the worker that holds the server end, read from /proc) and keeps that one.
"""

import asyncio
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.imports_support import csv_bytes
from tests.support import html
from web.imports import jobs

# These servers run on their own SQLite file whatever the run's backend, so the PostgreSQL
# run would only repeat them (PostgreSQL with a killed worker: bench/durability.py --postgres).
pytestmark = pytest.mark.sqlite_only("the multi-worker servers use their own SQLite file")

CSRF_RE = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')


# --- the rule: whose job is gone ------------------------------------------------------------


NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def test_a_live_process_on_this_host_keeps_its_job_even_with_an_old_heartbeat_not_yet_stale():
    recent = NOW - timedelta(seconds=5)
    assert not jobs.owner_gone("h1:42", recent, now=NOW, host="h1", alive=lambda pid: True)


def test_a_dead_process_on_this_host_loses_its_job_at_once():
    recent = NOW - timedelta(seconds=1)
    assert jobs.owner_gone("h1:42", recent, now=NOW, host="h1", alive=lambda pid: pid != 42)


def test_a_process_on_another_host_is_judged_by_its_heartbeat_only():
    fresh, stale = NOW - timedelta(seconds=10), NOW - timedelta(minutes=5)
    never = lambda pid: False  # noqa: E731 (pids of another host mean nothing here)
    assert not jobs.owner_gone("h2:42", fresh, now=NOW, host="h1", alive=never)
    assert jobs.owner_gone("h2:42", stale, now=NOW, host="h1", alive=never)


def test_a_job_without_owner_or_start_is_gone():
    assert jobs.owner_gone("", None, now=NOW, host="h1", alive=lambda pid: True)


# --- real servers ---------------------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _children(pid: int) -> list[int]:
    """The worker processes of a uvicorn parent (spawned children)."""
    found = []
    try:
        raw = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    for child in map(int, raw):
        try:
            cmd = Path(f"/proc/{child}/cmdline").read_bytes()
        except OSError:
            continue
        if b"spawn_main" in cmd:
            found.append(child)
    return found


def _tcp_inode(server_port: int, client_port: int) -> int | None:
    """The socket inode of the server end of a 127.0.0.1 connection, from /proc/net/tcp."""
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1].split(":")[1], fields[2].split(":")[1]
        if int(local, 16) == server_port and int(remote, 16) == client_port:
            return int(fields[9])
    return None


def _socket_links(pid: int) -> set[str]:
    """What the open file descriptors of a process point at (e.g. "socket:[123]")."""
    links = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            links.add(os.readlink(fd))
        except OSError:
            continue  # closed meanwhile
    return links


class Workers:
    """`kehu serve --workers 2` on a SQLite file, with its log and its workers' pids."""

    def __init__(self, db_path: Path, env: dict[str, str] | None = None):
        """Start the server and wait until both workers have started."""
        self.db_path = db_path
        self.port = _free_port()
        self.origin = f"http://127.0.0.1:{self.port}"
        self.log_path = db_path.with_suffix(f".{self.port}.log")
        self._log = open(self.log_path, "w")  # noqa: SIM115 (closed in stop())
        kehu = str(Path(sys.executable).parent / "kehu")
        self.proc = subprocess.Popen(
            [kehu, "serve", "--host", "127.0.0.1", "--port", str(self.port), "--workers", "2"],
            cwd=db_path.parent,
            env={
                **os.environ,
                "KEHU_DATABASE_URL": f"sqlite:///{db_path}",
                "KEHU_ORIGIN": self.origin,
                "KEHU_SECRET_KEY": "workers-test-secret-" + "w" * 40,
                **(env or {}),
            },
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        try:
            for pid in self.wait_workers(2):
                self.wait_started(pid)
        except BaseException:
            self.stop()
            raise

    def log(self) -> str:
        """Everything the server and its workers printed so far."""
        return self.log_path.read_text(errors="replace")

    def wait_workers(self, count: int, *, besides: tuple[int, ...] = ()) -> list[int]:
        """Wait until `count` workers run (none of them in `besides`); their pids."""
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            pids = _children(self.proc.pid)
            if len(pids) == count and not set(pids) & set(besides):
                return pids
            if self.proc.poll() is not None:
                break
            time.sleep(0.1)
        raise AssertionError("the workers did not start:\n" + self.log())

    def wait_started(self, pid: int) -> None:
        """Wait until that worker's start-up hooks have run (it logs its import job lease)."""
        mark = f"import job lease of {socket.gethostname()}:{pid} started"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if mark in self.log():
                return
            time.sleep(0.1)
        raise AssertionError(f"worker {pid} did not start:\n" + self.log())

    def kill_worker(self, pid: int) -> int:
        """SIGKILL one worker; wait for the replacement to start; return its pid."""
        others = tuple(p for p in _children(self.proc.pid) if p != pid)
        os.kill(pid, signal.SIGKILL)
        [new] = [p for p in self.wait_workers(2, besides=(pid,)) if p not in others]
        self.wait_started(new)
        return new

    def worker_of(self, client_port: int) -> int | None:
        """The worker process holding the server end of the connection from `client_port`."""
        inode = _tcp_inode(self.port, client_port)
        for pid in _children(self.proc.pid):
            if inode is not None and f"socket:[{inode}]" in _socket_links(pid):
                return pid
        return None

    @contextmanager
    def client_on(self, pid: int, **options) -> Iterator[httpx.Client]:
        """A keep-alive HTTP client whose one connection that worker serves."""
        client = self._client_on(pid, **options)
        try:
            yield client
        finally:
            client.close()

    def _client_on(self, pid: int, **options) -> httpx.Client:
        """Open connections until one lands on that worker; the client that holds it."""
        for _ in range(200):
            client = httpx.Client(
                base_url=self.origin, timeout=30, limits=httpx.Limits(max_connections=1), **options
            )
            answer = client.get("/healthz")
            port = answer.extensions["network_stream"].get_extra_info("client_addr")[1]
            if self.worker_of(port) == pid:
                return client
            client.close()
        raise AssertionError(f"no connection landed on worker {pid}")

    def stop(self) -> None:
        """Stop the server and its workers."""
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._log.close()


def _database(path: Path, *, customers: int = 300) -> None:
    """A migrated database with demo teams, staff and customers; everyone reads English."""
    from db.demo import seed_demo
    from db.migrate import upgrade

    url = f"sqlite:///{path}"
    upgrade(url)
    seed_demo(url, customers=customers, visits=customers * 2)
    con = sqlite3.connect(path)
    with con:
        con.execute("UPDATE user SET locale = 'en'")
    con.close()


def _query(path: Path, sql: str, *args) -> list[tuple]:
    con = sqlite3.connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def _session(path: Path, user_id: int) -> dict[str, str]:
    """A server-side session row for the user; the cookie that carries it."""
    from bench.common import sign_in

    return sign_in(path, user_id)


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[Workers]:
    """One two-worker server for the tests of this module that share a database."""
    path = tmp_path_factory.mktemp("workers") / "kehu.db"
    _database(path)
    srv = Workers(path, env={"KEHU_FLOOD_LIMIT_PER_MINUTE": "10"})
    try:
        yield srv
    finally:
        srv.stop()


def _manager(srv: Workers) -> httpx.Client:
    """An HTTP client signed in as a manager (English)."""
    [(uid,)] = _query(
        srv.db_path, "SELECT id FROM user WHERE role = 'manager' AND active ORDER BY id LIMIT 1"
    )
    return httpx.Client(base_url=srv.origin, cookies=_session(srv.db_path, uid), timeout=60)


def _start_import(client: httpx.Client, rows: int) -> tuple[int, str]:
    """Upload, map (as guessed) and run an import of `rows` new customers; (job id, progress)."""
    new = client.get("/imports/new")
    token = CSRF_RE.search(new.text).group(1)
    table = [["客户名称", "手机", "备注"]] + [
        [f"并发客户{n}", f"139{n:08d}", "多进程"] for n in range(rows)
    ]
    uploaded = client.post(
        "/imports/",
        data={"_csrf_token": token},
        files={"file": ("客户.csv", csv_bytes(table), "application/octet-stream")},
    )
    assert uploaded.status_code == 303, uploaded.text
    form = html(client.get(uploaded.headers["location"])).css_first("#import-mapping")
    data = {}
    for node in form.css("select"):
        chosen = node.css_first("option[selected]")
        data[node.attributes["name"]] = chosen.attributes["value"] if chosen else ""
    data["duplicate_mode"] = form.css_first("input[name=duplicate_mode][checked]").attributes[
        "value"
    ]
    data["_csrf_token"] = form.css_first("input[name=_csrf_token]").attributes["value"]
    mapped = client.post(form.attributes["action"], data=data)
    assert mapped.status_code == 303, mapped.text
    run_form = html(client.get(mapped.headers["location"])).css_first("#import-run")
    token = run_form.css_first("input[name=_csrf_token]").attributes["value"]
    started = client.post(run_form.attributes["action"], data={"_csrf_token": token})
    assert started.status_code == 303
    job_id = int(re.search(r"/imports/(\d+)/progress", started.headers["location"]).group(1))
    return job_id, started.headers["location"]


def _job(srv: Workers, job_id: int) -> tuple[str, str, int]:
    """(state, owner, rows done) of an import job."""
    [row] = _query(srv.db_path, "SELECT state, owner, done FROM import_job WHERE id = ?", job_id)
    return row


def _owner_pid(srv: Workers, job_id: int) -> int:
    """The worker that runs the job, as the job row names it."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        state, owner, _done = _job(srv, job_id)
        if owner:
            assert state == "running"
            return int(owner.rpartition(":")[2])
        time.sleep(0.05)
    raise AssertionError("no worker claimed the job")


def _wait_state(srv: Workers, job_id: int, *, seconds: float = 120) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        state, _owner, _done = _job(srv, job_id)
        if state != "running":
            return state
        time.sleep(0.2)
    raise AssertionError("the import did not end")


ROWS = 20_000  # enough rows for a killed owner to stop mid-import
SURVIVE_ROWS = 60_000  # enough for the job to be running while the other worker restarts


def test_an_import_survives_another_workers_start_up(server):
    with _manager(server) as client:
        job_id, progress = _start_import(client, SURVIVE_ROWS)
        owner = _owner_pid(server, job_id)
        [other] = [p for p in _children(server.proc.pid) if p != owner]
        server.kill_worker(other)  # its replacement's start-up sweeps the running jobs
        state, _owner, done = _job(server, job_id)
        assert state == "running", "the job had ended before the other worker restarted"
        assert done < SURVIVE_ROWS
        assert _wait_state(server, job_id, seconds=300) == "done"
        page = html(client.get(progress))
    assert page.css_first("#import-progress").attributes["data-state"] == "done"
    counts = {d.attributes["data-count"]: d.text() for d in page.css("#import-summary dd")}
    assert counts["created"] == str(SURVIVE_ROWS)


def test_a_killed_workers_import_is_marked_stopped_and_the_page_says_why(server):
    with _manager(server) as client:
        job_id, progress = _start_import(client, ROWS)
        owner = _owner_pid(server, job_id)
        server.kill_worker(owner)
        assert _wait_state(server, job_id, seconds=60) == "stopped"
        page = html(client.get(progress))
    section = page.css_first("#import-progress")
    assert section.attributes["data-state"] == "stopped"
    stopped = page.css_first("#import-stopped").text()
    assert "The server process that ran this import stopped before it finished" in stopped
    [(line, done)] = _query(
        server.db_path, "SELECT stopped_at_line, done FROM import_job WHERE id = ?", job_id
    )
    assert 2 <= line <= ROWS + 1 and f"Stopped at line {line}." in stopped
    imported = _query(
        server.db_path,
        "SELECT count(*) FROM import_row WHERE job_id = ? AND action != ''",
        job_id,
    )[0][0]
    assert imported == done  # the rows before the line are imported, and only those


def test_the_flood_guard_counts_sign_in_requests_across_workers(server):
    first, second = _children(server.proc.pid)
    answers = []
    with server.client_on(first) as one, server.client_on(second) as other:
        for client, guesses in ((one, range(5)), (other, range(5, 10))):
            for i in guesses:
                answers.append(client.get(f"/enroll/guess{i}"))
        assert [r.status_code for r in answers] == [404] * 10
        refused = one.get("/enroll/guess10")
    assert refused.status_code == 429  # the 11th of 10 a minute, whichever worker counted


def test_recently_viewed_on_today_lists_a_page_another_worker_served(server):
    [(rep, customer, name)] = _query(
        server.db_path,
        "SELECT u.id, c.id, c.name FROM user u JOIN customer c ON c.owner_id = u.id"
        " WHERE u.role = 'rep' AND u.active AND c.next_follow_up_on > date('now', '+2 days')"
        " ORDER BY c.id LIMIT 1",
    )  # not due: Today lists a due customer among the follow-ups instead
    cookie = _session(server.db_path, rep)
    first, second = _children(server.proc.pid)
    with (
        server.client_on(first, cookies=cookie) as one,
        server.client_on(second, cookies=cookie) as other,
    ):
        assert one.get(f"/customers/{customer}").status_code == 200
        time.sleep(0.2)  # a person's tap; the view is written right after the page was answered
        today = html(other.get("/"))
    heading = today.css_first("#recent-heading")
    assert heading is not None
    section = heading.parent
    assert name in section.text()


def test_the_daily_pool_return_runs_once_with_two_workers(tmp_path):
    from db.engine import make_engine, make_sessionmaker
    from db.pool import pool_rules_set
    from domain.enums import Level
    from domain.pool import PoolRules

    path = tmp_path / "kehu.db"
    _database(path, customers=400)

    async def rules() -> None:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        async with make_sessionmaker(engine)() as db:
            days = {Level.A: 1, Level.B: 1, Level.C: 1}
            await pool_rules_set(db, rules=PoolRules(return_days=days, run_hour=0))
            await db.commit()
        await engine.dispose()

    asyncio.run(rules())
    srv = Workers(path, env={"KEHU_POOL_CHECK_SECONDS": "0.5"})
    try:
        time.sleep(4)  # about eight checks in each worker
        log = srv.log()
    finally:
        srv.stop()
    runs = re.findall(r"pool reclaim returned (\d+) customers", log)
    assert len(runs) == 1, log
    returns = _query(
        path, "SELECT customer_id, count(*) FROM pool_event WHERE kind = 'return' GROUP BY 1"
    )
    assert int(runs[0]) == len(returns) > 0
    assert all(n == 1 for _cid, n in returns)
    [(day,)] = _query(path, "SELECT last_day FROM pool_lease")
    assert day is not None


async def _busy_round(srv: "Workers", connections: int, requests: int) -> list[int | None]:
    """Open `connections` at once, send `requests` on each (all in flight together).

    Returns the worker that serves each connection, looked up before they are closed.
    """
    opened = [await asyncio.open_connection("127.0.0.1", srv.port) for _ in range(connections)]
    ask = b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"

    async def use(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        for _ in range(requests):
            writer.write(ask)
            head = await reader.readuntil(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200")
            length = int(re.search(rb"content-length: (\d+)", head, re.I).group(1))
            await reader.readexactly(length)

    try:
        await asyncio.gather(*(use(r, w) for r, w in opened))
        return [srv.worker_of(w.get_extra_info("sockname")[1]) for _r, w in opened]
    finally:
        for _r, w in opened:
            w.close()


def test_connections_opened_together_are_spread_over_the_workers(server):
    # Like 16 phones (or a proxy's upstream pool) on a busy server: uvicorn's shared listening
    # socket let the worker that was awake take the whole burst (16 of 16 bench connections on
    # one worker in 3 rounds of 4), leaving the other's CPU idle while the first one's clients
    # queued. With a socket per worker the kernel spreads them.
    first, second = _children(server.proc.pid)
    held = []
    for _round in range(3):
        held += asyncio.run(_busy_round(server, 16, 20))
    assert held.count(first) + held.count(second) == 48, held
    assert min(held.count(first), held.count(second)) >= 12, held  # binomial: ~1 in 4,000


def test_serve_runs_the_given_number_of_worker_processes(server):
    assert "2 worker processes" in server.log()
    assert len(_children(server.proc.pid)) == 2


def test_serve_defaults_to_one_worker_per_cpu_and_refuses_a_bad_count(tmp_path):
    from web.cli.main import build_parser, default_workers

    assert build_parser().parse_args(["serve"]).workers is None  # None: default_workers()
    assert default_workers() == len(os.sched_getaffinity(0))
    assert build_parser().parse_args(["serve", "--workers", "3"]).workers == 3
    result = subprocess.run(
        [str(Path(sys.executable).parent / "kehu"), "serve", "--workers", "0"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "--workers: must be between 1 and 64, got 0" in result.stderr
