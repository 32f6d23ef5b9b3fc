"""Weekly report speed for a 10,000-customer team: this code against the code before it.

Usage: python -m bench.report_bench [--runs 3] [--customers 10000] [--reps 50] [--pause 3]
       [--baseline 6a54900] [--no-baseline]

Builds a fresh database (one team, `--reps` reps, `--customers` customers with about eight
visits each over the past year, 3,000 visits in the last complete ISO week and 3,000 the
week before, stage and status moves), then times `GET /reports/weekly/pdf` in-process as
the team's manager: loading, computing and rendering the A4 PDF. In the same run, on the
same database, it times the code of the `--baseline` commit (a `git archive` of it in a
temporary directory, run by the same Python), so the before/after ratio is not skewed by
other work on the machine. Prints each run, the page count (pdfinfo), the machine and
"weekly PDF: met/missed" for the target: at most half of the baseline's time.

`weekly_pdf_target()` runs the same comparison for bench/run.py and returns that line.
"""

import argparse
import asyncio
import io
import json
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from litestar.testing import AsyncTestClient

from bench.common import ROOT, machine, sign_in
from db.migrate import upgrade
from domain.report import last_complete_week, previous_week, week_bounds
from web.app import create_app
from web.core.settings import load_settings

TZ = ZoneInfo("Asia/Shanghai")
# The commit before the weekly report was built from aggregate queries.
BASELINE = "6a54900"
TARGET_RATIO = 0.5


def _t(at: datetime) -> str:
    """SQLite text of a UTC datetime, as SQLAlchemy stores it."""
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


def build(db: Path, rng: random.Random, *, customers: int = 10_000, reps: int = 50) -> int:
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
        staff = [user(f"销售{i:02d}号", "rep") for i in range(reps)]
        rows, owned = [], []
        for i in range(customers):
            owner = staff[i % reps] if i % 10 else None  # one in ten in the public pool
            created = prev_start - timedelta(days=rng.randint(1, 365))
            rows.append(
                (
                    f"C2026{i:06d}",
                    f"客户公司{i:05d}有限公司",
                    f"客户公司{i:05d}",
                    rng.choice(["", "王先生"]),
                    rng.choice(["", f"c{i}@example.cn"]),
                    team,
                    owner,
                    rng.choice("ABC"),
                    rng.choice(["potential", "intent"]),
                    rng.choice(["lead", "first_contact", "needs_confirmed", "proposal"]),
                    _t(created),
                    _t(created),
                )
            )
        con.executemany(
            "insert into customer (number, name, name_key, name_pinyin, name_initials,"
            " phone, phone_last4, contact_name, email, industry, needs, address, team_id,"
            " owner_id, level, status, stage, kind, source, custom, tags, created_at,"
            " updated_at, version) values (?, ?, ?, '', '', '', '', ?, ?, '', '', '', ?, ?,"
            " ?, ?, ?, 'company', 'other', '{}', '[]', ?, ?, 1)",
            rows,
        )
        owned = con.execute(
            "select id, coalesce(owner_id, ?), created_at from customer where team_id = ?",
            (staff[0], team),
        ).fetchall()
        visits = []

        def visit(cid: int, by: int, at: datetime) -> None:
            method = rng.choice(["field", "phone", "message"])
            visits.append((cid, by, method, _t(at), uuid.uuid4().hex))

        for cid, owner, _created in owned:
            for _ in range(rng.randint(0, 16)):  # about eight a customer over the past year
                visit(cid, owner, prev_start - timedelta(seconds=rng.randint(1, 365 * 86400)))
        for week_start in (prev_start, start):
            for _ in range(3000):
                cid, owner, _created = rng.choice(owned)
                visit(cid, owner, week_start + timedelta(seconds=rng.randint(0, 7 * 86400 - 1)))
        for _ in range(1500):  # this week so far: the report must rewind these
            cid, owner, _created = rng.choice(owned)
            visit(
                cid,
                owner,
                end + timedelta(seconds=rng.randint(0, int((now - end).total_seconds()))),
            )
        con.executemany(
            "insert into visit (customer_id, user_id, outcome, method, at, note, feedback,"
            " next_action, idempotency_key) values (?, ?, 'met_interested', ?, ?, '', '', '', ?)",
            visits,
        )
        # Stored last visit and next follow-up, as visit recording keeps them.
        con.execute(
            "update customer set last_visit_at = (select max(at) from visit"
            " where visit.customer_id = customer.id) where team_id = ?",
            (team,),
        )
        con.execute(
            "update customer set next_follow_up_on = date(coalesce(last_visit_at, created_at),"
            " '+8 hours', '+' || case level when 'A' then 3 when 'B' then 7 else 14 end"
            " || ' days') where team_id = ?",
            (team,),
        )
        moves = []
        for cid, owner, _created in rng.sample(owned, 150):
            at = prev_start + timedelta(hours=rng.randint(1, 330))
            moves.append((cid, owner, _t(at), "lead", "first_contact", None, None, None))
        for cid, owner, _created in rng.sample(owned, 30):
            at = start + timedelta(hours=rng.randint(1, 160))
            con.execute(
                "update customer set status = 'lost', loss_reason = 'price' where id = ?", (cid,)
            )
            moves.append((cid, owner, _t(at), None, None, "intent", "lost", "price"))
        for cid, owner, _created in rng.sample(owned, 20):
            at = start + timedelta(hours=rng.randint(1, 160))
            con.execute("update customer set status = 'won', stage = 'won' where id = ?", (cid,))
            moves.append((cid, owner, _t(at), "negotiation", "won", "intent", "won", None))
        con.executemany(
            "insert into stage_change (customer_id, user_id, at, from_stage, to_stage,"
            " from_status, to_status, reason) values (?, ?, ?, ?, ?, ?, ?, ?)",
            moves,
        )
    con.execute("analyze")
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


@dataclass
class Comparison:
    """Both codes' PDF times on one database in one run (interleaved runs)."""

    new: list[dict]
    old: list[dict]
    pages: str
    size: int

    @staticmethod
    def _best(runs: list[dict], key: str) -> float:
        return min(r[key] for r in runs)

    @staticmethod
    def _median(runs: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in runs)

    def ratio(self, key: str = "wall") -> float:
        """Median new over median old ("wall" seconds or "cpu" seconds)."""
        return self._median(self.new, key) / self._median(self.old, key)

    @property
    def line(self) -> str:
        """The target line for bench/run.py: met when both median wall and CPU are <= 0.5x."""
        missed = [key for key in ("wall", "cpu") if self.ratio(key) > TARGET_RATIO]
        verdict = f"missed on {' and '.join(missed)}" if missed else "met"
        return (
            f"weekly PDF: {verdict} (10,000-customer team, median of {len(self.new)}: "
            f"{self._median(self.new, 'wall'):.2f} s now vs {self._median(self.old, 'wall'):.2f} s "
            f"before = {self.ratio():.2f}x; CPU {self._median(self.new, 'cpu'):.2f} s vs "
            f"{self._median(self.old, 'cpu'):.2f} s = {self.ratio('cpu'):.2f}x; "
            f"target <= {TARGET_RATIO}x)"
        )


# Runs in a child Python whose working directory is a code tree (this one or the baseline),
# so that tree's packages are the ones imported. It opens the report page, waits, and times
# the PDF: wall time, and CPU time of the server process plus the renderer child.
_RUNNER = """
import asyncio, json, os, sys, time
from pathlib import Path
from litestar.testing import AsyncTestClient
from bench.common import sign_in
from web.app import create_app
from web.core.settings import load_settings
from web.reports import pdf_worker

def child_cpu():
    ex, total = pdf_worker._executor, 0.0
    for pid in list(getattr(ex, "_processes", None) or {}):
        try:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return total

async def main(db, manager, pause):
    env = {"KEHU_DATABASE_URL": f"sqlite:///{db}", "KEHU_SECRET_KEY": "b" * 48}
    app = create_app(load_settings(env, workdir=db.parent))
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as c:
        c.cookies.update(sign_in(db, manager))
        c.headers["Accept-Language"] = "zh-CN"
        # A first download starts the renderer child; the timed one finds it warm, as the
        # second and later PDFs of a manager clicking through weeks and teams do.
        assert (await c.get("/reports/weekly/pdf")).status_code == 200
        assert (await c.get("/reports/weekly")).status_code == 200
        await asyncio.sleep(pause)
        wall, cpu, child = time.perf_counter(), time.process_time(), child_cpu()
        r = await c.get("/reports/weekly/pdf")
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu + child_cpu() - child
        assert r.status_code == 200, r.text[:300]
        Path(sys.argv[4]).write_bytes(r.content)
    print(json.dumps({"wall": wall, "cpu": cpu}))

asyncio.run(main(Path(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])))
"""


def baseline_checkout(commit: str, into: Path) -> Path:
    """Unpack `commit`'s tree (git archive) into a directory; return it."""
    archive = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", commit],
        capture_output=True,
        check=True,
    ).stdout
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into, filter="data")
    return into


def measure_tree(tree: Path, db: Path, manager: int, pause: float, pdf: Path) -> dict:
    """One PDF download by the code in `tree`, in a child Python rooted there."""
    # sys.path[0] is the tree (cwd, "-c"), so its packages shadow the installed ones.
    out = subprocess.run(
        [sys.executable, "-c", _RUNNER, str(db), str(manager), str(pause), str(pdf)],
        cwd=tree,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return json.loads(out.strip().splitlines()[-1])


def compare(
    *,
    runs: int = 3,
    pause: float = 3.0,
    customers: int = 10_000,
    reps: int = 50,
    baseline: str = BASELINE,
) -> Comparison:
    """Build the data once; time the baseline and this code on it, one run of each in turn."""
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "report.db"
        manager = build(db, random.Random(5), customers=customers, reps=reps)
        old_tree = baseline_checkout(baseline, Path(tmp) / "old")
        pdf = Path(tmp) / "r.pdf"
        old, new = [], []
        for _ in range(runs):  # interleaved, so a busy spell of the machine hits both
            old.append(measure_tree(old_tree, db, manager, pause, pdf))
            new.append(measure_tree(ROOT, db, manager, pause, pdf))
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True).stdout
        pages = next((ln.split()[-1] for ln in info.splitlines() if ln.startswith("Pages:")), "?")
        size = pdf.stat().st_size
    return Comparison(new=new, old=old, pages=pages, size=size)


def weekly_pdf_target(runs: int = 3) -> str:
    """Run the before/after comparison and return "weekly PDF: met/missed (...)"."""
    return compare(runs=runs).line


def main() -> None:
    """Build the data, time both codes and print the results."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--reps", type=int, default=50)
    parser.add_argument("--baseline", default=BASELINE, help="the commit to compare with")
    parser.add_argument(
        "--pause", type=float, default=3.0, help="seconds between the page and the PDF"
    )
    args = parser.parse_args()
    started, load = time.perf_counter(), os.getloadavg()
    c = compare(
        runs=args.runs,
        pause=args.pause,
        customers=args.customers,
        reps=args.reps,
        baseline=args.baseline,
    )
    print(f"Weekly report PDF, {args.customers} customers, {args.reps} reps; {machine()}")
    for name, runs in ((f"baseline {args.baseline}", c.old), ("this code", c.new)):
        walls = ", ".join(f"{r['wall']:.2f}" for r in runs)
        cpus = ", ".join(f"{r['cpu']:.2f}" for r in runs)
        print(f"PDF {args.pause:g} s after the page, {name}: wall {walls} s; CPU {cpus} s")
    print(f"load average (1 min) at start / end: {load[0]:.1f} / {os.getloadavg()[0]:.1f}")
    print(f"{c.pages} pages, {c.size} bytes; whole run {time.perf_counter() - started:.0f} s")
    print(c.line)


if __name__ == "__main__":
    main()
