"""The db tests run on an engine alone: no web app is built for them."""

import pytest


@pytest.fixture
async def db(sessionmaker):
    """A database session on the test's own engine."""
    async with sessionmaker() as session:
        yield session
