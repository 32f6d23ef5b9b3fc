"""Server-side web sessions: load, save, rotate and end them."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Team, User, WebSession


@dataclass(frozen=True, slots=True)
class SessionUser:
    """The signed-in user as every request needs them: plain values, no ORM object."""

    id: int
    name: str
    role: str
    team_id: int | None
    locale: str | None
    may_handle_privacy: bool
    team_is_store: bool


@dataclass(frozen=True, slots=True)
class LoadedSession:
    """A live session row: its data, the user id it was written for, and that user if active."""

    data: dict
    user_id: int | None
    user: SessionUser | None


def session_user(user: User, team: Team | None) -> SessionUser:
    """The SessionUser of a user row and their team (at sign-in)."""
    return SessionUser(
        id=user.id,
        name=user.name,
        role=user.role,
        team_id=user.team_id,
        locale=user.locale,
        may_handle_privacy=bool(user.may_handle_privacy),
        team_is_store=bool(team and team.is_store),
    )


_S, _U, _T = WebSession.__table__, User.__table__, Team.__table__
# Every signed-in request runs this: one Core statement built once, on the tables (no ORM
# entities, identity map or loading), with the user and team joined in.
_SESSION_LOAD = (
    select(
        _S.c.data,
        _S.c.user_id,
        _U.c.id,
        _U.c.name,
        _U.c.role,
        _U.c.team_id,
        _U.c.locale,
        _U.c.may_handle_privacy,
        _T.c.is_store,
    )
    .select_from(
        _S.outerjoin(_U, (_U.c.id == _S.c.user_id) & _U.c.active).outerjoin(
            _T, _T.c.id == _U.c.team_id
        )
    )
    .where(_S.c.id_hash == bindparam("id_hash"), _S.c.expires_at > bindparam("now"))
)


async def session_load(
    session: AsyncSession | AsyncConnection, *, id_hash: str, now: datetime
) -> LoadedSession | None:
    """Return a live (unexpired) session with its active user and team, in one query.

    Takes an ORM session or a plain connection (the session middleware uses a connection).
    A row whose user was deactivated comes back with `user` None and its `user_id` set.
    """
    row = (await session.execute(_SESSION_LOAD, {"id_hash": id_hash, "now": now})).first()
    if row is None:
        return None
    data, user_id, uid, name, role, team_id, locale, privacy, is_store = row
    user = None
    if uid is not None:
        user = SessionUser(uid, name, role, team_id, locale, bool(privacy), bool(is_store))
    return LoadedSession(dict(data or {}), user_id, user)


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
