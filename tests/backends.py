"""The test run's database backend: migrated SQLite files or a private PostgreSQL cluster.

Both migrate one template database per run and give every test a fresh copy of it:
SQLite copies the file, PostgreSQL runs `CREATE DATABASE … TEMPLATE` (about 0.1 s,
far less than migrating) and drops the copy when the test ends.
"""

import itertools
import shutil
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from db.migrate import upgrade

BACKENDS = ("sqlite", "postgresql")
TEMPLATE = "kehu_template"


class Backend:
    """Makes fresh migrated databases for tests."""

    name = "sqlite"
    unavailable: str | None = None  # why the run is skipped, when it is
    # Settings.extra for an app on this backend's databases.
    settings_extra: dict = {}

    def new_database(self, directory: Path) -> str:
        """A fresh migrated database; return its URL."""
        raise NotImplementedError

    def drop_database(self, url: str) -> None:
        """Remove a database made by new_database (a file in a test's tmp dir stays)."""

    def describe(self) -> str:
        """One line for the pytest header."""
        return f"kehu database backend: {self.name}"

    def close(self) -> None:
        """Free what the run started."""


class SqliteBackend(Backend):
    """One migrated file per run, copied for each test."""

    def __init__(self) -> None:
        self._dir = Path(tempfile.mkdtemp(prefix="kehu-template-"))
        self._template: Path | None = None

    def new_database(self, directory: Path) -> str:
        """Copy the migrated template file into `directory` (migrating it on first use)."""
        if self._template is None:
            self._template = self._dir / "kehu.db"
            upgrade(f"sqlite+aiosqlite:///{self._template}")
        target = Path(directory) / "kehu.db"
        shutil.copy(self._template, target)
        return f"sqlite+aiosqlite:///{target}"

    def close(self) -> None:
        """Remove the template file."""
        shutil.rmtree(self._dir, ignore_errors=True)


class PostgresBackend(Backend):
    """A throwaway cluster (initdb/pg_ctl, unix socket only) with one migrated template."""

    name = "postgresql"
    # AsyncTestClient runs the app's start-up tasks on a loop of its own; a pooled asyncpg
    # connection must never move between loops.
    settings_extra = {"db_pooled": False}

    def __init__(self) -> None:
        import psycopg

        from tests import pg_cluster

        self._cluster = pg_cluster.start()
        self._numbers = itertools.count(1)
        self._admin = psycopg.connect(self._cluster.sync_dsn("postgres"), autocommit=True)
        self._admin.execute(f"CREATE DATABASE {TEMPLATE}")
        try:
            upgrade(self._cluster.url(TEMPLATE))
        except Exception:
            self.close()
            raise

    @property
    def cluster(self):
        """The running cluster (socket dir, binaries) for tests that need its tools."""
        return self._cluster

    def new_database(self, directory: Path | None = None) -> str:
        """Create a database from the migrated template; return its URL."""
        name = f"kehu_t{next(self._numbers)}"
        self._admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE}")
        return self._cluster.url(name)

    def empty_database(self) -> str:
        """Create an empty database (no schema); return its URL."""
        name = f"kehu_e{next(self._numbers)}"
        self._admin.execute(f"CREATE DATABASE {name}")
        return self._cluster.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a test's database, ending any connection a test left open."""
        name = make_url(url).database
        self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def describe(self) -> str:
        """Name the cluster's socket directory."""
        return f"kehu database backend: postgresql (private cluster at {self._cluster.root})"

    def close(self) -> None:
        """Stop the cluster and remove its files."""
        self._admin.close()
        self._cluster.stop()


class UnavailableBackend(Backend):
    """PostgreSQL was asked for and cannot run here: the whole run is skipped, loudly."""

    name = "postgresql"

    def __init__(self, reason: str) -> None:
        self.unavailable = reason

    def describe(self) -> str:
        """Say why nothing runs."""
        return f"kehu database backend: postgresql UNAVAILABLE, run skipped: {self.unavailable}"


def start(name: str) -> Backend:
    """The backend a run asked for; PostgreSQL that cannot start becomes UnavailableBackend."""
    if name == "sqlite":
        return SqliteBackend()
    from tests.pg_cluster import ClusterUnavailable

    try:
        import psycopg  # noqa: F401  (the postgres extra)
    except ImportError:
        return UnavailableBackend("psycopg is not installed (pip install -e '.[postgres]')")
    try:
        return PostgresBackend()
    except ClusterUnavailable as exc:
        return UnavailableBackend(str(exc))
