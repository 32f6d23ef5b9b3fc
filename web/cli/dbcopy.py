"""`kehu db copy SOURCE_URL TARGET_URL`: the whole database to another backend, counted."""

import argparse
import sys
from collections.abc import Callable

URL_HELP = "sqlite:///path/to/kehu.db or postgresql://user@host/dbname"


def database_url(raw: str) -> str:
    """The async URL Kehu uses for a sqlite:/// or postgresql:// URL typed by a person."""
    if raw.startswith("sqlite:///"):
        return raw.replace("sqlite:///", "sqlite+aiosqlite:///", 1)
    if raw.startswith(("postgresql://", "postgres://")):
        return "postgresql+asyncpg://" + raw.split("://", 1)[1]
    if raw.startswith(("sqlite+aiosqlite:///", "postgresql+asyncpg://")):
        return raw
    raise ValueError(f"not a database URL: {raw!r} (use {URL_HELP})")


class _Bar:
    """A progress bar per table on the terminal (rich), or one line per table on stderr."""

    def __init__(self) -> None:
        try:
            from rich.console import Console
            from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
        except ImportError:  # rich comes with litestar's CLI; a bare stderr line otherwise
            self._rich = None
            return
        console = Console(stderr=True)
        self._rich = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=console,
            transient=False,
            disable=not console.is_terminal,
        )
        self._tasks: dict[str, int] = {}

    def __enter__(self) -> Callable[[str, int, int], None]:
        if self._rich is not None:
            self._rich.start()
        return self.update

    def __exit__(self, *exc) -> None:
        if self._rich is not None:
            self._rich.stop()

    def update(self, table: str, done: int, total: int) -> None:
        """Show how far the copy of one table is."""
        if self._rich is None or self._rich.disable:
            if done == total:
                print(f"copied {table}: {done} rows", file=sys.stderr, flush=True)
            return
        if table not in self._tasks:
            self._tasks[table] = self._rich.add_task(table, total=total)
        self._rich.update(self._tasks[table], completed=done)


def cmd_db_copy(args: argparse.Namespace) -> None:
    """Copy SOURCE to a new empty TARGET; print the counts; exit 1 when any count differs."""
    from db.copy import CopyError, database_copy

    try:
        source, target = database_url(args.source), database_url(args.target)
    except ValueError as exc:
        print(f"kehu: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    try:
        with _Bar() as progress:
            counts = database_copy(source, target, batch=args.batch, progress=progress)
    except CopyError as exc:
        print(f"kehu: db copy: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    width = max(len(c.table) for c in counts)
    print(f"{'table':<{width}}  {'source':>9}  {'target':>9}")
    for c in counts:
        mark = "" if c.ok else "  MISMATCH"
        print(f"{c.table:<{width}}  {c.source:>9}  {c.target:>9}{mark}")
    bad = [c.table for c in counts if not c.ok]
    if bad:
        print(f"kehu: db copy: row counts differ in {', '.join(bad)}", file=sys.stderr)
        raise SystemExit(1)
    print(f"copied {sum(c.source for c in counts[:-1])} rows in {len(counts) - 1} tables")


def add_parser(db_sub) -> None:
    """The `kehu db copy` sub-command (called by web/cli/main.py's build_parser)."""
    copy = db_sub.add_parser(
        "copy", help="copy the whole database into a new, empty database (SQLite ⇄ PostgreSQL)"
    )
    copy.add_argument("source", help=f"the database to copy from ({URL_HELP})")
    copy.add_argument("target", help="an empty PostgreSQL database or a new SQLite file")
    copy.add_argument("--batch", type=int, default=2000, help="rows per INSERT batch")
    copy.set_defaults(func=cmd_db_copy)
