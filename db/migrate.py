"""Apply Alembic migrations programmatically (used by `kehu serve` and `kehu db upgrade`)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import create_engine, event

from db.engine import _sqlite_pragmas, sync_url

MIGRATIONS = Path(__file__).parent / "migrations"


class MigrationError(Exception):
    """The database could not be opened or brought up to date."""


def alembic_config(url: str) -> Config:
    """Build the Alembic configuration for a database URL."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", sync_url(url).replace("%", "%%"))
    return cfg


def _migration_connection(dbapi_conn, _record) -> None:
    """Run migrations in one real transaction, with foreign keys checked once at the end.

    pysqlite's own transaction handling commits before every DDL statement. Left on, each
    CREATE/ALTER of a migration is committed at once, so a migration that fails halfway
    leaves a half-upgraded database that claims the old revision.
    """
    dbapi_conn.isolation_level = None
    # Batch mode rebuilds a table (copy, DROP, RENAME); with foreign keys on, the DROP of a
    # table other rows point at fails. The pragma only takes effect outside a transaction.
    dbapi_conn.execute("PRAGMA foreign_keys=OFF")


def _begin(conn) -> None:
    """Open the real SQLite transaction the whole upgrade runs in (DDL included)."""
    conn.exec_driver_sql("BEGIN")


def _check_foreign_keys(conn) -> None:
    """Refuse a migration that left a row pointing at nothing (checked before COMMIT)."""
    broken = conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        tables = sorted({row[0] for row in broken})
        raise MigrationError(f"{len(broken)} rows point at missing rows in {', '.join(tables)}")


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest schema."""
    engine = create_engine(sync_url(url))
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "connect", _migration_connection)
        event.listen(engine, "begin", _begin)
    cfg = alembic_config(url)
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
                if sqlite:
                    _check_foreign_keys(conn)
    except Exception as exc:
        raise MigrationError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        engine.dispose()
