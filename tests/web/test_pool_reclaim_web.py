"""The return seen by people: Today's warning list, and `kehu pool reclaim [--dry-run]`."""

import os
import sqlite3
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from db.engine import make_engine, make_sessionmaker
from db.types import utcnow
from tests import factories as make
from tests.support import html

KEHU = str(Path(sys.executable).parent / "kehu")


async def test_today_warns_of_own_customers_returning_soon(client, db, signed_in):
    rep = await signed_in("rep", locale="en")
    now = utcnow()
    old = now - timedelta(days=400)
    soon = await make.customer(
        db,
        owner=rep,
        name="华东机械",
        level="A",
        # Whole days, so the return falls at this time of day: N local days on, at any hour.
        last_visit_at=now - timedelta(days=27),
        created_at=old,
    )
    await make.customer(db, owner=rep, name="fresh", level="A", last_visit_at=now, created_at=old)
    today = html(await client.get("/"))
    loader = today.css_first("#pool-today [hx-get]")
    assert loader.attributes["hx-get"] == "/pool/warnings"
    fragment = await client.get("/pool/warnings", headers={"HX-Request": "true"})
    tree = html(fragment)
    assert "<html" not in fragment.text
    rows = tree.css("#pool-warnings .pool-warning")
    assert len(rows) == 1
    assert rows[0].css_first("a").attributes["href"] == f"/customers/{soon.id}"
    assert "Returns to the pool in 3 days" in rows[0].text()


async def test_the_warning_in_chinese(client, db, signed_in):
    rep = await signed_in("rep", locale="zh_CN")
    now = utcnow()
    await make.customer(
        db,
        owner=rep,
        level="A",
        last_visit_at=now - timedelta(days=28),
        created_at=now - timedelta(days=99),
    )
    tree = html(await client.get("/pool/warnings"))
    assert "2天后退回公海" in tree.css_first("#pool-warnings").text()


def _run(tmp_path, *args, env):
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_")}
    return subprocess.run(
        [KEHU, *args],
        cwd=tmp_path,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


async def test_kehu_pool_reclaim_dry_run_then_for_real(tmp_path):
    env = {"KEHU_DATABASE_URL": f"sqlite:///{tmp_path / 'kehu.db'}", "KEHU_SECRET_KEY": "s" * 40}
    assert _run(tmp_path, "db", "upgrade", env=env).returncode == 0
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'kehu.db'}")
    async with make_sessionmaker(engine)() as db:
        rep = await make.user(db, team=await make.team(db))
        old = utcnow() - timedelta(days=400)
        await make.customer(db, owner=rep, level="A", last_visit_at=old, created_at=old)
    await engine.dispose()
    con = sqlite3.connect(tmp_path / "kehu.db")
    dry = _run(tmp_path, "pool", "reclaim", "--dry-run", env=env)
    assert dry.returncode == 0, dry.stderr
    assert "would return 1 customers" in dry.stdout
    assert con.execute("SELECT owner_id FROM customer").fetchone() == (rep.id,)
    real = _run(tmp_path, "pool", "reclaim", env=env)
    assert "returned 1 customers" in real.stdout
    assert con.execute("SELECT owner_id FROM customer").fetchone() == (None,)
    again = _run(tmp_path, "pool", "reclaim", env=env)
    assert "returned 0 customers" in again.stdout
