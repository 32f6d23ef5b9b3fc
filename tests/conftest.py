"""Fixtures: a fresh migrated SQLite database per test, the app built by create_app."""

import shutil
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from db.engine import make_engine, make_sessionmaker
from db.migrate import upgrade
from db.models import Team, User
from tests import factories as make
from tests.support import sign_in
from web.app import create_app
from web.core.settings import Settings, load_settings

# The team a role's user joins when `signed_in` is not told one.
DEFAULT_TEAM = {
    "rep": (make.SALES_TEAM, False),
    "manager": (make.SALES_TEAM, False),
    "clerk": ("南京西路门店", True),
}


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """Migrate one database per test run; each test copies it (fast and still real)."""
    path = tmp_path_factory.mktemp("template") / "kehu.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def database_file(tmp_path, migrated_template) -> Path:
    """The test's own copy of the migrated database."""
    db_file = tmp_path / "kehu.db"
    shutil.copy(migrated_template, db_file)
    return db_file


@pytest.fixture
def settings(tmp_path, database_file) -> Settings:
    """Settings for the test's database file in its own directory."""
    return load_settings(
        {
            "KEHU_DATABASE_URL": f"sqlite:///{database_file}",
            "KEHU_SECRET_KEY": "test-secret-" + "x" * 40,
            "KEHU_ORIGIN": "http://localhost:8000",
        },
        workdir=tmp_path,
    )


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
    engine = make_engine(settings.database_url)
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


def pytest_collection_modifyitems(items):
    """Run the real-browser tests last: Playwright's sync loop must not overlap async tests."""
    items.sort(key=lambda item: "/tests/e2e/" in str(item.path))
