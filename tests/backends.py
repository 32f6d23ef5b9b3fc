"""The test run's database backend: migrated SQLite files or a private PostgreSQL cluster.

Both migrate one template database per run and give every test a fresh copy of it:
SQLite copies the file; PostgreSQL recycles a pair of databases made by
`CREATE DATABASE … TEMPLATE`, restoring the template's rows between tests.
"""

import itertools
import json
import queue
import shutil
import tempfile
import threading
from pathlib import Path

from sqlalchemy.engine import make_url

from db.migrate import upgrade

BACKENDS = ("sqlite", "postgresql")
TEMPLATE = "kehu_template"


class Backend:
    """Makes fresh migrated databases for tests."""

    name = "sqlite"
    unavailable: str | None = None  # why the run is skipped, when it is

    def new_database(self, directory: Path) -> str:
        """A fresh migrated database; return its URL."""
        raise NotImplementedError

    def checkout(self, directory: Path) -> str:
        """A fresh migrated database for one test; return its URL."""
        return self.new_database(directory)

    def release(self, url: str) -> None:
        """The test that checked the database out is over (a file in its tmp dir stays)."""

    def drop_database(self, url: str) -> None:
        """Remove a database made by new_database."""

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
    """A throwaway cluster (initdb/pg_ctl, unix socket only) with one migrated template.

    Creating a database from the template costs ~0.1 s, more when the machine is busy, so
    the per-test databases are recycled: when a test ends, a background thread ends its
    connections and puts the rows of the template back (all tables emptied with the
    triggers off, the template's seed rows and sequence values restored) while the next
    test runs on the other database of the pair.
    """

    name = "postgresql"
    POOL = 2  # recycled per-test databases

    def __init__(self) -> None:
        import psycopg

        from tests import pg_cluster

        self._cluster = pg_cluster.start()
        self._numbers = itertools.count(1)
        self._admin = psycopg.connect(self._cluster.sync_dsn("postgres"), autocommit=True)
        self._free: queue.Queue[str] = queue.Queue()
        self._made = 0
        self._resets: queue.Queue[str | None] = queue.Queue()
        self._resetter = threading.Thread(target=self._reset_loop, name="kehu-pg-reset")
        self._resetter.daemon = True
        try:
            self._admin.execute(f"CREATE DATABASE {TEMPLATE}")
            upgrade(self._cluster.url(TEMPLATE))
            self._snapshot()
        except Exception:
            self._admin.close()
            self._cluster.stop()
            raise
        self._resetter.start()

    @property
    def cluster(self):
        """The running cluster (socket dir, binaries) for tests that need its tools."""
        return self._cluster

    def _snapshot(self) -> None:
        """Remember what a fresh database holds: its seed rows and sequence values."""
        import psycopg

        with psycopg.connect(self._cluster.sync_dsn(TEMPLATE), autocommit=True) as conn:
            tables = [
                r[0]
                for r in conn.execute(
                    "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                    "AND tablename <> 'alembic_version' ORDER BY tablename"
                )
            ]
            self._wipe = "; ".join(f'DELETE FROM "{t}"' for t in tables)
            self._seeds = []
            for t in tables:
                rows = conn.execute(f'SELECT json_agg(t) FROM "{t}" t').fetchone()[0]
                if rows:
                    self._seeds.append((t, json.dumps(rows)))
            self._sequences = []
            for (seq,) in conn.execute(
                "SELECT quote_ident(sequencename) FROM pg_sequences WHERE schemaname = 'public'"
            ).fetchall():
                last, called = conn.execute(f"SELECT last_value, is_called FROM {seq}").fetchone()
                self._sequences.append((seq, last, called))

    def _create(self, prefix: str) -> str:
        """A new database copied from the migrated template."""
        name = f"{prefix}{next(self._numbers)}"
        # FILE_COPY: copying a small template's files is ~8x faster than WAL_LOG (PG 15's
        # default), and the checkpoint it needs is cheap on a cluster without fsync.
        self._admin.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE} STRATEGY FILE_COPY")
        return name

    def new_database(self, directory: Path | None = None) -> str:
        """A database of its own (kept to the end of the run, e.g. for a module's world)."""
        return self._cluster.url(self._create("kehu_m"))

    def checkout(self, directory: Path | None = None) -> str:
        """A fresh database for one test: a recycled one, or a new one while there are few."""
        if self._made < self.POOL and self._free.empty():
            self._made += 1
            return self._cluster.url(self._create("kehu_t"))
        return self._cluster.url(self._free.get(timeout=120))

    def release(self, url: str) -> None:
        """The test is over: recycle its database in the background."""
        self._resets.put(make_url(url).database)

    def empty_database(self) -> str:
        """Create an empty database (no schema); return its URL."""
        name = f"kehu_e{next(self._numbers)}"
        self._admin.execute(f"CREATE DATABASE {name}")
        return self._cluster.url(name)

    def drop_database(self, url: str) -> None:
        """Drop a database made by empty_database or new_database."""
        name = make_url(url).database
        self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def _reset_loop(self) -> None:
        """Make released databases fresh again, one after the other."""
        import psycopg

        with psycopg.connect(self._cluster.sync_dsn("postgres"), autocommit=True) as admin:
            while (name := self._resets.get()) is not None:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = %s AND pid <> pg_backend_pid()",
                    (name,),
                )
                with psycopg.connect(self._cluster.sync_dsn(name)) as conn:
                    # replica: no triggers (the append-only audit, the search index) and no
                    # foreign-key checks while everything is emptied and refilled.
                    conn.execute("SET LOCAL session_replication_role = replica")
                    conn.execute(self._wipe)
                    for table, rows in self._seeds:
                        conn.execute(
                            f'INSERT INTO "{table}" '
                            f'SELECT * FROM json_populate_recordset(NULL::"{table}", %s)',
                            (rows,),
                        )
                    for seq, last, called in self._sequences:
                        conn.execute("SELECT setval(%s, %s, %s)", (seq, last, called))
                self._free.put(name)

    def describe(self) -> str:
        """Name the cluster's socket directory."""
        return f"kehu database backend: postgresql (private cluster at {self._cluster.root})"

    def close(self) -> None:
        """Stop the cluster and remove its files."""
        self._resets.put(None)
        self._resetter.join(timeout=30)
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
