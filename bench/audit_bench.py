"""Audit log page on 1,000,000 events: server time of a filtered page, in-process.

    .venv/bin/python -m bench.audit_bench [--events N] [--rounds R] [--rebuild]

Builds (once) bench/data/audit-<N>.db: migrated, 4 teams with 5 users each, 2,000
customers, N audit events over the last year (views, updates with before/after details,
sign-ins, exports), then times `GET /admin/audit?...` through the whole app (session,
guard, query, template, compression) for an admin and a manager, each filter `rounds`
times, and prints a Markdown table (p50/p95/p99 ms) for docs/BENCHMARKS.md.
"""

import argparse
import asyncio
import json
import random
import sqlite3
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import ROOT, machine, sign_in

DATA = ROOT / "bench" / "data"
TARGET_MS = 100.0
ACTIONS = [
    ("customer_viewed", 70),
    ("customer_updated", 12),
    ("signed_in", 8),
    ("visit_recorded", 8),
    ("audit_exported", 1),
    ("customer_erased", 1),
]


def build(path: Path, events: int) -> None:
    """Create the database with users, customers and `events` audit rows."""
    from db.migrate import upgrade

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    upgrade(f"sqlite+aiosqlite:///{path}")
    con = sqlite3.connect(path)
    rnd = random.Random(8)
    now = datetime(2026, 11, 30, tzinfo=UTC)
    stamp = "%Y-%m-%d %H:%M:%S.%f"
    with con:
        for t in range(4):
            con.execute(
                "INSERT INTO team (id, name, is_store, created_at) VALUES (?, ?, 0, ?)",
                (t + 1, f"团队{t + 1}", now.strftime(stamp)),
            )
        con.execute(
            "INSERT INTO user (id, name, role, team_id, active, webauthn_handle, created_at)"
            " VALUES (1, '管理员', 'admin', NULL, 1, ?, ?)",
            (rnd.randbytes(16), now.strftime(stamp)),
        )
        for u in range(2, 22):
            role = "manager" if u % 5 == 2 else "rep"
            con.execute(
                "INSERT INTO user (id, name, role, team_id, active, webauthn_handle, created_at)"
                " VALUES (?, ?, ?, ?, 1, ?, ?)",
                (u, f"用户{u}", role, (u - 2) // 5 + 1, rnd.randbytes(16), now.strftime(stamp)),
            )
        con.executemany(
            "INSERT INTO customer (id, number, name, team_id, kind, phone, level, source,"
            " contact_name, email, industry, needs, address, status, stage, custom, tags,"
            " created_at, updated_at, version, name_key, name_pinyin, name_initials, phone_last4,"
            " data_basis) VALUES (?, ?, ?, ?, 'company', '', 'B', 'other', '', '', '', '', '',"
            " 'potential', 'lead', '{}', '[]', ?, ?, 1, '', '', '', '', '')",
            [
                (c, f"C202611{c:04d}", f"客户{c}", c % 4 + 1, now.strftime(stamp),
                 now.strftime(stamp))
                for c in range(1, 2001)
            ],
        )  # fmt: skip
        names, weights = zip(*ACTIONS, strict=True)
        batch = []
        for i in range(events):
            action = rnd.choices(names, weights)[0]
            at = now - timedelta(seconds=(events - i) * 31_536_000 / events)
            customer = rnd.randint(1, 2000)
            detail = (
                {"before": {"level": "B"}, "after": {"level": "A"}}
                if action == "customer_updated"
                else {}
            )
            batch.append(
                (at.strftime(stamp), rnd.randint(1, 21), action, "customer", customer,
                 json.dumps(detail), "10.0.0.1")
            )  # fmt: skip
            if len(batch) == 50_000:
                con.executemany(
                    "INSERT INTO audit_event (at, actor_id, action, entity, entity_id, detail, ip)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?)",
                    batch,
                )
                batch = []
        if batch:
            con.executemany(
                "INSERT INTO audit_event (at, actor_id, action, entity, entity_id, detail, ip)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                batch,
            )
    con.execute("ANALYZE")
    con.close()


FILTERS = [
    ("no filter, page 1", "admin", ""),
    ("no filter, page 20", "admin", "page=20"),
    ("one user", "admin", "user=7"),
    ("one action (rare)", "admin", "action=customer_erased"),
    ("one customer", "admin", "customer=1234"),
    ("date range (one week)", "admin", "since=2026-06-01&until=2026-06-07"),
    ("user + action + month", "admin",
     "user=7&action=customer_updated&since=2026-05-01&until=2026-05-31"),
    ("manager, team scope", "manager", ""),
    ("manager, team + action", "manager", "action=signed_in"),
]  # fmt: skip


async def measure(path: Path, rounds: int) -> list[tuple[str, list[float], int]]:
    """Time every filter through the in-process app."""
    from litestar.testing import AsyncTestClient

    from web.app import create_app
    from web.core.settings import load_settings

    settings = load_settings(
        {
            "KEHU_DATABASE_URL": f"sqlite:///{path}",
            "KEHU_SECRET_KEY": "bench-secret-" + "z" * 40,
            "KEHU_ORIGIN": "http://localhost:8000",
        },
        workdir=path.parent,
    )
    cookies = {"admin": sign_in(path, 1), "manager": sign_in(path, 2)}
    out = []
    async with AsyncTestClient(app=create_app(settings), base_url="http://localhost:8000") as c:
        for name, who, query in FILTERS:
            c.cookies.clear()
            c.cookies.update(cookies[who])
            url = "/admin/audit" + (f"?{query}" if query else "")
            headers = {"HX-Request": "true", "Accept-Encoding": "br"}
            first = await c.get(url, headers=headers)
            assert first.status_code == 200, (url, first.status_code)
            times = []
            for _ in range(rounds):
                t = time.perf_counter()
                r = await c.get(url, headers=headers)
                times.append((time.perf_counter() - t) * 1000)
                assert r.status_code == 200
            out.append((name, sorted(times), first.text.count("<tr id=")))
    return out


def _pct(values: list[float], p: float) -> float:
    """The p-th percentile of sorted values."""
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))]


def run(events: int = 1_000_000, rounds: int = 50, rebuild: bool = False) -> str:
    """Build if needed, measure, and return the Markdown table."""
    path = DATA / f"audit-{events}.db"
    if rebuild or not path.exists():
        started = time.perf_counter()
        build(path, events)
        print(f"built {path.name} in {time.perf_counter() - started:.0f} s", flush=True)
    results = asyncio.run(measure(path, rounds))
    lines = [
        f"Machine: {machine()}; {events:,} events; {rounds} rounds per filter; "
        f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC.",
        "",
        "| filter | rows | p50 ms | p95 ms | p99 ms | under 100 ms |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, times, rows in results:
        p95 = _pct(times, 95)
        lines.append(
            f"| {name} | {rows} | {statistics.median(times):.1f} | {p95:.1f} |"
            f" {_pct(times, 99):.1f} | {'yes' if p95 < TARGET_MS else 'NO'} |"
        )
    return "\n".join(lines)


def main() -> None:
    """Command line entry."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    print(run(args.events, args.rounds, args.rebuild))


if __name__ == "__main__":
    main()
