"""Copy a whole Kehu database to another backend (SQLite ⇄ PostgreSQL), table by table.

The target gets its schema from the migrations; the rows follow in batches, parents before
children (the tables' foreign-key order), all in one transaction on the target, so a copy
that fails leaves no half-filled tables. Afterwards PostgreSQL's id sequences continue
after the copied ids, the search index (SQLite customer_fts, PostgreSQL customer_trgm) is
rebuilt from the copied customers, and every table's rows are counted on both sides.
"""

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import (
    JSON,
    Connection,
    Engine,
    MetaData,
    Table,
    create_engine,
    event,
    func,
    select,
    text,
)
from sqlalchemy import inspect as sa_inspect
from sqlalchemy import table as table_clause
from sqlalchemy.engine import make_url
from sqlmodel import SQLModel

import db.models  # noqa: F401  (registers every table in SQLModel.metadata)
from db.engine import _sqlite_pragmas, sync_url
from db.files import database_file_prepare
from db.migrate import MigrationError, alembic_config, upgrade
from db.search import search_index_rebuild, search_index_table

BATCH = 2000
# Kept by the target itself: the migrations write alembic_version, and the search index is
# rebuilt from the customers; SQLite's FTS5 shadow tables belong to customer_fts.
OWN_TABLES = ("alembic_version", "customer_fts", "customer_trgm", "sqlite_")

# progress(table, rows copied so far, rows in the table)
Progress = Callable[[str, int, int], None]


class CopyError(Exception):
    """The copy cannot start or did not finish; the message says why."""


@dataclass(frozen=True)
class TableCount:
    """Rows of one table on both sides after the copy."""

    table: str
    source: int
    target: int

    @property
    def ok(self) -> bool:
        """True when the target holds as many rows as the source."""
        return self.source == self.target


def _engine(url: str) -> Engine:
    """A synchronous engine (pysqlite or psycopg) with Kehu's SQLite pragmas."""
    engine = create_engine(sync_url(url))
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def copy_tables() -> list[Table]:
    """Every table of the schema, parents before children, ready to copy.

    JSON columns are copied with none_as_null, so a SQL NULL stays NULL rather than
    becoming the JSON text 'null'.
    """
    out = MetaData()
    tables = []
    for table in SQLModel.metadata.sorted_tables:
        copied = table.to_metadata(out)
        for column in copied.columns:
            if isinstance(column.type, JSON):
                column.type = JSON(none_as_null=True)
        tables.append(copied)
    return tables


def _is_own(name: str) -> bool:
    """A table the target keeps itself (migrations' bookkeeping, the search index)."""
    return name.startswith(OWN_TABLES)


def _check_source(conn: Connection, url: str) -> None:
    """The source must exist, be a Kehu database and be at the newest migration."""
    names = set(sa_inspect(conn).get_table_names())
    if "alembic_version" not in names:
        raise CopyError(f"{_safe(url)} is not a Kehu database (no migrations applied)")
    head = ScriptDirectory.from_config(alembic_config(url)).get_heads()
    current = MigrationContext.configure(conn).get_current_heads()
    if set(current) != set(head):
        raise CopyError(
            f"the source is at migration {', '.join(current) or 'none'}, not the newest "
            f"({', '.join(head)}): run `kehu db upgrade` on it first"
        )
    known = {t.name for t in SQLModel.metadata.sorted_tables}
    unknown = sorted(n for n in names - known if not _is_own(n))
    if unknown:
        raise CopyError(f"the source has tables this version does not know: {unknown}")


def _check_target_empty(url: str) -> None:
    """Refuse to copy into a database that already holds tables (nothing is overwritten)."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if not parsed.database or str(path) == ":memory:":
            raise CopyError("the target must be a SQLite file: sqlite:///path/to/new.db")
        if path.exists() and path.stat().st_size > 0:
            raise CopyError(f"the target file {path} exists; copy into a new file")
        return
    engine = _engine(url)
    try:
        with engine.connect() as conn:
            names = sa_inspect(conn).get_table_names()
    except Exception as exc:
        raise CopyError(f"cannot open the target {_safe(url)}: {exc}") from exc
    finally:
        engine.dispose()
    if names:
        raise CopyError(
            f"the target database already has {len(names)} tables; copy into an empty "
            "database (createdb NAME)"
        )


def _safe(url: str) -> str:
    """A URL fit for a message: no password."""
    return make_url(url).render_as_string(hide_password=True)


def _batches(conn: Connection, table: Table, size: int) -> Iterator[list[dict]]:
    """The table's rows in primary-key order, `size` at a time (streamed, not all in memory)."""
    stmt = select(table).order_by(*table.primary_key.columns)
    result = conn.execution_options(yield_per=size).execute(stmt)
    for part in result.mappings().partitions(size):
        yield [dict(row) for row in part]


def _count(conn: Connection, table) -> int:
    """Rows in a table."""
    return conn.execute(select(func.count()).select_from(table)).scalar_one()


def _reset_sequences(conn: Connection, tables: list[Table]) -> None:
    """PostgreSQL: let each id sequence continue after the highest copied id."""
    for table in tables:
        pk = list(table.primary_key.columns)
        if len(pk) != 1 or pk[0].type.python_type is not int:
            continue
        name, col = table.name, pk[0].name
        seq = conn.execute(
            text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": f'"{name}"', "c": col}
        ).scalar()
        if seq:
            conn.execute(
                text(
                    f'SELECT setval(:s, coalesce((SELECT max("{col}") FROM "{name}"), 0) + 1, '  # noqa: S608
                    "false)"
                ),
                {"s": seq},
            )


def database_copy(
    source_url: str, target_url: str, *, batch: int = BATCH, progress: Progress | None = None
) -> list[TableCount]:
    """Copy every row of the source database into a new, empty target; count both sides.

    Returns one TableCount per table (and one for the search index); the caller decides
    what a mismatch means. Raises CopyError when the copy cannot start or fails.
    """
    source = _engine(source_url)
    try:
        with source.connect() as src:
            _check_source(src, source_url)
        _check_target_empty(target_url)
        database_file_prepare(target_url)  # a new SQLite file is private (0600) from the start
        try:
            upgrade(target_url)
        except MigrationError as exc:
            raise CopyError(f"cannot create the schema on the target: {exc}") from exc
        target = _engine(target_url)
        try:
            return _copy_rows(source, target, batch, progress)
        finally:
            target.dispose()
    finally:
        source.dispose()


def _copy_rows(source: Engine, target: Engine, batch: int, progress) -> list[TableCount]:
    """Clear what the migrations seeded, copy all rows, fix sequences and the index, count."""
    tables = copy_tables()
    postgres = target.dialect.name == "postgresql"
    with source.connect() as src, target.begin() as dst:
        if postgres:
            # The row triggers (search index, append-only audit) would run per copied row;
            # the index is rebuilt once below and the audit rows are copied, not changed.
            for table in tables:
                dst.execute(text(f'ALTER TABLE "{table.name}" DISABLE TRIGGER USER'))
        for table in reversed(tables):
            dst.execute(table.delete())  # the settings rows the migrations inserted
        for table in tables:
            total = _count(src, table)
            done = 0
            if progress:
                progress(table.name, 0, total)
            for rows in _batches(src, table, batch):
                dst.execute(table.insert(), rows)
                done += len(rows)
                if progress:
                    progress(table.name, done, total)
        if postgres:
            for table in tables:
                dst.execute(text(f'ALTER TABLE "{table.name}" ENABLE TRIGGER USER'))
            _reset_sequences(dst, tables)
        search_index_rebuild(dst)
    with source.connect() as src, target.connect() as dst:
        counts = [TableCount(t.name, _count(src, t), _count(dst, t)) for t in tables]
        index = search_index_table(target.dialect.name)
        customers = next(c for c in counts if c.table == "customer")
        indexed = _count(dst, table_clause(index))
        counts.append(TableCount(f"{index} (search index)", customers.source, indexed))
    return counts
