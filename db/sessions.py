"""Server-side web sessions: load, save, rotate and end them."""

from datetime import datetime

from sqlalchemy import delete, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Team, User, WebSession


async def session_load(
    session: AsyncSession, *, id_hash: str, now: datetime
) -> tuple[WebSession, User | None, Team | None] | None:
    """Return a live session with its (active) user and team in one query."""
    stmt = (
        select(WebSession, User, Team)
        .outerjoin(User, (User.id == WebSession.user_id) & User.active)
        .outerjoin(Team, Team.id == User.team_id)
        .where(WebSession.id_hash == id_hash, WebSession.expires_at > now)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1], row[2])


async def session_save(
    session: AsyncSession,
    *,
    id_hash: str,
    user_id: int | None,
    data: dict,
    expires_at: datetime,
) -> None:
    """Insert or update a session row."""
    row = await session.get(WebSession, id_hash)
    if row is None:
        session.add(WebSession(id_hash=id_hash, user_id=user_id, data=data, expires_at=expires_at))
    else:
        row.user_id = user_id
        row.data = dict(data)
        row.expires_at = expires_at
    await session.flush()


async def session_delete(session: AsyncSession, *, id_hash: str) -> None:
    """End one session."""
    await session.execute(delete(WebSession).where(WebSession.id_hash == id_hash))


async def session_delete_for_user(session: AsyncSession, *, user_id: int) -> int:
    """End every session of a user (deactivation); return how many ended."""
    result = await session.execute(delete(WebSession).where(WebSession.user_id == user_id))
    return result.rowcount or 0


async def session_purge_expired(session: AsyncSession, *, now: datetime) -> int:
    """Delete expired sessions; return how many."""
    result = await session.execute(delete(WebSession).where(WebSession.expires_at <= now))
    return result.rowcount or 0
