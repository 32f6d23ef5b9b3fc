"""Names typed into Kehu lose bidi controls and share one length limit, CLI included."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from sqlalchemy import select

from db.models import Customer, Team, User
from tests import factories as make
from tests.support import csrf_token, sign_in

RLO, PDF, LRI, PDI = "\u202e", "\u202c", "\u2066", "\u2069"


async def test_admin_form_strips_bidi_controls_from_names_and_team_names(client, db):
    admin = await make.user(db, name="王芳", role="admin")
    await sign_in(client, db, admin)
    token = await csrf_token(client, "/admin/users")
    response = await client.post(
        "/admin/users",
        data={
            "_csrf_token": token,
            "name": f"{RLO}nimda{PDF}",
            "role": "rep",
            "new_team": f"{LRI}徐汇{PDI}门店",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert (await db.execute(select(User).where(User.name == "nimda"))).scalar_one()
    assert (await db.execute(select(Team).where(Team.name == "徐汇门店"))).scalar_one()


async def test_admin_form_counts_the_limit_after_cleaning(client, db):
    admin = await make.user(db, name="王芳", role="admin")
    await sign_in(client, db, admin)
    token = await csrf_token(client, "/admin/users")
    padded = RLO * 50 + "字" * 100  # 150 characters typed, 100 left: allowed
    response = await client.post(
        "/admin/users",
        data={"_csrf_token": token, "name": padded, "role": "admin"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    response = await client.post(
        "/admin/users",
        data={"_csrf_token": token, "name": "字" * 101, "role": "admin"},
    )
    assert response.status_code == 422


async def test_customer_names_lose_bidi_controls(client, db):
    team = await make.team(db)
    rep = await make.user(db, role="rep", team=team)
    await sign_in(client, db, rep)
    token = await csrf_token(client, "/customers/new")
    response = await client.post(
        "/customers",
        data={
            "_csrf_token": token,
            "name": f"上海{RLO}华东{PDF}机械",
            "phone": "138 0013 8000",
            "level": "A",
            "source": "referral",
        },
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert (await db.execute(select(Customer.name))).scalar_one() == "上海华东机械"


def run_kehu(tmp_path, *args):
    """Run the console script in a fresh working directory."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_")}
    kehu = str(Path(sys.executable).parent / "kehu")
    return subprocess.run(
        [kehu, *args], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_cli_applies_the_same_name_rules(tmp_path):
    too_long = run_kehu(tmp_path, "user", "add", "字" * 101, "--role", "admin")
    assert too_long.returncode == 2
    assert "at most 100 characters" in too_long.stderr
    team = run_kehu(tmp_path, "user", "add", "陈静", "--role", "rep", "--team", "组" * 101)
    assert team.returncode == 2
    assert "team name can have at most 100" in team.stderr
    ok = run_kehu(tmp_path, "user", "add", f"{RLO}陈静{PDF}", "--role", "admin")
    assert ok.returncode == 0, ok.stderr
    names = sqlite3.connect(tmp_path / "kehu.db").execute("select name from user").fetchall()
    assert names == [("陈静",)]
