"""Import and export speed, in process: read + preview + import + export of a large file.

    .venv/bin/python -m bench.import_bench [--customers 100000] [--rows 100000] [--rebuild]

1. Builds (or reuses) out/bench/import-<customers>.db with `db.demo.seed_demo`.
2. Writes an XLSX of `--rows` customers with Chinese headers (5 % of them duplicates of
   customers in the database, 1 % damaged phones), as openpyxl writes it.
3. Times, with the app's own code and the same session factory the server uses:
   reading the file (`web.imports.reader.read_table`), storing the rows, the preview
   (`import_rows_check`), the import itself (`web.imports.jobs.run`, 200-row batches), and
   the XLSX and CSV export of every customer (`web.imports.writers`). Peak RSS after each.
4. While the import runs, another task records a visit every 50 ms through `visit_record`
   (the write path of the visit POST) and reports its latency: the import must leave room.

Not a pytest test: it prints figures for docs/BENCHMARKS.md ("Import and export").
"""

import argparse
import asyncio
import io
import random
import resource
import sqlite3
import statistics
import time
import uuid
from datetime import date
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select

from bench.common import ROOT

OUT = ROOT / "out" / "bench"


def peak_mb() -> float:
    """The process's peak resident memory so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ensure_db(customers: int, rebuild: bool) -> Path:
    """The benchmark database (built once)."""
    from db.demo import seed_demo
    from db.migrate import upgrade

    path = OUT / f"import-{customers}.db"
    url = f"sqlite:///{path}"
    if path.exists() and not rebuild:
        upgrade(url)
        return path
    OUT.mkdir(parents=True, exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    upgrade(url)
    seed_demo(url, customers=customers, visits=customers)
    return path


def fresh_copy(customers: int, rebuild: bool) -> Path:
    """A copy of the built database to import into: the built one stays without imports."""
    built = ensure_db(customers, rebuild)
    path = built.with_suffix(".run.db")
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    base = sqlite3.connect(built)
    with sqlite3.connect(path) as copy:
        base.backup(copy)
    base.close()
    return path


def make_xlsx(rows: int, existing: list[tuple[str, str]], owners: list[str]) -> bytes:
    """An XLSX of new customers with 5 % duplicates of existing ones and 1 % damaged phones."""
    rng = random.Random(11)
    book = Workbook(write_only=True)
    sheet = book.create_sheet("客户")
    sheet.append(["客户名称", "手机", "联系人", "级别", "来源", "负责人", "行业", "地址", "备注"])
    for n in range(rows):
        name, phone = f"导入测试客户{n:06d}有限公司", f"166{n:08d}"
        roll = rng.random()
        if roll < 0.05 and existing:
            name, phone = rng.choice(existing)
        elif roll < 0.06:
            phone = "1.39123E+10"
        sheet.append([name, phone, "张经理", rng.choice("ABC"), "展会", rng.choice(owners),
                      "机械", "上海市浦东新区", "来自展会名单"])  # fmt: skip
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


async def main(customers: int, rows: int, rebuild: bool) -> None:
    """Run the steps and print one line per figure."""
    from zoneinfo import ZoneInfo

    from db.engine import make_engine, make_sessionmaker
    from db.exports import customer_export_batches
    from db.imports import import_context, import_job_create, import_job_start, import_rows_check
    from db.models import Customer, ImportJob, User
    from db.types import utcnow
    from db.visits import visit_record
    from domain.enums import Role
    from domain.users import Actor
    from web.imports import jobs
    from web.imports.controller import _source_names
    from web.imports.reader import read_table
    from web.imports.writers import csv_stream, xlsx_stream

    tz = ZoneInfo("Asia/Shanghai")
    path = fresh_copy(customers, rebuild)
    engine = make_engine(f"sqlite+aiosqlite:///{path}")
    factory = make_sessionmaker(engine)
    async with factory() as s:
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
    data = make_xlsx(rows, existing, owners or [manager.name])
    print(f"file: {len(data) / 1e6:.1f} MB, {rows} rows; database: {customers} customers")

    t = time.perf_counter()
    table = read_table(data, "bench.xlsx")
    read_s = time.perf_counter() - t
    async with factory() as s:
        t = time.perf_counter()
        job = await import_job_create(
            s, user_id=manager.id, team_id=team_id, filename="bench.xlsx", data=data,
            sheets=table.sheets, sheet=table.sheet, headers=table.headers, rows=table.rows,
            mapping=["name", "phone", "contact_name", "level", "source", "owner", "industry",
                     "address", "needs"],
        )  # fmt: skip
        await s.commit()
        store_s = time.perf_counter() - t
        t = time.perf_counter()
        ctx = await import_context(
            s, team_id=team_id, source_names=_source_names(), custom_fields=[]
        )
        await import_rows_check(s, job=job, ctx=ctx)
        await s.commit()
        check_s = time.perf_counter() - t
        job_id = job.id
        await import_job_start(s, job=job, now=utcnow())
        await s.commit()
    print(f"upload: read {read_s:.1f} s + store {store_s:.1f} s; preview {check_s:.1f} s; "
          f"peak RSS {peak_mb():.0f} MB")  # fmt: skip

    latencies: list[float] = []
    done = asyncio.Event()

    async def visits() -> None:
        while not done.is_set():
            async with factory() as s:
                t0 = time.perf_counter()
                actor = Actor(id=rep.id, name=rep.name, role=Role.REP, team_id=team_id)
                await visit_record(
                    s, actor=actor, customer_id=visit_customer, outcome="called",
                    key=uuid.uuid4().hex, tz=tz,
                )  # fmt: skip
                await s.commit()
                latencies.append((time.perf_counter() - t0) * 1000)
            await asyncio.sleep(0.05)

    t = time.perf_counter()
    side = asyncio.create_task(visits())
    await jobs.run(
        factory, job_id, today=date.today(), comment="bench", source_names=_source_names()
    )
    done.set()
    await side
    import_s = time.perf_counter() - t
    async with factory() as s:
        job = await s.get(ImportJob, job_id)
        print(
            f"import: {import_s:.1f} s ({job.state}, {job.done} rows); peak RSS {peak_mb():.0f} MB"
        )
    if latencies:
        latencies.sort()
        p95 = latencies[int(len(latencies) * 0.95) - 1]
        median = statistics.median(latencies)
        print(f"visits during the import: {len(latencies)}, median {median:.0f} ms, "
              f"p95 {p95:.0f} ms, max {latencies[-1]:.0f} ms")  # fmt: skip

    admin = Actor(id=manager.id, name="bench", role=Role.ADMIN, team_id=None)
    for fmt in ("xlsx", "csv"):
        async with factory() as s:
            t = time.perf_counter()
            batches = customer_export_batches(s, actor=admin)
            stream = (xlsx_stream("c", ["x"] * 17, batches, tuple, tz) if fmt == "xlsx"
                      else csv_stream(["x"] * 17, batches, tuple, tz))  # fmt: skip
            size = 0
            async for chunk in stream:
                size += len(chunk)
            print(f"export {fmt}: {time.perf_counter() - t:.1f} s, {size / 1e6:.1f} MB; "
                  f"peak RSS {peak_mb():.0f} MB")  # fmt: skip
    await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--rebuild", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.customers, args.rows, args.rebuild))
