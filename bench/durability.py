"""Durability: visits acknowledged before a SIGKILL (of the server or a worker) are all there.

    .venv/bin/python -m bench.durability [--customers 2000] [--seconds 12] [--clients 16]
                                         [--replays 0.2] [--workers N] [--kill server|worker]
                                         [--postgres] [--docs]

1. Builds a fresh small database (`kehu demo`'s loader, `db.demo.seed_demo`) in out/bench/.
2. Starts one real `kehu serve` on 127.0.0.1 and signs in the reps of one team.
3. `--clients` phones post visits exactly as the two-tap panel does (HTMX, CSRF header, an
   idempotency key). One post in five (`--replays`) re-sends the key of a visit already
   acknowledged, as an offline queue replay would; a post that got no answer is retried
   with the same key until it is acknowledged, like the real client.
4. Part-way through, the server is killed with SIGKILL (no shutdown, no checkpoint) and
   started again on the same port and database; the phones keep going. With
   `--workers N --kill worker`, one worker process is killed instead and uvicorn starts a
   new one while the other workers keep answering. `--postgres` runs it all on a fresh
   database of the bench's own PostgreSQL cluster (bench/data/pg/).
5. Counts in the database: acknowledged keys with no row (lost), keys with more than one
   row (doubled), and replays answered with another visit than the first answer. All must
   be 0. Prints the SQLite `synchronous` setting the server's connections use and what a
   power loss (not a process kill) could cost with it.
"""

import argparse
import asyncio
import random
import re
import shlex
import signal
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.common import (
    ROOT,
    PgCluster,
    Server,
    count_idempotency_keys,
    machine,
    sign_in_url,
    sql,
)

OUT = ROOT / "out" / "bench"
SECTION = "## Durability (SIGKILL mid-run)"
SECTION_WORKER = "## Durability with several workers (one SIGKILLed mid-run)"
CSRF_RE = re.compile(r'name="_csrf_token"\s+value="([^"]+)"')
VISIT_ID_RE = re.compile(r'<li id="visit-(\d+)"')
HX = {"HX-Request": "true"}
OUTCOMES = ["met_interested", "met_not_now", "not_met", "called", "message"]
SYNCHRONOUS = {0: "OFF", 1: "NORMAL", 2: "FULL", 3: "EXTRA"}


def fresh_db(customers: int, cluster: PgCluster | None = None) -> str:
    """A new migrated and seeded database (removed first if it exists); its URL."""
    from db.demo import seed_demo
    from db.migrate import upgrade

    OUT.mkdir(parents=True, exist_ok=True)
    if cluster is not None:
        name = f"durability_{customers}"
        cluster.dropdb(name)
        cluster.createdb(name)
        url = cluster.url(name)
    else:
        path = OUT / f"durability-{customers}.db"
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        url = f"sqlite:///{path}"
    upgrade(url)
    seed_demo(url, customers=customers, visits=customers * 2)
    return url


def phones_of_a_team(url: str, limit: int) -> list[tuple[dict[str, str], list[int]]]:
    """Signed-in reps of the team with the most reps, with customers they own."""
    [(team,)] = sql(
        url,
        "SELECT team_id FROM \"user\" WHERE role = 'rep' AND active GROUP BY team_id"
        " ORDER BY count(*) DESC, team_id LIMIT 1",
    )
    reps = []
    for (uid,) in sql(
        url,
        "SELECT id FROM \"user\" WHERE role = 'rep' AND active AND team_id = :t"
        " ORDER BY id LIMIT :n",
        t=team,
        n=limit,
    ):
        own = [
            r[0]
            for r in sql(
                url, "SELECT id FROM customer WHERE owner_id = :u ORDER BY id LIMIT 200", u=uid
            )
        ]
        if own:
            reps.append((sign_in_url(url, uid), own))
    return reps


def server_synchronous(path: Path) -> int:
    """PRAGMA synchronous as the server's own engine sets it on each connection."""
    from sqlalchemy import text

    from db.engine import make_engine

    async def read() -> int:
        engine = make_engine(f"sqlite+aiosqlite:///{path}")
        try:
            async with engine.connect() as conn:
                return (await conn.execute(text("PRAGMA synchronous"))).scalar_one()
        finally:
            await engine.dispose()

    return asyncio.run(read())


@dataclass
class Tally:
    """What the phones saw."""

    acked: dict[str, int] = field(default_factory=dict)  # key -> visit id of the first answer
    posts: int = 0
    replays: int = 0
    replay_other_visit: int = 0
    failed: int = 0  # no answer or an error status: the key is retried
    retried_acked: int = 0  # failed keys that were later acknowledged
    rejected: int = 0  # answered with a 4xx (never expected here)


class Phone:
    """One rep's phone: a keep-alive client with its CSRF header."""

    def __init__(self, origin: str, cookies: dict[str, str], customers: list[int], seed: int):
        """Prepare a client (the CSRF token is read on first use)."""
        self.client = httpx.AsyncClient(base_url=origin, cookies=cookies, timeout=10)
        self.customers = customers
        self.rng = random.Random(seed)
        self.headers: dict[str, str] | None = None
        self.pending: tuple[int, dict] | None = None  # a post without an answer, to retry
        self.acked: list[str] = []  # this phone's acknowledged keys (a replay sends one)

    async def ready(self) -> None:
        """Read the CSRF token from a customer page (the signed cookie survives restarts)."""
        page = await self.client.get(f"/customers/{self.customers[0]}")
        match = CSRF_RE.search(page.text)
        if page.status_code != 200 or not match:
            raise RuntimeError(f"no CSRF token on the customer page ({page.status_code})")
        self.headers = {**HX, "x-csrftoken": match.group(1)}

    async def post(self, customer_id: int, data: dict) -> tuple[int | None, bool]:
        """Post one visit; return (visit id answered or None, whether to retry the key)."""
        try:
            if self.headers is None:
                await self.ready()
            r = await self.client.post(
                f"/customers/{customer_id}/visits", data=data, headers=self.headers
            )
        except (httpx.HTTPError, RuntimeError):
            return None, True  # no answer: the server is down, send the same key again
        match = VISIT_ID_RE.search(r.text) if r.status_code == 200 else None
        if match:
            return int(match.group(1)), False
        return None, r.status_code >= 500


async def run_phones(
    origin: str,
    reps: list[tuple[dict[str, str], list[int]]],
    *,
    clients: int,
    seconds: float,
    replay_share: float,
    kill_at: float,
    restart,
) -> tuple[Tally, float]:
    """Post visits from `clients` phones for `seconds`, SIGKILL and restart at `kill_at`."""
    tally = Tally()
    sent: dict[str, tuple[int, dict]] = {}  # every acknowledged key and what it sent
    phones = [Phone(origin, *reps[i % len(reps)], seed=i) for i in range(clients)]
    start = time.perf_counter()
    deadline = start + seconds
    downtime = 0.0

    async def killer() -> None:
        nonlocal downtime
        await asyncio.sleep(kill_at)
        t0 = time.perf_counter()
        await asyncio.to_thread(restart)
        downtime = time.perf_counter() - t0

    async def phone(p: Phone) -> None:
        while time.perf_counter() < deadline:
            replay = False
            if p.pending is not None:
                customer_id, data = p.pending
            elif p.acked and p.rng.random() < replay_share:
                key = p.rng.choice(p.acked)
                customer_id, data = sent[key]
                replay = True
            else:
                customer_id = p.rng.choice(p.customers)
                data = {
                    "outcome": p.rng.choice(OUTCOMES),
                    "idempotency_key": str(uuid.uuid4()),
                    "device_at": datetime.now(UTC).isoformat(),
                }
            key = data["idempotency_key"]
            tally.posts += 1
            tally.replays += replay
            visit_id, retry = await p.post(customer_id, data)
            if visit_id is None:
                if retry:
                    tally.failed += 1
                    p.pending = (customer_id, data)
                    await asyncio.sleep(0.05)  # the server is down: do not spin
                else:
                    tally.rejected += 1
                    p.pending = None
                continue
            if p.pending is not None:
                tally.retried_acked += 1
                p.pending = None
            first = tally.acked.setdefault(key, visit_id)
            if first == visit_id and key not in sent:
                p.acked.append(key)
            sent.setdefault(key, (customer_id, data))
            if first != visit_id:
                tally.replay_other_visit += 1

    try:
        await asyncio.gather(killer(), *(phone(p) for p in phones))
    finally:
        for p in phones:
            await p.client.aclose()
    return tally, downtime


def count_in_db(url: str, keys: list[str]) -> tuple[int, int, int]:
    """(acknowledged keys with no row, keys with more than one row, rows for these keys)."""
    missing, doubled = count_idempotency_keys(url, keys)
    rows = 0
    for start in range(0, len(keys), 5000):
        chunk = keys[start : start + 5000]
        marks = ", ".join(f":k{i}" for i in range(len(chunk)))
        [(n,)] = sql(
            url,
            f"SELECT count(*) FROM visit WHERE idempotency_key IN ({marks})",
            **{f"k{i}": k for i, k in enumerate(chunk)},
        )
        rows += n
    return missing, doubled, rows


def main() -> list[str]:
    """Run the durability check, print (and optionally write) the result; exit 1 on a loss."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--seconds", type=float, default=12.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--replays", type=float, default=0.2)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--kill", choices=["server", "worker"], default="server")
    parser.add_argument("--postgres", action="store_true", help="on the bench's PostgreSQL")
    parser.add_argument("--docs", action="store_true", help="write docs/BENCHMARKS.md")
    args = parser.parse_args(sys.argv[1:] if __name__ == "__main__" else [])
    if args.kill == "worker" and args.workers < 2:
        parser.error("--kill worker needs --workers 2 or more")
    return run(
        customers=args.customers,
        seconds=args.seconds,
        clients=args.clients,
        replays=args.replays,
        docs=args.docs,
        command="python -m bench.durability " + shlex.join(sys.argv[1:]),
        workers=args.workers,
        kill=args.kill,
        postgres=args.postgres,
    )


def run(
    *,
    customers: int,
    seconds: float,
    clients: int,
    replays: float,
    docs: bool,
    command: str,
    workers: int = 1,
    kill: str = "server",
    postgres: bool = False,
) -> list[str]:
    """Build, load, kill (the server or one worker), restart, count; return the report lines."""
    print(f"machine: {machine()}", flush=True)
    cluster = None
    if postgres:
        why = PgCluster.unavailable()
        if why:
            print(f"durability on PostgreSQL skipped: {why}")
            return [f"- PostgreSQL skipped: {why}"]
        cluster = PgCluster(ROOT / "bench" / "data" / "pg").start()
    try:
        return _run(
            customers=customers, seconds=seconds, clients=clients, replays=replays, docs=docs,
            command=command, workers=workers, kill=kill, cluster=cluster,
        )  # fmt: skip
    finally:
        if cluster is not None:
            cluster.stop()


def _run(
    *, customers, seconds, clients, replays, docs, command, workers, kill, cluster
) -> list[str]:
    """The durability run itself (see run())."""
    url = fresh_db(customers, cluster)
    reps = phones_of_a_team(url, clients)
    synchronous = server_synchronous(Path(url.split(":///", 1)[1])) if cluster is None else None
    path = Path(url.split(":///", 1)[1]) if cluster is None else None
    srv = Server(path, url=None if path else url, workers=workers)
    srv.__enter__()
    kills = 0

    def restart() -> None:
        nonlocal kills
        assert srv.proc is not None
        if kill == "worker":
            srv.kill_worker()  # uvicorn's supervisor starts a new worker; the others serve on
            kills += 1
            return
        srv.proc.send_signal(signal.SIGKILL)
        srv.proc.wait()
        kills += 1
        srv.proc = None
        srv._log.close()
        srv.__enter__()

    try:
        tally, downtime = asyncio.run(
            run_phones(
                srv.origin,
                reps,
                clients=clients,
                seconds=seconds,
                replay_share=replays,
                kill_at=seconds * 0.4,
                restart=restart,
            )
        )
    finally:
        srv.__exit__(None, None, None)
    missing, doubled, rows = count_in_db(url, list(tally.acked))
    ok = (
        missing == 0
        and doubled == 0
        and tally.replay_other_visit == 0
        and tally.rejected == 0
        and kills == 1
    )
    backend = "PostgreSQL" if cluster is not None else "SQLite"
    what = (
        f"one of the {workers} workers is killed with SIGKILL at {seconds * 0.4:g} s (uvicorn "
        f"started a new one; {downtime:.1f} s for the kill itself)"
        if kill == "worker"
        else f"the server is killed with SIGKILL at {seconds * 0.4:g} s and started again "
        f"({downtime:.1f} s until /healthz answered)"
    )
    lines = [
        f"- Command: `{command}` (also run by `make bench`)",
        f"- Machine: {machine()}",
        f"- Data: a fresh `kehu demo --customers {customers}` database on {backend}; "
        f"`kehu serve --workers {workers}` on 127.0.0.1; {clients} phones (httpx, "
        f"keep-alive) post visits for {seconds:g} s, {replays:.0%} of posts replaying an "
        f"acknowledged key; {what}; a post without an answer is retried with its key.",
        f"- Posts: {tally.posts} ({tally.replays} replays of acknowledged keys, "
        f"{tally.failed} without an answer, "
        f"{tally.retried_acked} of those acknowledged on retry, {tally.rejected} refused); "
        f"{len(tally.acked)} distinct visits acknowledged, {rows} rows for their keys.",
        f"- **Acknowledged but missing: {missing}. Duplicated: {doubled}.** Replays answered "
        f"with another visit: {tally.replay_other_visit}. " + ("All 0: met." if ok else "NOT MET."),
    ]
    if synchronous is not None:
        mode = SYNCHRONOUS.get(synchronous, str(synchronous))
        lines.append(
            f"- SQLite `PRAGMA synchronous` on the server's connections: {synchronous} ({mode}), "
            "with `journal_mode=WAL`. A commit is in the WAL file (the OS page cache) when the "
            "visit is acknowledged, so a process crash or SIGKILL loses nothing, as measured "
            "here. With NORMAL the WAL is fsynced only at checkpoints, so a power loss or kernel "
            "crash can lose the last transactions committed since the last checkpoint (up to "
            "about 1000 pages of WAL, i.e. seconds of visits) though never corrupt the "
            "database; `synchronous=FULL` would fsync every commit and make acknowledged "
            "visits survive power loss too, at the cost of one fsync per visit."
        )
    print("\n" + "\n".join(lines), flush=True)
    if docs:
        from bench.visit_bench import write_docs

        section = SECTION if kill == "server" else f"{SECTION_WORKER} on {backend}"
        write_docs(section, lines)
        print(f"wrote the '{section}' section of docs/BENCHMARKS.md")
    if not ok:
        raise SystemExit("durability check failed")
    return lines


if __name__ == "__main__":
    main()
