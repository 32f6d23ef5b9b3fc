"""Users and teams: create, find, change."""

import secrets

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Team, User


async def team_get_or_create(session: AsyncSession, *, name: str, is_store: bool = False) -> Team:
    """Return the team of that name, creating it when missing."""
    team = (await session.execute(select(Team).where(Team.name == name))).scalar_one_or_none()
    if team is None:
        team = Team(name=name, is_store=is_store)
        session.add(team)
        await session.flush()
    return team


async def user_add(
    session: AsyncSession, *, name: str, role: str, team_id: int | None, locale: str | None = None
) -> User:
    """Create a user with a fresh random WebAuthn user handle."""
    user = User(
        name=name,
        role=role,
        team_id=team_id,
        locale=locale,
        webauthn_handle=secrets.token_bytes(32),
    )
    session.add(user)
    await session.flush()
    return user


async def user_set_locale(session: AsyncSession, *, user_id: int, locale: str) -> None:
    """Remember a user's interface language."""
    await session.execute(update(User).where(User.id == user_id).values(locale=locale))
