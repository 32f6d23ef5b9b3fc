"""The async engine and sessions, with SQLite tuned for a small always-on server."""

import asyncio
import fcntl
import json
import os
import queue
import sqlite3
import threading
import weakref
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from functools import partial

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool
from sqlmodel.ext.asyncio.session import AsyncSession


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    """Apply the connection settings every SQLite connection needs."""
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


_SQL_IN_THREAD: ContextVar[bool] = ContextVar("kehu_sql_in_thread", default=False)


class InlineConnection(aiosqlite.Connection):
    """An aiosqlite connection that runs statements on the calling thread by default.

    aiosqlite hands every statement to its own thread and wakes the event loop when it is
    done. For the short indexed statements a page is made of (tens of microseconds in
    SQLite) that hand-off costs far more than the statement, and under load each hand-off
    also waits for the GIL. So reads run inline, and code that runs long queries (reports,
    search) wraps them in `sql_in_thread()`, which restores the thread hand-off so the event
    loop keeps serving while SQLite works.
    """

    async def _execute(self, fn, *args, **kwargs):
        """Run `fn` inline when it cannot wait for a lock; otherwise on the thread."""
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        if self._inline(fn, args):
            return fn(*args, **kwargs)
        return await super()._execute(fn, *args, **kwargs)

    def _inline(self, fn, args: tuple) -> bool:
        """Decide whether a call may block the event loop for its (short) duration.

        A write that starts a transaction may wait in SQLite's busy handler for another
        connection's write lock, and that holder may be a coroutine of this very loop: it
        must wait on the thread. A commit may run a WAL checkpoint, which writes and syncs
        the database file: thread too. Reads never wait for locks in WAL mode, and once
        this connection holds the write lock its further statements do not.
        """
        if _SQL_IN_THREAD.get():
            return False
        if self._connection.in_transaction:
            return fn != self._connection.commit
        if args and isinstance(args[0], str):
            return args[0].lstrip()[:6].upper() in ("SELECT", "WITH")
        return True  # cursor(), fetch, or commit/rollback with no transaction open


def _connect_inline(database: str, **kwargs) -> InlineConnection:
    """Open an InlineConnection (used by SQLAlchemy's aiosqlite dialect)."""
    # Used from the event loop thread and the connection's own thread, never at once.
    connector = partial(sqlite3.connect, database, **{**kwargs, "check_same_thread": False})
    connection = InlineConnection(connector, 64)
    connection._thread.daemon = True  # as SQLAlchemy does for aiosqlite: never block exit
    return connection


@contextmanager
def sql_in_thread() -> Iterator[None]:
    """Run the SQLite statements of this block off the event loop (long queries)."""
    token = _SQL_IN_THREAD.set(True)
    try:
        yield
    finally:
        _SQL_IN_THREAD.reset(token)


# `?kehu_pool=off` in a PostgreSQL URL: a connection per session instead of a pool. An
# asyncpg connection belongs to the event loop that opened it, and the test client runs the
# app's start-up tasks on a loop of its own (it is also the right setting behind pgbouncer).
POOL_OPTION = "kehu_pool"


def url_without_options(url: str) -> tuple[str, bool]:
    """The URL the driver understands, and whether Kehu's pool option allows pooling."""
    if POOL_OPTION not in url:
        return url, True
    parsed = make_url(url)
    pooled = parsed.query.get(POOL_OPTION, "on") != "off"
    return parsed.difference_update_query([POOL_OPTION]).render_as_string(False), pooled


# Settings of every PostgreSQL connection the app opens (sent in the startup packet, so no
# round trip). JIT compilation pays off for long analytic queries; Kehu's are short indexed
# reads, and a plan whose estimate crosses jit_above_cost (a big report, a misestimated
# join) would spend tens of milliseconds compiling it. On the 100,000-customer bench data no
# hot query crossed it (pg_stat_statements: no JIT functions with jit=on), so this is
# insurance for larger data. deploy/postgresql.conf sets the same for the whole server.
PG_SERVER_SETTINGS = {"jit": "off"}

# JSON columns keep Chinese as UTF-8, not as \uXXXX escapes: a third of the size, and
# decoded 2.6x faster (an import reads 100,000 stored rows back: docs/BENCHMARKS.md,
# "Import and export"). Readers see the same values; rows written earlier stay readable.
_json_dumps = partial(json.dumps, ensure_ascii=False)


def make_engine(url: str, *, echo: bool = False) -> AsyncEngine:
    """Create the async engine for a database URL (SQLite or PostgreSQL)."""
    url, pooled = url_without_options(url)
    kwargs: dict = {"echo": echo, "json_serializer": _json_dumps}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 5, "async_creator_fn": _connect_inline}
    else:
        if make_url(url).get_driver_name() == "asyncpg":
            kwargs["connect_args"] = {"server_settings": PG_SERVER_SETTINGS}
        # No pool_pre_ping: on asyncpg it is BEGIN, an empty query and ROLLBACK (three round
        # trips) on every checkout, i.e. on every request. _pg_checkout's free check replaces
        # it for a connection whose socket the server closed (a restart, an idle timeout).
        if pooled:
            kwargs.update(pool_size=10, max_overflow=10)
        else:
            kwargs["poolclass"] = NullPool
    engine = create_async_engine(url, **kwargs)
    if url.startswith("sqlite"):
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    elif pooled:
        event.listen(engine.sync_engine, "checkout", _pg_checkout)
    return engine


def _pg_checkout(dbapi_conn, _record, _proxy) -> None:
    """Hand out no pooled connection that is already closed; the pool opens a new one.

    asyncpg notices a closed socket (the server restarted or ended the backend) on the
    event loop without a query; SQLAlchemy retries the checkout on DisconnectionError.
    """
    driver = getattr(dbapi_conn, "_connection", None)
    if driver is not None and driver.is_closed():
        raise DisconnectionError()


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Create the factory for request-scoped sessions."""
    return async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)


@asynccontextmanager
async def session_scope(
    factory: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """Yield a session that is rolled back unless the caller committed."""
    async with factory() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise


def sync_url(url: str) -> str:
    """Return the synchronous driver URL that Alembic and bulk loaders use."""
    url = url_without_options(url)[0]
    return url.replace("+aiosqlite", "").replace("+asyncpg", "+psycopg")


class WriteGateTimeout(Exception):
    """Another process held the SQLite write gate longer than the busy timeout."""


# How long a writer waits for another process's write transaction (SQLite's busy_timeout).
GATE_TIMEOUT_S = 5.0


class _Ask:
    """One wait of the lock-holder thread for the file lock, and whether it was given up."""

    __slots__ = ("abandoned", "future", "granted", "loop", "mutex")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop = loop
        self.future: asyncio.Future[None] = loop.create_future()
        self.mutex = threading.Lock()
        self.abandoned = False
        self.granted = False


def _grant(future: "asyncio.Future[None]") -> None:
    """Wake the waiting writer (on its event loop)."""
    if not future.done():
        future.set_result(None)


class _FileLock:
    """An exclusive `flock` on a file beside the database, shared by all writers of a process.

    The in-process queue lets one coroutine at a time ask for it, so one open file
    description per process is enough. The kernel drops the lock when the process dies
    (SIGKILL included), so a killed worker never leaves it taken. A contended lock is waited
    for by one small daemon thread, which wakes the writer's event loop as soon as the
    kernel hands it over: no polling, and the loop keeps serving meanwhile.
    """

    def __init__(self, path: str) -> None:
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        weakref.finalize(self, os.close, self.fd)  # when its engine is gone (tests make many)
        self._asks: queue.SimpleQueue[_Ask] = queue.SimpleQueue()
        self._waiting = 0  # asks the thread has not finished (only > 0 after a timeout)
        self._thread: threading.Thread | None = None

    def try_lock(self) -> bool:
        """Take the lock if it is free, without waiting."""
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def unlock(self) -> None:
        """Give the lock back."""
        fcntl.flock(self.fd, fcntl.LOCK_UN)

    async def lock(self, wait_s: float) -> None:
        """Take the lock, waiting up to `wait_s` seconds; raise WriteGateTimeout."""
        # While a given-up ask is still pending in the thread, a direct try on the same
        # file description could succeed and then be undone by that ask's unlock.
        if not self._waiting and self.try_lock():
            return
        ask = _Ask(asyncio.get_running_loop())
        self._waiting += 1
        if self._thread is None or not self._thread.is_alive():
            self._thread = threading.Thread(target=self._hold, name="kehu-write-lock", daemon=True)
            self._thread.start()
        self._asks.put(ask)
        try:
            await asyncio.wait_for(asyncio.shield(ask.future), wait_s)
        except TimeoutError:
            self._give_up(ask)
            raise WriteGateTimeout() from None
        except BaseException:  # cancelled: the request ended while it waited
            self._give_up(ask)
            raise

    def _give_up(self, ask: _Ask) -> None:
        """Tell the thread an ask is no longer wanted; free the lock if it was just given."""
        with ask.mutex:
            ask.abandoned = True
            granted = ask.granted
        if granted:
            self.unlock()

    def _hold(self) -> None:
        """The lock-holder thread: wait in the kernel for each ask in turn."""
        while True:
            ask = self._asks.get()
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            with ask.mutex:
                if ask.abandoned:
                    fcntl.flock(self.fd, fcntl.LOCK_UN)
                else:
                    ask.granted = True
            try:
                ask.loop.call_soon_threadsafe(self._done, ask)
            except RuntimeError:  # the loop is closed: nobody is left to use the lock
                if ask.granted:
                    fcntl.flock(self.fd, fcntl.LOCK_UN)
                self._waiting -= 1

    def _done(self, ask: _Ask) -> None:
        """On the loop: one ask fewer in the thread; wake its writer if still waiting."""
        self._waiting -= 1
        if ask.granted:
            _grant(ask.future)


class _Gate:
    """One engine's write gate: the in-process queue, then (SQLite file) the file lock."""

    __slots__ = ("file", "queue")

    def __init__(self, database: str | None) -> None:
        self.queue = asyncio.Lock()
        on_disk = database and database != ":memory:" and not database.startswith("file:")
        self.file = _FileLock(f"{database}.write-lock") if on_disk else None

    async def acquire(self) -> None:
        """Wait for this process's turn, then for the other processes'."""
        await self.queue.acquire()
        if self.file is None:
            return
        try:
            await self.file.lock(GATE_TIMEOUT_S)
        except BaseException:
            self.queue.release()
            raise

    def release(self) -> None:
        """Let the next writer of any process in."""
        if self.file is not None:
            self.file.unlock()
        self.queue.release()


_GATES: "weakref.WeakKeyDictionary[object, _Gate]" = weakref.WeakKeyDictionary()
_HELD = "kehu_write_gate"  # session.info key: the gate this session's transaction holds


async def write_gate(session: AsyncSession) -> None:
    """Let one write transaction at a time, of all processes on the file, reach SQLite.

    SQLite has one writer; a second writer waits in its busy handler, which sleeps in
    growing steps (up to 100 ms) and, with 16 phones tapping at once, ends in "database is
    locked" after the busy timeout. Queuing instead makes each write a few milliseconds:
    in-process on an asyncio lock, and across `kehu serve` workers on an `flock` of the
    file `<database>.write-lock` (see _FileLock). A db write function awaits this before
    its first write; the gate is held until the session's transaction ends (commit,
    rollback or close), so the caller's commit still happens inside it. Calling it again
    in the same transaction is a no-op. Raise WriteGateTimeout when another process held
    it for GATE_TIMEOUT_S. PostgreSQL: no-op.
    """
    bind = session.bind
    if bind is None or bind.dialect.name != "sqlite" or _HELD in session.info:
        return
    gate = _GATES.get(bind)
    if gate is None:
        gate = _GATES[bind] = _Gate(bind.url.database)
    if not session.in_transaction():
        await session.begin()  # so that closing the session, too, ends it and frees the gate
    await gate.acquire()
    session.info[_HELD] = gate


# Listened for on every session once (a listener added per session cost more than the
# check): most sessions never take the gate and return at the first test.
@event.listens_for(Session, "after_transaction_end")
def _release_gate(session, transaction) -> None:
    """Free the write gate when the session's outermost transaction ends."""
    if transaction.parent is not None or _HELD not in session.info:
        return  # a savepoint or subtransaction: the outer transaction still holds it
    session.info.pop(_HELD).release()


def upsert(session: AsyncSession, table):
    """An INSERT that can take ON CONFLICT clauses, in the session's own SQL dialect."""
    from sqlalchemy.dialects import postgresql, sqlite

    dialect = session.bind.dialect.name if session.bind is not None else "sqlite"
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)
