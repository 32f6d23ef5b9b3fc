"""Import and export speed and memory, in process: upload + preview + import + export of a big file.

    .venv/bin/python -m bench.import_bench [--rows 100000] [--small]

1. Copies the 100,000-customer bench database (bench/data/bench-100k.db, built by
   `bench/run.py` when missing; `--small` uses a 10,000-customer one in out/bench/).
2. Writes (in a child process, so its memory is not counted) an XLSX of `--rows`
   customers with Chinese headers and contact columns: varied Chinese company names,
   5 % duplicates of customers in the database, 1 % damaged phones (1.39123E+10).
3. Times, with the app's own code and the session factory the server uses: the upload
   (`web.imports.reader.open_table` streamed into `import_job_create`), the preview
   (`import_rows_check`), the import itself (`web.imports.jobs.run`, the background
   job), and the XLSX and CSV export of every customer (`web.imports.writers`). The
   process's peak memory (VmHWM, reset before each step through /proc/self/clear_refs)
   is reported per step: the server holds the same during an import.
4. Records a visit every 50 ms through `visit_record` (the visit POST's write path) for
   a few seconds with nothing else running, then again while the import runs, and
   reports both latencies (p50 / p99 / max): the import must leave room for visits.

Not a pytest test: it prints figures for docs/BENCHMARKS.md ("Import and export").
"""

import argparse
import asyncio
import io
import os
import random
import sqlite3
import subprocess
import sys
import time
import uuid
from datetime import date
from pathlib import Path

from sqlalchemy import select

from bench.common import ROOT

OUT = ROOT / "out" / "bench"
FULL_DB = ROOT / "bench" / "data" / "bench-100k.db"
HEADERS = ["客户名称", "手机", "联系人", "联系人电话", "职务", "级别", "来源", "负责人",
           "行业", "地址", "备注", "邮箱", "成立日期", "主营产品"]  # fmt: skip
MAPPING = ["name", "phone", "contact_name", "contact_phone", "contact_title", "level", "source",
           "owner", "industry", "address", "needs", "email", "custom_founded",
           "custom_products"]  # fmt: skip
# The two custom fields the last columns fill (created in the bench database's copy).
CUSTOM_FIELDS = (
    ("founded", "Founded", "成立日期", "date"),
    ("products", "Products", "主营产品", "text"),
)
ROADS = "人民中山解放建设和平长江黄河新华光明胜利文化工业科技创业金融滨江湖滨"
NOTES = ["展会上留下名片，对新品报价感兴趣", "老客户转介绍，需要上门演示", "年底有集中采购计划",
         "关注售后服务和交货周期", "预算已批，等待技术评审", "对比过三家供应商，价格敏感",
         "希望先试用一个月再决定", "决策人出差，下周再联系", "要求提供资质证书和案例",
         "去年合作过一次，反馈良好"]  # fmt: skip
PRODUCTS = ["数控机床", "液压阀门", "工业机器人", "包装设备", "传感器", "电机", "轴承",
            "注塑模具", "激光切割机", "空压机", "输送线", "检测仪器"]  # fmt: skip
MIDDLE = "华东恒通鑫达瑞丰宏远金桥中联德胜永安天成嘉禾海纳博远明辉伟业新源正泰盛世"


def status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmHWM, VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def floor_seconds() -> float:
    """A fixed pure-Python workload's wall time: how fast this shared machine is right now."""
    t = time.perf_counter()
    sum(i * i for i in range(3_000_000))
    return time.perf_counter() - t


class Step:
    """Wall and CPU seconds of one step (CPU: this process, its database threads included)."""

    def __enter__(self) -> "Step":
        """Start the clocks and a new memory peak."""
        reset_peak()
        self.wall, self.cpu = time.perf_counter(), time.process_time()
        return self

    def __exit__(self, *exc) -> None:
        """Stop the clocks."""
        self.wall = time.perf_counter() - self.wall
        self.cpu = time.process_time() - self.cpu
        self.peak = status_mb("VmHWM")

    def __str__(self) -> str:
        """ "12.3 s (CPU 4.5 s); peak 210 MB"."""
        return f"{self.wall:.1f} s (CPU {self.cpu:.1f} s); peak {self.peak:.0f} MB"


def reset_peak() -> None:
    """Start a new peak: the kernel resets VmHWM to the current RSS."""
    Path("/proc/self/clear_refs").write_text("5")


def database(small: bool) -> Path:
    """A fresh copy of the bench database to import into (the built one stays as it is)."""
    from db.migrate import upgrade

    if small:
        from db.demo import seed_demo

        built = OUT / "import-10000.db"
        if not built.exists():
            OUT.mkdir(parents=True, exist_ok=True)
            upgrade(f"sqlite:///{built}")
            seed_demo(f"sqlite:///{built}", customers=10_000, visits=100_000)
    else:
        built = FULL_DB
        if not built.exists():
            subprocess.run([sys.executable, "-m", "bench.run", "--no-docs", "--seconds", "0.1"],
                           check=True, cwd=ROOT)  # fmt: skip
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "import-run.db"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    base = sqlite3.connect(built)
    with sqlite3.connect(path) as copy:
        base.backup(copy)
    base.close()
    upgrade(f"sqlite:///{path}")
    return path


def make_xlsx(rows: int, existing: list[tuple[str, str]], owners: list[str]) -> bytes:
    """An XLSX of new customers with 5 % duplicates of existing ones and 1 % damaged phones.

    Addresses, notes, e-mails, a date and a product list vary per row as in a real sheet
    (≈ 150 bytes a row once compressed: 100,000 rows make the ≈ 15 MB file of issue 15).
    """
    from datetime import date, timedelta

    from openpyxl import Workbook

    from db import demo_names as names

    rng = random.Random(11)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户")
    sheet.append(HEADERS)
    for n in range(rows):
        middle = "".join(rng.choice(MIDDLE) for _ in range(3))
        name = (rng.choice(names.CITIES)[0] + middle + rng.choice(names.INDUSTRIES)[0]
                + rng.choice(names.SUFFIXES))  # fmt: skip
        phone = f"166{n:08d}"
        roll = rng.random()
        if roll < 0.05 and existing:
            name, phone = rng.choice(existing)
        elif roll < 0.06:
            phone = "1.39123E+10"
        contact = rng.choice(names.SURNAMES) + rng.choice(names.GIVEN)
        city = rng.choice(names.CITIES)[0]
        address = (f"{city}市{rng.choice(ROADS)}{rng.choice(ROADS)}区{rng.choice(ROADS)}"
                   f"{rng.choice(ROADS)}路{rng.randint(1, 2999)}号{rng.randint(1, 30)}栋"
                   f"{rng.randint(101, 2808)}室")  # fmt: skip
        note = (
            "；".join(rng.sample(NOTES, 3))
            + f"，第{rng.randint(1, 9)}次联系，编号{rng.randint(10**5, 10**6)}，"
            + f"旧系统编码 {rng.getrandbits(64):016x}，传真 0{rng.randint(10**9, 10**10 - 1)}"
        )
        products = "、".join(rng.sample(PRODUCTS, 3))
        founded = date(1990, 1, 1) + timedelta(days=rng.randint(0, 12000))
        mailbox = uuid.UUID(int=rng.getrandbits(128)).hex[:10]
        email = f"{mailbox}@{rng.choice(('qq.com', '163.com', 'sina.com', 'company.cn'))}"
        title = rng.choice(("采购经理", "总经理", "技术总监", "财务"))
        sheet.append([name, phone, contact, f"177{n:08d}", title, rng.choice("ABC"), "展会",
                      rng.choice(owners), rng.choice(names.INDUSTRIES)[0], address, note, email,
                      founded, products])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of a list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(p / 100 * len(ordered)) - 1))]


def latency(label: str, values: list[float]) -> str:
    """One line of visit latencies."""
    if not values:
        return f"{label}: no visits"
    return (f"{label}: {len(values)} visits, p50 {percentile(values, 50):.0f} ms, "
            f"p99 {percentile(values, 99):.0f} ms, max {max(values):.0f} ms")  # fmt: skip


async def main(
    rows: int, small: bool, export: bool = True, recheck: bool = False, batch: int = 0
) -> None:
    """Run the steps and print one line per figure."""
    from zoneinfo import ZoneInfo

    import db.imports as db_imports
    from db.custom_fields import custom_field_add, custom_field_defs, custom_field_list
    from db.engine import make_engine, make_sessionmaker
    from db.exports import customer_export_batches
    from db.imports import import_job_create, import_job_start, import_rows_check
    from db.models import Customer, ImportJob, User
    from db.types import utcnow
    from db.visits import visit_record
    from domain.customers import CustomFieldDef
    from domain.enums import Role
    from domain.users import Actor
    from web.imports import jobs
    from web.imports.controller import _context, _role_names, _source_names
    from web.imports.reader import open_table
    from web.imports.writers import csv_stream, xlsx_stream

    if batch:
        db_imports.RUN_BATCH = batch
    print(f"load average at start: {os.getloadavg()[0]:.2f} (1 min), {os.cpu_count()} CPUs; "
          f"floor (3M squares): {floor_seconds():.2f} s")  # fmt: skip
    tz = ZoneInfo("Asia/Shanghai")
    path = database(small)
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    factory = make_sessionmaker(engine)
    async with factory() as s:
        for key, en, zh, kind in CUSTOM_FIELDS:
            await custom_field_add(s, definition=CustomFieldDef(key, en, zh, kind), user_id=None)
        await s.commit()
        definitions = custom_field_defs(await custom_field_list(s))
        manager = (await s.execute(select(User).where(User.role == "manager"))).scalars().first()
        team_id = manager.team_id
        existing = [tuple(r) for r in (await s.execute(
            select(Customer.name, Customer.phone).where(Customer.team_id == team_id).limit(5000)
        ))]  # fmt: skip
        owners = [u.name for u in (await s.execute(
            select(User).where(User.team_id == team_id, User.role == "rep")
        )).scalars()]  # fmt: skip
        rep = (
            (await s.execute(select(User).where(User.role == "rep", User.team_id == team_id)))
            .scalars()
            .first()
        )
        visit_customer = (
            (await s.execute(select(Customer.id).where(Customer.team_id == team_id)))
            .scalars()
            .first()
        )
        customers = (await s.execute(select(Customer.id).order_by(Customer.id.desc()))).first()
    file = OUT / f"import-{rows}-v3.xlsx"  # v3: the ≈ 15 MB-per-100,000 columns
    if not file.exists():
        # A child process writes the file: openpyxl's memory is not the server's.
        code = (
            "import sys, pickle; from bench.import_bench import make_xlsx; "
            "a = pickle.load(sys.stdin.buffer); open(a[3], 'wb').write(make_xlsx(*a[:3]))"
        )
        import pickle

        subprocess.run(  # noqa: ASYNC221 (before anything is measured)
            [sys.executable, "-c", code],
            cwd=ROOT,
            check=True,
            input=pickle.dumps((rows, existing, owners or [manager.name], str(file))),
        )
    data = file.read_bytes()
    print(f"file: {len(data) / 1e6:.1f} MB, {rows} rows; database: {path.stat().st_size / 1e6:.0f}"
          f" MB, customers up to id {customers[0]}")  # fmt: skip
    print(f"process RSS before the upload: {status_mb('VmRSS'):.0f} MB")

    mapping = MAPPING
    async with factory() as s:
        with Step() as upload:
            table = open_table(data, "bench.xlsx", max_bytes=20 * 1024 * 1024)
            job = await import_job_create(
                s, user_id=manager.id, team_id=team_id, filename="bench.xlsx", data=data,
                sheets=table.sheets, sheet=table.sheet, headers=table.headers, rows=table.rows,
                mapping=mapping,
            )  # fmt: skip
            await s.commit()
        del table
        print(f"upload (read + store {job.total} rows): {upload}")
        with Step() as preview:
            await import_rows_check(s, job=job, ctx=await _context(s, job, definitions))
            await s.commit()
        print(f"preview (every row's verdict): {preview}")
        job_id = job.id
        if recheck:  # the import checks every row again, as before the checks were reused
            job.check_digest = ""
        await import_job_start(s, job=job, now=utcnow())
        await s.commit()

    actor = Actor(id=rep.id, name=rep.name, role=Role.REP, team_id=team_id)

    async def visits(until: asyncio.Event, out: list[float]) -> None:
        while not until.is_set():
            async with factory() as s:
                t0 = time.perf_counter()
                await visit_record(
                    s, actor=actor, customer_id=visit_customer, outcome="called",
                    key=uuid.uuid4().hex, tz=tz,
                )  # fmt: skip
                await s.commit()
                out.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.05)

    idle: list[float] = []
    stop = asyncio.Event()
    side = asyncio.create_task(visits(stop, idle))
    await asyncio.sleep(5)
    stop.set()
    await side

    during: list[float] = []
    stop = asyncio.Event()
    with Step() as run:
        side = asyncio.create_task(visits(stop, during))
        await jobs.run(
            factory, job_id, today=date.today(), comment="bench", source_names=_source_names(),
            role_names=_role_names(),
        )  # fmt: skip
        stop.set()
        await side
    async with factory() as s:
        job = await s.get(ImportJob, job_id)
        print(f"import ({job.state}, {job.done} rows, batches of {db_imports.RUN_BATCH}): {run}")
    print(latency("visits idle (before the import)", idle))
    print(latency("visits during the import", during))
    if idle and during:
        print(f"  ratio during / idle: p50 {percentile(during, 50) / percentile(idle, 50):.1f}x, "
              f"p99 {percentile(during, 99) / percentile(idle, 99):.1f}x")  # fmt: skip

    admin = Actor(id=manager.id, name="bench", role=Role.ADMIN, team_id=None)
    for fmt in ("xlsx", "csv") if export else ():
        async with factory() as s:
            with Step() as export:
                batches = customer_export_batches(s, actor=admin)
                stream = (xlsx_stream("c", ["x"] * 17, batches, tuple, tz) if fmt == "xlsx"
                          else csv_stream(["x"] * 17, batches, tuple, tz))  # fmt: skip
                size, chunks, rss = 0, 0, []
                async for chunk in stream:
                    size += len(chunk)
                    chunks += 1
                    if chunks % 50 == 0:
                        rss.append(status_mb("VmRSS"))
            print(f"export {fmt} ({size / 1e6:.1f} MB): {export}; RSS while streaming "
                  f"{min(rss or [0]):.0f}-{max(rss or [0]):.0f} MB")  # fmt: skip
    await engine.dispose()
    print(f"load average at end: {os.getloadavg()[0]:.2f} (1 min); "
          f"floor: {floor_seconds():.2f} s")  # fmt: skip


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--small", action="store_true", help="a 10,000-customer database")
    parser.add_argument("--no-export", action="store_true", help="stop after the import")
    parser.add_argument("--recheck", action="store_true", help="do not reuse the preview's checks")
    parser.add_argument("--batch", type=int, default=0, help="rows per committed import batch")
    args = parser.parse_args()
    asyncio.run(main(args.rows, args.small, not args.no_export, args.recheck, args.batch))
