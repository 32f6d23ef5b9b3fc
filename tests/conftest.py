"""Fixtures: a fresh migrated SQLite database per test, the app built by create_app."""

import shutil
from pathlib import Path

import pytest
from litestar.testing import AsyncTestClient

from db.migrate import upgrade
from web.app import create_app
from web.core.settings import Settings, load_settings


@pytest.fixture(scope="session")
def migrated_template(tmp_path_factory) -> Path:
    """Migrate one database per test run; each test copies it (fast and still real)."""
    path = tmp_path_factory.mktemp("template") / "kehu.db"
    upgrade(f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture
def settings(tmp_path, migrated_template) -> Settings:
    """Settings for a fresh database file in the test's own directory."""
    db_file = tmp_path / "kehu.db"
    shutil.copy(migrated_template, db_file)
    return load_settings(
        {
            "KEHU_DATABASE_URL": f"sqlite:///{db_file}",
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


def pytest_collection_modifyitems(items):
    """Run the real-browser tests last: Playwright's sync loop must not overlap async tests."""
    items.sort(key=lambda item: "/tests/e2e/" in str(item.path))
