"""Command-line side of enrolment: create users and print their one-time links."""

from db.engine import make_engine, make_sessionmaker
from db.enrolment import enrolment_create
from db.models import User
from db.types import utcnow
from db.users import team_get_or_create, user_add
from domain.enums import Role
from domain.text import NAME_MAX_LENGTH, clean_name, name_too_long
from web.core.settings import Settings


def enrol_url(settings: Settings, token: str) -> str:
    """Return the public URL of an enrolment link."""
    return f"{settings.origin}/enroll/{token}"


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
            token = await enrolment_create(
                db,
                user_id=user.id,
                created_by=None,
                ttl_hours=settings.enrol_ttl_hours,
                now=utcnow(),
            )
            await db.commit()
    finally:
        await engine.dispose()
    return enrol_url(settings, token)


async def _demo_links(settings: Settings) -> list[tuple[User, str]]:
    """Create fresh enrolment links for one demo user of each role."""
    from sqlalchemy import select

    engine = make_engine(settings.database_url)
    links = []
    try:
        async with make_sessionmaker(engine)() as db:
            for role in (Role.ADMIN, Role.MANAGER, Role.REP, Role.CLERK):
                user = (
                    (
                        await db.execute(
                            select(User).where(User.role == role, User.active).order_by(User.id)
                        )
                    )
                    .scalars()
                    .first()
                )
                if user is None:
                    continue
                token = await enrolment_create(
                    db,
                    user_id=user.id,
                    created_by=None,
                    ttl_hours=settings.enrol_ttl_hours,
                    now=utcnow(),
                )
                links.append((user, enrol_url(settings, token)))
            await db.commit()
    finally:
        await engine.dispose()
    return links


def print_demo_links(settings: Settings) -> None:
    """Print an enrolment link per role so a demo can be tried at once."""
    import asyncio

    links = asyncio.run(_demo_links(settings))
    if not links:
        return
    print("Demo users — open a link on this machine to create a passkey and sign in:")
    for user, url in links:
        print(f"  {user.role:8} {user.name}: {url}")
