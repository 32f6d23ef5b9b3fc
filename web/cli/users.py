"""Command-line side of enrolment: create users and print their one-time links."""

import asyncio

from litestar import Litestar
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import make_engine, make_sessionmaker
from db.enrolment import enrolment_create
from db.models import User
from db.types import utcnow
from db.users import team_get_or_create, user_add, user_first_active
from domain.enums import Role
from domain.text import NAME_MAX_LENGTH, clean_name, name_too_long
from web.auth.enrol import EnrolController, enrol_url
from web.core.settings import Settings


def _enrol_routes() -> Litestar:
    """Only the enrolment routes: enough to reverse a link's URL without the whole app."""
    return Litestar(route_handlers=[EnrolController], openapi_config=None)


async def _link_for(db: AsyncSession, settings: Settings, routes: Litestar, user_id: int) -> str:
    """Make a fresh enrolment link for a user (made by no one: the command line)."""
    token = await enrolment_create(
        db, user_id=user_id, created_by=None, ttl_hours=settings.enrol_ttl_hours, now=utcnow()
    )
    return enrol_url(routes, settings.origin, token)


async def add_user_with_link(
    settings: Settings, *, name: str, role: str, team: str | None, store: bool
) -> str:
    """Create a user (and the team when missing) and return an enrolment URL."""
    name = clean_name(name)
    team = clean_name(team) if team else None
    if not name:
        raise ValueError("the user's name must not be empty")
    if name_too_long(name):
        raise ValueError(f"the user's name can have at most {NAME_MAX_LENGTH} characters")
    if team and name_too_long(team):
        raise ValueError(f"a team name can have at most {NAME_MAX_LENGTH} characters")
    if role != Role.ADMIN and not team:
        raise ValueError(f"a {role} belongs to a team: add --team TEAM")
    engine = make_engine(settings.database_url)
    try:
        async with make_sessionmaker(engine)() as db:
            team_id = None
            if team:
                team_id = (await team_get_or_create(db, name=team, is_store=store)).id
            user = await user_add(db, name=name, role=role, team_id=team_id)
            url = await _link_for(db, settings, _enrol_routes(), user.id)
            await db.commit()
    finally:
        await engine.dispose()
    return url


async def _demo_links(settings: Settings) -> list[tuple[User, str]]:
    """Create fresh enrolment links for one demo user of each role."""
    routes = _enrol_routes()
    engine = make_engine(settings.database_url)
    links = []
    try:
        async with make_sessionmaker(engine)() as db:
            for role in (Role.ADMIN, Role.MANAGER, Role.REP, Role.CLERK):
                user = await user_first_active(db, role=role)
                if user is None:
                    continue
                links.append((user, await _link_for(db, settings, routes, user.id)))
            await db.commit()
    finally:
        await engine.dispose()
    return links


def print_demo_links(settings: Settings) -> None:
    """Print an enrolment link per role so a demo can be tried at once."""
    links = asyncio.run(_demo_links(settings))
    if not links:
        return
    print("Demo users — open a link on this machine to create a passkey and sign in:")
    for user, url in links:
        print(f"  {user.role:8} {user.name}: {url}")
