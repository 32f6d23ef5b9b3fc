"""The `kehu` command line: clear one-line errors, migrations, backup, user add."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

KEHU = str(Path(sys.executable).parent / "kehu")


def run(tmp_path, *args, **env):
    """Run kehu in a clean working directory with the given KEHU_* settings."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("KEHU_")}
    return subprocess.run(
        [KEHU, *args],
        cwd=tmp_path,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_bad_origin_setting_is_one_clear_line(tmp_path):
    result = run(tmp_path, "db", "upgrade", KEHU_ORIGIN="localhost:8000")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "KEHU_ORIGIN" in lines[0]
    assert "Traceback" not in result.stderr


def test_bad_database_url_names_the_setting(tmp_path):
    result = run(tmp_path, "db", "upgrade", KEHU_DATABASE_URL="mysql://x")
    assert result.returncode == 2
    assert "KEHU_DATABASE_URL" in result.stderr
    assert "Traceback" not in result.stderr


def test_database_that_cannot_be_opened_gives_a_clear_message(tmp_path):
    result = run(tmp_path, "db", "upgrade", KEHU_DATABASE_URL="sqlite:////nonexistent/dir/k.db")
    assert result.returncode == 1
    assert "cannot open or migrate the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_upgrade_creates_schema_and_keeps_a_generated_secret(tmp_path):
    result = run(tmp_path, "db", "upgrade")
    assert result.returncode == 0, result.stderr
    tables = {
        r[0]
        for r in sqlite3.connect(tmp_path / "kehu.db").execute(
            "select name from sqlite_master where type='table'"
        )
    }
    assert {"team", "user", "customer", "visit", "audit_event", "web_session"} <= tables
    secret = (tmp_path / ".kehu-secret").read_text()
    assert len(secret.strip()) >= 32
    assert run(tmp_path, "db", "upgrade").returncode == 0
    assert (tmp_path / ".kehu-secret").read_text() == secret


def test_user_add_prints_enrolment_link_last(tmp_path):
    result = run(
        tmp_path, "user", "add", "王芳", "--role", "admin", KEHU_ORIGIN="http://localhost:8123"
    )
    assert result.returncode == 0, result.stderr
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("http://localhost:8123/enroll/")
    result = run(
        tmp_path, "user", "add", "吴婷", "--role", "clerk", "--team", "徐家汇门店", "--store"
    )
    assert result.returncode == 0, result.stderr
    row = (
        sqlite3.connect(tmp_path / "kehu.db")
        .execute(
            "select team.name, team.is_store from user join team on team.id = user.team_id"
            " where user.name = '吴婷'"
        )
        .fetchone()
    )
    assert row == ("徐家汇门店", 1)


def test_rep_without_team_is_refused_clearly(tmp_path):
    result = run(tmp_path, "user", "add", "陈静", "--role", "rep")
    assert result.returncode == 2
    assert "--team" in result.stderr


def test_backup_is_a_consistent_copy(tmp_path):
    assert run(tmp_path, "user", "add", "王芳", "--role", "admin").returncode == 0
    result = run(tmp_path, "backup", "copy.db")
    assert result.returncode == 0, result.stderr
    names = sqlite3.connect(tmp_path / "copy.db").execute("select name from user").fetchall()
    assert names == [("王芳",)]
    again = run(tmp_path, "backup", "copy.db")
    assert again.returncode == 1 and "already exists" in again.stderr
