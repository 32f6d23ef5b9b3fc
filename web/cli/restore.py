"""`kehu restore FILE`: put a backup made by `kehu backup` back into the database."""

import argparse
import sys
from pathlib import Path


def cmd_restore(args: argparse.Namespace) -> None:
    """Restore FILE into KEHU_DATABASE_URL's database (stop `kehu serve` first)."""
    from db.backup import BackupError, restore
    from web.cli.main import _settings

    settings = _settings()
    try:
        restore(settings.database_url, Path(args.file))
    except BackupError as exc:
        print(f"kehu: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
    print(f"restored {args.file}")


def add_parser(sub) -> None:
    """The `kehu restore` command (called by web/cli/main.py's build_parser)."""
    restore = sub.add_parser(
        "restore", help="put a backup back into the database (stop the server first)"
    )
    restore.add_argument("file", help="a file written by kehu backup")
    restore.set_defaults(func=cmd_restore)
