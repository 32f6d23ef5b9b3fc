"""Users and teams: create, find, list and change them (and what the admin's Users page shows)."""

import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Credential, Team, User
from db.types import UTCDateTime


@dataclass(frozen=True)
class UserRow:
    """One line of the Users page."""

    id: int
    name: str
    role: str
    team_name: str | None
    team_is_store: bool
    active: bool
    passkeys: int
    last_sign_in: datetime | None
    may_handle_privacy: bool = False


async def team_get_or_create(session: AsyncSession, *, name: str, is_store: bool = False) -> Team:
    """Return the team of that name, creating it when missing."""
    team = (await session.execute(select(Team).where(Team.name == name))).scalar_one_or_none()
    if team is None:
        team = Team(name=name, is_store=is_store)
        session.add(team)
        await session.flush()
    return team


async def team_list(session: AsyncSession, *, team_ids: list[int] | None = None) -> list[Team]:
    """Return teams, field teams before stores, each by name (all, or only the given ids).

    The one team list: the admin's pages, the CLI and the reports use it.
    """
    stmt = select(Team).order_by(Team.is_store, Team.name)
    if team_ids is not None:
        stmt = stmt.where(Team.id.in_(team_ids))
    return list((await session.execute(stmt)).scalars())


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


async def user_get(session: AsyncSession, *, user_id: int) -> tuple[User, Team | None] | None:
    """Return a user and their team."""
    stmt = select(User, Team).outerjoin(Team, Team.id == User.team_id).where(User.id == user_id)
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def user_first_active(session: AsyncSession, *, role: str) -> User | None:
    """Return the longest-standing active user of a role (a demo's face for that role)."""
    stmt = select(User).where(User.role == role, User.active).order_by(User.id).limit(1)
    return (await session.execute(stmt)).scalars().first()


async def user_overview(session: AsyncSession) -> list[UserRow]:
    """Return every user with team, active passkey count and last sign-in, in one query."""
    stats = (
        select(
            Credential.user_id.label("user_id"),
            func.count(Credential.id).filter(Credential.revoked_at.is_(None)).label("passkeys"),
            func.max(Credential.last_used_at, type_=UTCDateTime).label("last_used"),
        )
        .group_by(Credential.user_id)
        .subquery()
    )
    stmt = (
        select(User, Team, stats.c.passkeys, stats.c.last_used)
        .outerjoin(Team, Team.id == User.team_id)
        .outerjoin(stats, stats.c.user_id == User.id)
        .order_by(User.active.desc(), User.name, User.id)
    )
    return [
        UserRow(
            id=user.id,
            name=user.name,
            role=user.role,
            team_name=team.name if team else None,
            team_is_store=bool(team and team.is_store),
            active=user.active,
            passkeys=passkeys or 0,
            last_sign_in=last_used,
            may_handle_privacy=user.may_handle_privacy,
        )
        for user, team, passkeys, last_used in (await session.execute(stmt)).all()
    ]


async def user_set_active(session: AsyncSession, *, user_id: int, active: bool) -> bool:
    """Deactivate or reactivate a user; False when nothing changed."""
    result = await session.execute(
        update(User).where(User.id == user_id, User.active != active).values(active=active)
    )
    return (result.rowcount or 0) == 1


async def user_set_privacy(session: AsyncSession, *, user_id: int, allowed: bool) -> bool:
    """Grant or revoke the privacy permission; False when nothing changed."""
    result = await session.execute(
        update(User)
        .where(User.id == user_id, User.may_handle_privacy != allowed)
        .values(may_handle_privacy=allowed)
    )
    return (result.rowcount or 0) == 1


async def user_set_locale(session: AsyncSession, *, user_id: int, locale: str) -> None:
    """Remember a user's interface language."""
    await session.execute(update(User).where(User.id == user_id).values(locale=locale))
