"""Fixtures: a fresh migrated database per test (SQLite or PostgreSQL), the app by create_app."""

import os
import signal
from collections.abc import Iterator

import pytest
from litestar.testing import AsyncTestClient

from db.engine import make_engine, make_sessionmaker, url_without_options
from db.models import Team, User
from tests import backends
from tests import factories as make
from tests.backends import BACKENDS
from tests.support import sign_in
from web.app import create_app
from web.core.settings import Settings, load_settings

# The team a role's user joins when `signed_in` is not told one.
DEFAULT_TEAM = {
    "rep": (make.SALES_TEAM, False),
    "manager": (make.SALES_TEAM, False),
    "clerk": ("南京西路门店", True),
}


def pytest_addoption(parser):
    """`--db=postgresql` (or KEHU_TEST_DB=postgresql) runs the tests on a PostgreSQL cluster."""
    parser.addoption(
        "--db",
        choices=BACKENDS,
        default=os.environ.get("KEHU_TEST_DB", "sqlite"),
        help="the database backend of the db fixtures (default: $KEHU_TEST_DB or sqlite)",
    )


def pytest_configure(config):
    """Start the backend once per run: a template database every test gets a copy of."""
    name = config.getoption("--db")
    if name not in BACKENDS:
        raise pytest.UsageError(f"KEHU_TEST_DB must be one of {', '.join(BACKENDS)}, not {name!r}")
    config.addinivalue_line(
        "markers", "sqlite_only(reason): the test checks SQLite itself; skipped on PostgreSQL"
    )
    config.kehu_backend = backends.start(name)
    if config.kehu_backend.name == "postgresql" and not config.kehu_backend.unavailable:
        # A run stopped by SIGTERM (a CI timeout) ends like Ctrl-C: unconfigure still stops
        # the cluster instead of leaving a server behind.
        signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum, frame):
    """Turn SIGTERM into KeyboardInterrupt, which pytest winds down from."""
    raise KeyboardInterrupt


def pytest_unconfigure(config):
    """Stop the PostgreSQL cluster (and remove its files) at the end of the run."""
    backend = getattr(config, "kehu_backend", None)
    if backend is not None:
        backend.close()


def pytest_report_header(config):
    """Say which backend the run uses, and why PostgreSQL is skipped when it is."""
    return config.kehu_backend.describe()


@pytest.fixture(scope="session")
def backend(pytestconfig) -> "backends.Backend":
    """The run's database backend (SQLite files or a private PostgreSQL cluster)."""
    return pytestconfig.kehu_backend


@pytest.fixture(scope="session")
def new_database(backend):
    """A factory: `new_database(directory)` makes a fresh migrated database, returns its URL.

    SQLite copies the run's migrated file into `directory`; PostgreSQL creates a database
    from the run's migrated template (it lives to the end of the run: for module fixtures).
    """
    return backend.new_database


@pytest.fixture
def database_url(tmp_path, backend) -> Iterator[str]:
    """The test's own fresh, migrated database."""
    url = backend.checkout(tmp_path)
    yield url
    backend.release(url)


@pytest.fixture
def settings(tmp_path, database_url) -> Settings:
    """Settings for the test's own database and working directory."""
    settings = load_settings(
        {
            "KEHU_DATABASE_URL": database_url,
            "KEHU_SECRET_KEY": "test-secret-" + "x" * 40,
            "KEHU_ORIGIN": "http://localhost:8000",
        },
        workdir=tmp_path,
    )
    return settings


@pytest.fixture
def app(settings):
    """The app under test."""
    return create_app(settings)


@pytest.fixture
async def client(app):
    """An HTTP client talking to the app in-process."""
    async with AsyncTestClient(app=app, base_url="http://localhost:8000") as c:
        yield c


@pytest.fixture
async def db(app):
    """A database session on the app's engine, for arranging and checking data."""
    async with app.state.sessionmaker() as session:
        yield session


@pytest.fixture
async def sessionmaker(settings):
    """Sessions on an engine of the test's database, without a web app (the db tests' own)."""
    # One event loop and no app here: a pool is safe on PostgreSQL too (and much faster).
    engine = make_engine(url_without_options(settings.database_url)[0])
    yield make_sessionmaker(engine)
    await engine.dispose()


@pytest.fixture
def signed_in(client, db):
    """Sign the client in: `rep = await signed_in("rep", locale="en")` also makes the user.

    A role makes a new user (named `name`, in `team`, else the role's usual team: the shared
    sales team for reps and managers, a store for clerks, none for admins); a User signs
    that user in. Either way the client gets a server-side session (no passkey ceremony).
    """

    async def sign_in_as(
        who: str | User = "rep",
        *,
        team: Team | None = None,
        name: str = "陈静",
        locale: str | None = None,
    ) -> User:
        if isinstance(who, User):
            user = who
        else:
            if team is None and who in DEFAULT_TEAM:
                team_name, store = DEFAULT_TEAM[who]
                team = await make.team(db, team_name, store=store)
            user = await make.user(db, role=who, team=team, name=name, locale=locale)
        await sign_in(client, db, user)
        return user

    return sign_in_as


def pytest_collection_modifyitems(config, items):
    """Run the real-browser tests last: Playwright's sync loop must not overlap async tests.

    When PostgreSQL was asked for and cannot run here, nothing runs: every test is
    deselected and the summary says why in one line (the run still passes).
    """
    items.sort(key=lambda item: "/tests/e2e/" in str(item.path))
    backend = config.kehu_backend
    if backend.unavailable and items:
        config.hook.pytest_deselected(items=list(items))
        items.clear()
    for item in items:
        marker = item.get_closest_marker("sqlite_only")
        if marker and backend.name != "sqlite":
            reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {reason}"))


def pytest_terminal_summary(terminalreporter, config):
    """Repeat, at the end, why a PostgreSQL run was skipped."""
    reason = config.kehu_backend.unavailable
    if reason:
        terminalreporter.write_line(f"SKIPPED the PostgreSQL run: {reason}", yellow=True)


def pytest_sessionfinish(session, exitstatus):
    """A skipped PostgreSQL run (no tests left) is not a failure of the test command."""
    if session.config.kehu_backend.unavailable and exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.OK
