"""Backups and the database file are private: 0600, never through a symlink, never over a file."""

import logging
import os
import sqlite3
import stat

import pytest

from db.backup import BackupError, backup
from db.files import database_file_prepare


@pytest.fixture
def umask_022():
    """The usual umask, under which a plain open() makes world-readable files."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def make_db(path) -> str:
    """A small SQLite database with one row; return its URL."""
    with sqlite3.connect(path) as conn:
        conn.execute("create table t (x text)")
        conn.execute("insert into t values ('客户')")
    conn.close()
    return f"sqlite+aiosqlite:///{path}"


def mode(path) -> int:
    """The permission bits of a file."""
    return stat.S_IMODE(os.stat(path).st_mode)


def test_backup_is_a_private_consistent_copy(tmp_path, umask_022):
    url = make_db(tmp_path / "kehu.db")
    backup(url, tmp_path / "copy.db")
    assert mode(tmp_path / "copy.db") == 0o600
    rows = sqlite3.connect(tmp_path / "copy.db").execute("select x from t").fetchall()
    assert rows == [("客户",)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db", "kehu.db"]


def test_backup_never_follows_a_symlink(tmp_path, umask_022):
    url = make_db(tmp_path / "kehu.db")
    elsewhere = tmp_path / "elsewhere.txt"
    (tmp_path / "copy.db").symlink_to(elsewhere)  # dangling: would be created through it
    with pytest.raises(BackupError, match="already exists"):
        backup(url, tmp_path / "copy.db")
    assert not elsewhere.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db", "kehu.db"]


def test_backup_never_overwrites(tmp_path):
    url = make_db(tmp_path / "kehu.db")
    (tmp_path / "copy.db").write_text("keep me")
    with pytest.raises(BackupError, match="already exists"):
        backup(url, tmp_path / "copy.db")
    assert (tmp_path / "copy.db").read_text() == "keep me"


def test_a_new_database_file_is_created_private(tmp_path, umask_022):
    path = tmp_path / "kehu.db"
    assert database_file_prepare(f"sqlite+aiosqlite:///{path}") == []
    assert mode(path) == 0o600
    with sqlite3.connect(path) as conn:  # SQLite accepts the empty file as a new database
        conn.execute("pragma journal_mode=wal")
        conn.execute("create table t (x)")
    conn.close()
    assert mode(path) == 0o600


def test_a_readable_database_file_is_warned_about(tmp_path, caplog):
    path = tmp_path / "kehu.db"
    make_db(path)
    path.chmod(0o644)
    with caplog.at_level(logging.WARNING, logger="kehu.db"):
        assert database_file_prepare(f"sqlite+aiosqlite:///{path}") == [path]
    assert "readable by other users" in caplog.text
    path.chmod(0o600)
    assert database_file_prepare(f"sqlite+aiosqlite:///{path}") == []
