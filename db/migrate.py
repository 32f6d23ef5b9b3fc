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
    cfg = alembic_config(url)
    try:
        with engine.connect() as conn:
            sqlite = conn.dialect.name == "sqlite"
            if sqlite:
                # Batch mode rebuilds a table (copy, DROP, RENAME); with foreign keys on,
                # the DROP of a table other rows point at fails. The pragma only takes
                # effect outside a transaction, so it is set before BEGIN.
                conn.exec_driver_sql("PRAGMA foreign_keys=OFF")
                conn.commit()
            with conn.begin():
                cfg.attributes["connection"] = conn
                command.upgrade(cfg, "heads")
                if sqlite:
                    _check_foreign_keys(conn)
    except Exception as exc:
        raise MigrationError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        engine.dispose()
