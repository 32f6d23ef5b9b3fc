"""Weekly report speed: a team of 20 reps with 2,000 visits in the week, through the app.

Usage: python -m bench.report_bench [--runs 3]

Builds a fresh database (one team, 20 reps, 1,000 customers, 2,000 visits in the last
complete ISO week and 2,000 the week before, stage and status moves), then times
`GET /reports/weekly/pdf` in-process as the team's manager: loading, computing and
rendering the A4 PDF. Prints each run, the page count (pdfinfo) and the machine.
"""

import argparse
import asyncio
import random
import sqlite3
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient

from bench.common import machine, sign_in
from db.migrate import upgrade
from domain.report import last_complete_week, previous_week, week_bounds
from web.app import create_app
from web.core.settings import load_settings

TZ = ZoneInfo("Asia/Shanghai")


def _t(at: datetime) -> str:
    """SQLite text of a UTC datetime, as SQLAlchemy stores it."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def build(db: Path, rng: random.Random) -> int:
    """Fill the database; return the manager's user id."""
    upgrade(f"sqlite+aiosqlite:///{db}")
    now = datetime.now(UTC)
    y, w = last_complete_week(now.astimezone(TZ).date())
    start, end = week_bounds(y, w, TZ)
    prev_start, _ = week_bounds(*previous_week(y, w), TZ)
    con = sqlite3.connect(db)
    with con:
        team = con.execute(
            "insert into team (name, is_store, created_at) values ('华东销售一组', 0, ?)",
            (_t(now),),
        ).lastrowid

        def user(name: str, role: str) -> int:
            return con.execute(
                "insert into user (name, role, team_id, active, webauthn_handle, created_at)"
                " values (?, ?, ?, 1, ?, ?)",
                (name, role, team, uuid.uuid4().bytes, _t(now)),
            ).lastrowid

        manager = user("李经理", "manager")
        reps = [user(f"销售{i:02d}号", "rep") for i in range(20)]
        customers = []
        for i in range(1000):
            owner = reps[i % 20]
            created = prev_start - timedelta(days=rng.randint(1, 300))
            cid = con.execute(
                "insert into customer (number, name, name_key, name_pinyin, name_initials,"
                " phone, phone_last4, contact_name, email, industry, needs, address, team_id,"
                " owner_id, level, status, stage, kind, source, custom, tags, created_at,"
                " updated_at, version, next_follow_up_on) values (?, ?, ?, '', '', '', '', '',"
                " '', '', '', '', ?, ?, ?, ?, ?, 'company', 'other', '{}', '[]', ?, ?, 1, ?)",
                (
                    f"C2026{i:06d}",
                    f"客户公司{i:04d}有限公司",
                    f"客户公司{i:04d}",
                    team,
                    owner,
                    rng.choice("ABC"),
                    rng.choice(["potential", "intent"]),
                    rng.choice(["lead", "first_contact", "needs_confirmed", "proposal"]),
                    _t(created),
                    _t(created),
                    (end.astimezone(TZ).date() - timedelta(days=rng.randint(-5, 20))).isoformat(),
                ),
            ).lastrowid
            customers.append((cid, owner))
        for week_start in (prev_start, start):
            for _ in range(2000):
                cid, owner = rng.choice(customers)
                at = week_start + timedelta(seconds=rng.randint(0, 7 * 86400 - 1))
                con.execute(
                    "insert into visit (customer_id, user_id, outcome, method, at, note, feedback,"
                    " next_action, idempotency_key) values (?, ?, 'met_interested', ?, ?, '', '',"
                    " '', ?)",
                    (
                        cid,
                        owner,
                        rng.choice(["field", "phone", "message"]),
                        _t(at),
                        uuid.uuid4().hex,
                    ),
                )
        for cid, owner in rng.sample(customers, 60):
            con.execute(
                "insert into stage_change (customer_id, user_id, at, from_stage, to_stage)"
                " values (?, ?, ?, 'lead', 'first_contact')",
                (cid, owner, _t(start + timedelta(hours=rng.randint(1, 160)))),
            )
        for cid, owner in rng.sample(customers, 8):
            con.execute(
                "update customer set status = 'lost', loss_reason = 'price' where id = ?", (cid,)
            )
            con.execute(
                "insert into stage_change (customer_id, user_id, at, from_status, to_status,"
                " reason) values (?, ?, ?, 'intent', 'lost', 'price')",
                (cid, owner, _t(start + timedelta(hours=rng.randint(1, 160)))),
            )
    con.close()
    return manager


async def measure(
    db: Path, manager: int, runs: int, pause: float = 0.0
) -> tuple[list[float], bytes]:
    """Time the PDF download `runs` times, each `pause` s after opening the report page."""
    settings = load_settings(
        {"KEHU_DATABASE_URL": f"sqlite:///{db}", "KEHU_SECRET_KEY": "b" * 48},
        workdir=db.parent,
    )
    times, pdf = [], b""
    async with AsyncTestClient(app=create_app(settings), base_url="http://localhost:8000") as c:
        c.cookies.update(sign_in(db, manager))
        c.headers["Accept-Language"] = "zh-CN"
        for _ in range(runs):
            # As a manager does: open the report page, read it, then tap Download PDF.
            assert (await c.get("/reports/weekly")).status_code == 200
            await asyncio.sleep(pause)
            started = time.perf_counter()
            response = await c.get("/reports/weekly/pdf")
            times.append(time.perf_counter() - started)
            assert response.status_code == 200, response.text[:300]
            pdf = response.content
    return times, pdf


def main() -> None:
    """Build the data, time the report and print the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument(
        "--pause", type=float, default=3.0, help="seconds between the page and the PDF"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "report.db"
        manager = build(db, random.Random(5))
        times, pdf = asyncio.run(measure(db, manager, args.runs, args.pause))
        out = Path(tmp) / "r.pdf"
        out.write_bytes(pdf)
        info = subprocess.run(["pdfinfo", str(out)], capture_output=True, text=True).stdout
        pages = next((ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages:")), "?")
    print(f"Weekly report PDF, 20 reps, 2,000 visits in the week; {machine()}")
    print(
        f"PDF download {args.pause:g} s after the page (s): " + ", ".join(f"{t:.2f}" for t in times)
    )
    print(f"best {min(times):.2f} s, worst {max(times):.2f} s, {pages} pages, {len(pdf)} bytes")


if __name__ == "__main__":
    main()
