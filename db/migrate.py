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


def upgrade(url: str) -> None:
    """Bring the database at `url` to the newest schema."""
    engine = create_engine(sync_url(url))
    if url.startswith("sqlite"):
        event.listen(engine, "connect", _sqlite_pragmas)
    cfg = alembic_config(url)
    try:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "heads")
    except Exception as exc:
        raise MigrationError(f"{type(exc).__name__}: {exc}") from exc
    finally:
        engine.dispose()
