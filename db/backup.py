"""Consistent online backups (SQLite's backup API, PostgreSQL's pg_dump) and their restore.

A backup is written as a private (0600) file that never replaces or follows anything.
SQLite backups are database files; PostgreSQL backups are pg_dump archives (custom format),
restored with pg_restore into the same or another database.
"""

import glob
import os
import shutil
import sqlite3
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from db.engine import url_without_options

# Create a private file: refuse an existing file and a planted symlink alike.
PRIVATE_CREATE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)


PG_MAGIC = b"PGDMP"  # the first bytes of a pg_dump custom-format archive
SQLITE_MAGIC = b"SQLite format 3\x00"


class BackupError(Exception):
    """The backup could not be written (or restored)."""


def backup(url: str, target: Path) -> None:
    """Copy the live database to `target`: SQLite's online backup API, or pg_dump.

    The copy is made in a 0600 temporary file next to the target and then hard-linked into
    place, which fails when anything (a file, a symlink) already has that name: the backup
    never follows a symlink, never overwrites, and nobody else can read it.
    """
    parsed = make_url(url)
    postgres = parsed.get_backend_name() == "postgresql"
    if not postgres and not parsed.drivername.startswith("sqlite"):
        raise BackupError(f"kehu backup knows SQLite and PostgreSQL, not {parsed.drivername}")
    source = Path(parsed.database or "")
    if not postgres and not source.exists():
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
        if postgres:
            _pg_run("pg_dump", url, ["--format=custom", "--no-owner", f"--file={temp}"])
        else:
            _sqlite_copy(source, temp)
        _publish(temp, target)
    finally:
        for leftover in (temp, Path(f"{temp}-journal")):
            leftover.unlink(missing_ok=True)


def restore(url: str, source: Path) -> None:
    """Put a backup made by `backup` back into the database at `url` (stop the server first).

    SQLite: the backup's pages replace the database's, in one step. PostgreSQL:
    pg_restore --clean drops and recreates every object of the archive, in one transaction.
    The backup must come from the same kind of database.
    """
    parsed = make_url(url)
    try:
        with source.open("rb") as fh:
            head = fh.read(len(SQLITE_MAGIC))
    except OSError as exc:
        raise BackupError(f"cannot read {source}: {exc.strerror}") from exc
    if parsed.get_backend_name() == "postgresql":
        if not head.startswith(PG_MAGIC):
            raise BackupError(f"{source} is not a PostgreSQL backup (made by kehu backup)")
        _pg_run(
            "pg_restore",
            url,
            ["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error"],
            extra=[str(source)],
        )
        return
    if head != SQLITE_MAGIC:
        raise BackupError(f"{source} is not a SQLite backup (made by kehu backup)")
    target = Path(parsed.database or "")
    if not target.exists():
        raise BackupError(f"database file {target} does not exist")
    _sqlite_copy(source, target)


def _sqlite_copy(source: Path, target: Path) -> None:
    """Copy one SQLite database into another with the online backup API."""
    try:
        with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
            src.backup(dst)
        dst.close()
        src.close()
    except sqlite3.Error as exc:
        raise BackupError(f"backup failed: {exc}") from exc


def pg_tool(name: str) -> str:
    """The path of pg_dump / pg_restore: on PATH, else Debian's newest version."""
    found = shutil.which(name)
    if found:
        return found
    for candidate in sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True):
        return candidate
    raise BackupError(f"{name} is not installed (on Debian: apt-get install postgresql-client)")


def _pg_run(tool: str, url: str, options: list[str], extra: list[str] = ()) -> None:
    """Run pg_dump or pg_restore on the database at `url`; the password goes by environment."""
    parsed = make_url(url_without_options(url)[0])
    env = dict(os.environ)
    if parsed.password:
        env["PGPASSWORD"] = str(parsed.password)
    dsn = parsed.set(drivername="postgresql", password=None).render_as_string(hide_password=False)
    argv = [pg_tool(tool), *options, f"--dbname={dsn}", *extra]
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    except OSError as exc:
        raise BackupError(f"{tool} could not run: {exc.strerror}") from exc
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip().splitlines()
        raise BackupError(f"{tool} failed: {detail[-1] if detail else done.returncode}")


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
