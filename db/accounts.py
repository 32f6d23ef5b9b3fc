"""What the admin's Users page needs: users with their passkey facts, teams, (de)activation."""

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
    rows = []
    for user, team, passkeys, last_used in (await session.execute(stmt)).all():
        rows.append(
            UserRow(
                id=user.id,
                name=user.name,
                role=user.role,
                team_name=team.name if team else None,
                team_is_store=bool(team and team.is_store),
                active=user.active,
                passkeys=passkeys or 0,
                last_sign_in=last_used,
            )
        )
    return rows


async def user_get(session: AsyncSession, *, user_id: int) -> tuple[User, Team | None] | None:
    """Return a user and their team."""
    stmt = select(User, Team).outerjoin(Team, Team.id == User.team_id).where(User.id == user_id)
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def user_set_active(session: AsyncSession, *, user_id: int, active: bool) -> bool:
    """Deactivate or reactivate a user; False when nothing changed."""
    result = await session.execute(
        update(User).where(User.id == user_id, User.active != active).values(active=active)
    )
    return (result.rowcount or 0) == 1


async def team_list(session: AsyncSession) -> list[Team]:
    """Return every team, by name."""
    return list((await session.execute(select(Team).order_by(Team.name))).scalars())


async def team_get(session: AsyncSession, *, team_id: int) -> Team | None:
    """Return one team."""
    return await session.get(Team, team_id)
