"""kehu db copy: a company's whole database to another backend and back, every row, counted.

On the PostgreSQL run this copies PostgreSQL → SQLite → PostgreSQL; on the SQLite run,
SQLite → SQLite → SQLite (the same code, one backend).
"""

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

from db.copy import CopyError, copy_tables, database_copy
from db.customers import contact_add, customer_update
from db.engine import make_engine, make_sessionmaker, sync_url
from db.imports import import_job_create
from db.search import customer_search
from domain.contacts import validate_contact
from tests import factories as make

QUERIES = ["华东", "华东机械", "shhd", "8000", "欧阳明月", "C202611002", "5678"]


@pytest.fixture
async def company(db):
    """A small company: customers with contacts and tags, visits, audit events, an import."""
    team = await make.team(db)
    rep = await make.user(db, name="陈静", role="rep", team=team)
    manager = await make.user(db, name="李伟", role="manager", team=team)
    made = []
    for name, phone in [
        ("上海华东机械有限公司", "13800138000"),
        ("华东机械", "13900139000"),
        ("北京华联商贸", "021 6234 5678"),
        ("江南纺织", "13980001234"),
    ]:
        made.append(await make.customer(db, via_form=True, name=name, phone=phone, owner=rep))
    await customer_update(
        db, customer=made[1], changes={"tags": ["VIP", "展会"]}, user_id=manager.id
    )
    data, _ = validate_contact({"name": "欧阳明月", "role": "purchaser"})
    await contact_add(db, customer_id=made[3].id, data=data, user_id=rep.id)
    await import_job_create(
        db,
        user_id=manager.id,
        team_id=team.id,
        filename="客户.csv",
        data="名称,电话\n杭州西湖茶业,13512345678\n".encode("gbk"),
        sheets=[],
        sheet="",
        headers=["名称", "电话"],
        rows=[(2, ["杭州西湖茶业", "13512345678"])],
        mapping=["name", "phone"],
    )
    await db.commit()
    for customer in made:
        await make.visit(db, customer=customer, user=rep)
    return {"admin": make.actor(await make.user(db, name="王芳", role="admin"))}


@pytest.fixture
def second_database(backend, tmp_path):
    """An empty database of the run's backend to copy back into."""
    if backend.name == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'back.db'}"
        return
    url = backend.empty_database()
    yield url
    backend.drop_database(url)


def every_row(url: str) -> dict[str, list[dict]]:
    """Every row of every table, read through the app's own column types."""
    engine = create_engine(sync_url(url))
    try:
        with engine.connect() as conn:
            return {
                t.name: [
                    dict(r)
                    for r in conn.execute(select(t).order_by(*t.primary_key.columns)).mappings()
                ]
                for t in copy_tables()
            }
    finally:
        engine.dispose()


async def search(url: str, actor, q: str) -> list[str]:
    """What a search finds on the database at `url`."""
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return [h.name for h in await customer_search(session, actor=actor, q=q)]
    finally:
        await engine.dispose()


async def test_copy_there_and_back_keeps_every_row_and_search(
    company, settings, tmp_path, second_database
):
    source = settings.database_url
    middle = f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}"
    seen = []

    counts = database_copy(source, middle, batch=2, progress=lambda *p: seen.append(p))
    assert all(c.ok for c in counts), counts
    by_table = {c.table: c.target for c in counts}
    assert by_table["customer"] == 4 and by_table["visit"] == 4 and by_table["contact"] == 1
    assert by_table["audit_event"] > 0 and by_table["import_row"] == 1
    assert by_table["customer_fts (search index)"] == 4
    assert ("visit", 4, 4) in seen and ("visit", 2, 4) in seen  # batches of two, reported

    assert (tmp_path / "copy.db").stat().st_mode & 0o077 == 0  # private, like kehu.db
    counts = database_copy(middle, second_database)
    assert all(c.ok for c in counts), counts

    original = every_row(source)
    assert every_row(middle) == original
    assert every_row(second_database) == original
    assert original["import_job"][0]["file"] == "名称,电话\n杭州西湖茶业,13512345678\n".encode(
        "gbk"
    )
    admin = company["admin"]
    for q in QUERIES:
        found = await search(source, admin, q)
        assert found, q
        assert await search(middle, admin, q) == found, q
        assert await search(second_database, admin, q) == found, q


async def test_new_rows_on_the_copy_get_new_ids(company, settings, second_database, tmp_path):
    middle = f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}"
    database_copy(settings.database_url, middle)
    database_copy(middle, second_database)
    engine = make_engine(second_database)
    try:
        async with make_sessionmaker(engine)() as session:
            rep = await make.user(session, name="新同事", role="rep", team=await make.team(session))
            customer = await make.customer(session, via_form=True, name="新客户", owner=rep)
            visit = await make.visit(session, customer=customer, user=rep)
            assert (customer.id, visit.id) == (5, 5)  # after the four copied ones
            assert await customer_search(session, actor=company["admin"], q="新客户")
    finally:
        await engine.dispose()


def test_a_target_with_tables_is_refused(settings, tmp_path, backend):
    target = f"sqlite+aiosqlite:///{tmp_path / 'copy.db'}"
    database_copy(settings.database_url, target)
    with pytest.raises(CopyError, match="exists; copy into a new file"):
        database_copy(settings.database_url, target)
    if backend.name == "postgresql":
        with pytest.raises(CopyError, match=r"already has \d+ tables"):
            database_copy(target, settings.database_url)


def test_a_source_without_kehu_tables_is_refused(tmp_path):
    (tmp_path / "empty.db").write_bytes(b"")
    with pytest.raises(CopyError, match="not a Kehu database"):
        database_copy(f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}", f"sqlite:///{tmp_path}/x.db")


def kehu(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run the kehu command line."""
    return subprocess.run(
        [sys.executable, "-m", "web.cli.main", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env={"PYTHONPATH": str(Path(__file__).parents[2]), "PATH": "/usr/bin:/bin"},
        timeout=120,
    )


async def test_the_command_prints_the_counts_and_fails_on_a_refused_target(
    company, settings, tmp_path
):
    target = tmp_path / "copy.db"
    source = settings.database_url.replace("+aiosqlite", "").replace("+asyncpg", "")
    done = kehu("db", "copy", source, f"sqlite:///{target}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    lines = {line.split()[0]: line.split()[1:] for line in done.stdout.splitlines() if line}
    assert lines["customer"] == ["4", "4"] and lines["visit"] == ["4", "4"]
    assert "copied visit: 4 rows" in done.stderr  # progress, one line per table off a terminal
    again = kehu("db", "copy", source, f"sqlite:///{target}", cwd=tmp_path)
    assert again.returncode == 1 and "copy into a new file" in again.stderr
    bad = kehu("db", "copy", "mysql://x", f"sqlite:///{target}", cwd=tmp_path)
    assert bad.returncode == 2 and "not a database URL" in bad.stderr
