"""Consistent online backup of the SQLite database."""

import sqlite3
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup could not be written."""


def backup(url: str, target: Path) -> None:
    """Copy the live database to `target` with SQLite's online backup API."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        raise BackupError("kehu backup copies SQLite databases; for PostgreSQL use pg_dump")
    source = Path(parsed.database or "")
    if not source.exists():
        raise BackupError(f"database file {source} does not exist")
    if target.exists():
        raise BackupError(f"{target} already exists; choose a new file name")
    try:
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
    except sqlite3.Error as exc:
        raise BackupError(f"backup failed: {exc}") from exc
