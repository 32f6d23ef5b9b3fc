"""kehu backup and kehu restore on the run's backend (SQLite file copy, or pg_dump/pg_restore)."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from db.backup import BackupError, backup, restore
from db.customers import customer_update
from db.models import Customer, StageChange, Visit
from db.search import customer_search
from tests import factories as make

KEHU = str(Path(sys.executable).parent / "kehu")


@pytest.fixture
async def shop(db):
    """Two customers with a visit each, and an admin to search with."""
    team = await make.team(db)
    rep = await make.user(db, name="陈静", role="rep", team=team)
    first = await make.customer(db, via_form=True, name="上海华东机械有限公司", owner=rep)
    second = await make.customer(db, via_form=True, name="江南纺织", owner=rep)
    for customer in (first, second):
        await make.visit(db, customer=customer, user=rep)
    admin = make.actor(await make.user(db, name="王芳", role="admin"))
    return {"rep": rep, "admin": admin, "first": first.id, "second": second.id}


async def spoil(db, shop) -> None:
    """Change one customer, delete the other (and its visits and history), add a third."""
    first = await db.get(Customer, shop["first"])
    await customer_update(
        db, customer=first, changes={"name": "改错的名字"}, user_id=shop["rep"].id
    )
    for child in (Visit, StageChange):
        await db.execute(delete(child).where(child.customer_id == shop["second"]))
    await db.execute(delete(Customer).where(Customer.id == shop["second"]))
    await db.commit()
    assert await db.get(Customer, shop["second"]) is None
    await make.customer(db, via_form=True, name="后来的客户", owner=shop["rep"])
    assert sorted(await names(db)) == sorted(["改错的名字", "后来的客户"])


async def names(db) -> list[str]:
    """The customers' names, by id."""
    return list((await db.execute(select(Customer.name).order_by(Customer.id))).scalars())


async def test_restore_brings_back_what_was_changed_and_deleted(db, shop, settings, tmp_path):
    file = tmp_path / "kehu.backup"
    backup(settings.database_url, file)
    assert stat.S_IMODE(os.stat(file).st_mode) == 0o600
    await spoil(db, shop)
    await db.close()
    await db.bind.dispose()  # pg_restore drops the tables: no connection may hold them

    restore(settings.database_url, file)

    assert await names(db) == ["上海华东机械有限公司", "江南纺织"]
    assert (await db.execute(select(func.count()).select_from(Visit))).scalar_one() == 2
    for q in ("江南纺织", "jnfz", "华东"):
        assert await customer_search(db, actor=shop["admin"], q=q), q
    assert not await customer_search(db, actor=shop["admin"], q="后来的客户")
    # The database works on: new rows get new ids after the restored ones.
    later = await make.customer(db, via_form=True, name="恢复后的客户", owner=shop["rep"])
    assert later.id > shop["second"]


async def test_a_backup_of_the_other_kind_is_refused(settings, tmp_path, backend):
    file = tmp_path / "not-a-backup"
    file.write_bytes(b"PGDMP" if backend.name == "sqlite" else b"SQLite format 3\x00")
    with pytest.raises(BackupError, match="is not a"):
        restore(settings.database_url, file)
    with pytest.raises(BackupError, match="cannot read"):
        restore(settings.database_url, tmp_path / "missing")


async def test_the_commands_back_up_and_restore(db, shop, settings, tmp_path):
    url = settings.database_url.replace("+aiosqlite", "").replace("+asyncpg", "")
    env = {"PATH": os.environ["PATH"], "KEHU_DATABASE_URL": url, "KEHU_SECRET_KEY": "s" * 40}

    def kehu(*args):
        return subprocess.run(
            [KEHU, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
        )

    done = kehu("backup", "saved")
    assert done.returncode == 0, done.stderr
    await spoil(db, shop)
    await db.close()
    await db.bind.dispose()
    done = kehu("restore", "saved")
    assert done.returncode == 0, done.stderr
    assert "restored saved" in done.stdout
    assert await names(db) == ["上海华东机械有限公司", "江南纺织"]
    wrong = kehu("restore", "missing")
    assert wrong.returncode == 1 and "cannot read missing" in wrong.stderr
