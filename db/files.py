"""The SQLite database file kept private: created 0600, a warning when others can read it."""

import logging
import os
import stat
from pathlib import Path

from sqlalchemy.engine import make_url

log = logging.getLogger("kehu.db")

PRIVATE_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


def sqlite_path(url: str) -> Path | None:
    """The database file of a SQLite URL (None for PostgreSQL or an in-memory database)."""
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite") or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def database_file_prepare(url: str) -> list[Path]:
    """Create a missing SQLite file as 0600; return (and log) the files others can read.

    SQLite gives its -wal and -shm files the database file's permissions, so creating the
    file private before SQLite first opens it keeps all three private.
    """
    path = sqlite_path(url)
    if path is None:
        return []
    try:
        os.close(os.open(path, PRIVATE_CREATE, 0o600))
    except FileExistsError:
        pass  # there already (or a symlink someone put there: SQLite opens what it points to)
    except OSError:
        return []  # a missing directory: the migration reports it in its own words
    readable = []
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            mode = candidate.stat().st_mode
        except OSError:
            continue
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning(
                "database file %s is readable by other users (mode %o): run chmod 600 %s",
                candidate,
                stat.S_IMODE(mode),
                candidate,
            )
            readable.append(candidate)
    return readable
