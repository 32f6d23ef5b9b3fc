"""Consistent online backup of the SQLite database, written as a private (0600) file."""

import os
import shutil
import sqlite3
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

# Create a private file: refuse an existing file and a planted symlink alike.
PRIVATE_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


class BackupError(Exception):
    """The backup could not be written."""


def backup(url: str, target: Path) -> None:
    """Copy the live database to `target` with SQLite's online backup API.

    The copy is made in a 0600 temporary file next to the target and then hard-linked into
    place, which fails when anything (a file, a symlink) already has that name: the backup
    never follows a symlink, never overwrites, and nobody else can read it.
    """
    parsed = make_url(url)
    if not parsed.drivername.startswith("sqlite"):
        raise BackupError("kehu backup copies SQLite databases; for PostgreSQL use pg_dump")
    source = Path(parsed.database or "")
    if not source.exists():
        raise BackupError(f"database file {source} does not exist")
    if target.exists() or target.is_symlink():
        raise BackupError(f"{target} already exists; choose a new file name")
    directory = target.parent if str(target.parent) else Path(".")
    try:
        fd, temp_name = tempfile.mkstemp(prefix=".kehu-backup-", dir=directory)  # 0600
    except OSError as exc:
        raise BackupError(f"cannot write in {directory}: {exc.strerror}") from exc
    os.close(fd)
    temp = Path(temp_name)
    try:
        try:
            with sqlite3.connect(source) as src, sqlite3.connect(temp) as dst:
                src.backup(dst)
            dst.close()
            src.close()
        except sqlite3.Error as exc:
            raise BackupError(f"backup failed: {exc}") from exc
        _publish(temp, target)
    finally:
        for leftover in (temp, Path(f"{temp}-journal")):
            leftover.unlink(missing_ok=True)


def _publish(temp: Path, target: Path) -> None:
    """Give the finished copy its name without replacing or following anything there."""
    try:
        os.link(temp, target, follow_symlinks=False)
        return
    except FileExistsError:
        raise BackupError(f"{target} already exists; choose a new file name") from None
    except OSError:
        pass  # no hard links on this file system: copy into an exclusively created file
    try:
        fd = os.open(target, PRIVATE_CREATE, 0o600)
    except FileExistsError:
        raise BackupError(f"{target} already exists; choose a new file name") from None
    except OSError as exc:
        raise BackupError(f"cannot create {target}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as out, temp.open("rb") as src:
        shutil.copyfileobj(src, out)
        out.flush()
        os.fsync(out.fileno())
