"""The `kehu` command line: serve, db upgrade/copy, demo, user add, backup, restore."""

import argparse
import asyncio
import logging
import os
import sys
from pathlib import Path

from web.cli import dbcopy, restore
from web.core.settings import Settings, SettingsError, load_settings


def _fail(message: str, code: int = 2) -> None:
    """Print one clear line and exit."""
    print(f"kehu: {message}", file=sys.stderr)
    raise SystemExit(code)


def _settings() -> Settings:
    """Load settings or exit with the name of the bad setting."""
    try:
        return load_settings()
    except SettingsError as exc:
        _fail(str(exc))
        raise  # unreachable; keeps type checkers calm


def _upgrade(settings: Settings) -> None:
    """Apply migrations or exit with a clear message."""
    from db.files import database_file_prepare
    from db.migrate import MigrationError, upgrade

    database_file_prepare(settings.database_url)  # private before SQLite first creates it
    try:
        upgrade(settings.database_url)
    except MigrationError as exc:
        _fail(f"cannot open or migrate the database {settings.database_url}: {exc}", 1)


def cmd_db_upgrade(args: argparse.Namespace) -> None:
    """Apply pending migrations."""
    settings = _settings()
    _upgrade(settings)
    print("database is up to date")


def cmd_demo(args: argparse.Namespace) -> None:
    """Fill the database with realistic demo data."""
    from db.demo import seed_demo

    settings = _settings()
    _upgrade(settings)
    summary = seed_demo(settings.database_url, customers=args.customers, visits=args.visits)
    print(summary)


def _limit_malloc_arenas() -> None:
    """Cap glibc's malloc arenas at two before any thread starts.

    Each SQLite connection thread otherwise gets an arena of its own, and the memory freed
    in them is rarely returned: bench, 16 clients searching: peak RSS 243 MB -> 214 MB.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").mallopt(-8, 2)  # M_ARENA_MAX
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def _keep_freed_heap() -> None:
    """Keep up to 16 MB of freed heap in the process instead of handing it back at once.

    glibc returned freed memory past its trim threshold (and each large block that got an
    mmap of its own) to the kernel, and the next request faulted it in again, zeroed: a
    brotli-5 compressor's ~2.3 MB of tables per response body, for one. Measured (issue 17,
    docs/BENCHMARKS.md "A leaner request"): Today 86 -> 18 page faults per request (system
    CPU 0.54 -> 0.35 ms); brotli 5 in a loop with other allocations between, 575 -> 2 faults
    and 1.9 -> 0.6 ms per body. Fixed thresholds (8 MB mmap, 16 MB trim) also end glibc's
    dynamic threshold; RSS stayed within 1 MB in that loop.
    """
    try:
        import ctypes

        mallopt = ctypes.CDLL("libc.so.6").mallopt
        mallopt(-3, 8 * 1024 * 1024)  # M_MMAP_THRESHOLD (also ends the dynamic threshold)
        mallopt(-1, 16 * 1024 * 1024)  # M_TRIM_THRESHOLD
    except (OSError, AttributeError):
        pass  # not glibc: nothing to tune


def _freeze_startup_heap() -> None:
    """Move the objects a worker built at start-up out of the garbage collector's sight.

    The app, its templates, the pinyin table and SQLAlchemy's metadata are ~170,000 objects
    that live as long as the worker; every full collection walked them all and stopped the
    worker for 90-110 ms (bench, 2 workers, customer pages: four such pauses in 10 s, each
    stalling every request in flight). Frozen, a full collection walks ~20,000 objects in
    5-8 ms. Collected first, so that no start-up garbage is frozen with them.
    """
    import gc

    gc.collect()
    gc.freeze()


def _check_tls_files(args: argparse.Namespace, settings: Settings) -> None:
    """Exit with one line unless --tls-cert and --tls-key are both absent or load as a pair."""
    import ssl

    if not args.tls_cert and not args.tls_key:
        return
    if not args.tls_cert or not args.tls_key:
        _fail("--tls-cert and --tls-key go together: give both files or neither")
    try:
        ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
            args.tls_cert, args.tls_key
        )
    except (OSError, ssl.SSLError) as exc:
        _fail(f"cannot use --tls-cert {args.tls_cert} with --tls-key {args.tls_key}: {exc}")
    if not settings.is_https:
        # Passkeys are bound to the origin: an http KEHU_ORIGIN fails every sign-in.
        print(
            f"kehu: WARNING: serving https but KEHU_ORIGIN is {settings.origin}; "
            f"set KEHU_ORIGIN=https://<host>:{args.port} or passkey sign-in fails",
            file=sys.stderr,
            flush=True,
        )


def _tls_and_proxy_options(args: argparse.Namespace, settings: Settings) -> dict:
    """uvicorn's TLS files, and proxy headers believed from KEHU_TRUSTED_PROXIES only.

    Behind a trusted proxy uvicorn takes the client address from X-Forwarded-For and the
    scheme from X-Forwarded-Proto, right to left as web/core/client_ip.py reads the chain;
    without trusted proxies those headers are ignored, since any client could send them.
    """
    return {
        "ssl_certfile": args.tls_cert,
        "ssl_keyfile": args.tls_key,
        "proxy_headers": bool(settings.trusted_proxies),
        "forwarded_allow_ips": list(settings.trusted_proxies) or None,
    }


def _warn_if_no_cjk_font() -> None:
    """Say loudly at start-up when the PDFs would print Chinese as empty boxes."""
    from pdf.fonts import cjk_font_problem

    problem = cjk_font_problem()
    if problem:
        print(f"kehu: WARNING: {problem}", file=sys.stderr, flush=True)


def default_workers() -> int:
    """The number of CPUs this process may run on: `kehu serve`'s default worker count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _worker_count(raw: str) -> int:
    """Parse --workers: a whole number from 1 to 64."""
    try:
        value = int(raw)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a whole number, got {raw!r}") from None
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"must be between 1 and 64, got {value}")
    return value


def worker_app():
    """The app of one `kehu serve` worker process (uvicorn calls this in each worker).

    Each worker is a fresh process (spawned), so the per-process set-up happens here: the
    malloc arena cap, logging, the app and its daily pool schedule. Migrations and demo data
    ran once in the parent before any worker started.
    """
    _limit_malloc_arenas()
    _keep_freed_heap()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    from web.app import create_app
    from web.pool.reclaim import install_reclaim_schedule

    app = create_app(_settings())
    install_reclaim_schedule(app)
    _freeze_startup_heap()
    return app


def cmd_serve(args: argparse.Namespace) -> None:
    """Upgrade the database, optionally seed demo data, and serve with N worker processes."""
    import uvicorn

    from db.demo import database_is_empty, seed_demo
    from domain.pinyin_table import ensure_table as ensure_pinyin_table
    from web.cli.workers import CAN_BALANCE, serve_workers

    settings = _settings()
    _check_tls_files(args, settings)
    _warn_if_no_cjk_font()
    _upgrade(settings)
    # Built here, once, so that no worker builds it during its first request with a name.
    ensure_pinyin_table()
    if args.demo and database_is_empty(settings.database_url):
        print("Seeding demo data into the empty database…", flush=True)
        print(seed_demo(settings.database_url, customers=2000, visits=20000), flush=True)
    if args.demo:
        from web.cli.users import print_demo_links

        print_demo_links(settings)
    workers = args.workers or default_workers()
    scheme = "https" if args.tls_cert else "http"
    print(
        f"Kehu is serving on {scheme}://{args.host}:{args.port} (origin {settings.origin}), "
        f"{workers} worker process{'es' if workers > 1 else ''}",
        flush=True,
    )
    # An import string and a factory: with several workers uvicorn spawns each one, and
    # every worker builds its own app (engine, sessions, schedules) in worker_app().
    options = dict(
        factory=True,
        workers=workers,
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        # Named, not "auto": if either were missing uvicorn would quietly fall back to asyncio
        # and the pure-Python h11 parser (277-305 vs 345 req/s, docs/BENCHMARKS.md); loudly.
        loop="uvloop",
        http="httptools",
        **_tls_and_proxy_options(args, settings),
    )
    if workers > 1 and CAN_BALANCE:
        serve_workers(uvicorn.Config("web.cli.main:worker_app", **options))
    else:
        uvicorn.run("web.cli.main:worker_app", **options)


def cmd_user_add(args: argparse.Namespace) -> None:
    """Create a user and print a one-time enrolment URL as the last line."""
    from web.cli.users import add_user_with_link

    settings = _settings()
    _upgrade(settings)
    try:
        url = asyncio.run(
            add_user_with_link(
                settings, name=args.name, role=args.role, team=args.team, store=args.store
            )
        )
    except ValueError as exc:
        _fail(str(exc))
    print(f"Created {args.role} {args.name}. Enrolment link (valid once):")
    print(url)


def cmd_backup(args: argparse.Namespace) -> None:
    """Write a consistent online copy of the database (SQLite backup API or pg_dump)."""
    from db.backup import BackupError, backup

    settings = _settings()
    try:
        backup(settings.database_url, Path(args.file))
    except BackupError as exc:
        _fail(str(exc), 1)
    print(f"backup written to {args.file}")


def cmd_pool_reclaim(args: argparse.Namespace) -> None:
    """Return customers nobody visited to their team's pool (for cron); --dry-run counts."""
    from web.pool.cli import reclaim

    settings = _settings()
    _upgrade(settings)
    print(reclaim(settings, dry_run=args.dry_run))


def build_parser() -> argparse.ArgumentParser:
    """Describe the command line."""
    parser = argparse.ArgumentParser(prog="kehu", description="Kehu CRM")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="upgrade the database and serve the app")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--demo", action="store_true", help="seed demo data into an empty database")
    serve.add_argument("--tls-cert", metavar="FILE", help="serve https with this PEM certificate")
    serve.add_argument("--tls-key", metavar="FILE", help="the certificate's PEM private key")
    serve.add_argument(
        "--workers",
        type=_worker_count,
        default=None,
        help="worker processes (default: the number of CPUs)",
    )
    serve.set_defaults(func=cmd_serve)

    db = sub.add_parser("db", help="database commands")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = db_sub.add_parser("upgrade", help="apply migrations")
    up.set_defaults(func=cmd_db_upgrade)
    dbcopy.add_parser(db_sub)

    demo = sub.add_parser("demo", help="fill the database with demo data")
    demo.add_argument("--customers", type=int, default=2000)
    demo.add_argument("--visits", type=int, default=20000)
    demo.set_defaults(func=cmd_demo)

    user = sub.add_parser("user", help="user commands")
    user_sub = user.add_subparsers(dest="user_command", required=True)
    add = user_sub.add_parser("add", help="create a user and print an enrolment link")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=["rep", "clerk", "manager", "admin"])
    add.add_argument("--team")
    add.add_argument("--store", action="store_true", help="a new team is a store")
    add.set_defaults(func=cmd_user_add)

    backup = sub.add_parser("backup", help="consistent online copy of the database")
    backup.add_argument("file")
    backup.set_defaults(func=cmd_backup)
    restore.add_parser(sub)

    pool = sub.add_parser("pool", help="public pool commands")
    pool_sub = pool.add_subparsers(dest="pool_command", required=True)
    reclaim = pool_sub.add_parser("reclaim", help="return unvisited customers to the pool")
    reclaim.add_argument("--dry-run", action="store_true", help="only count them")
    reclaim.set_defaults(func=cmd_pool_reclaim)
    return parser


def main(argv: list[str] | None = None) -> None:
    """Entry point of the console script."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    args = build_parser().parse_args(argv)
    args.func(args)


if __name__ == "__main__":
    main()
