"""Passkeys (WebAuthn credentials): store, find, use, rename and revoke them."""

from datetime import datetime

from sqlalchemy import func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Credential, Team, User


async def credential_add(
    session: AsyncSession,
    *,
    user_id: int,
    credential_id: bytes,
    public_key: bytes,
    sign_count: int,
    transports: list[str],
    name: str,
    now: datetime,
) -> Credential:
    """Store a newly registered passkey for a user."""
    credential = Credential(
        user_id=user_id,
        credential_id=credential_id,
        public_key=public_key,
        sign_count=sign_count,
        transports=transports,
        name=name[:100],
        created_at=now,
    )
    session.add(credential)
    await session.flush()
    return credential


async def credential_exists(session: AsyncSession, *, credential_id: bytes) -> bool:
    """Return whether a credential id is already registered (revoked ones included)."""
    stmt = select(Credential.id).where(Credential.credential_id == credential_id)
    return (await session.execute(stmt)).first() is not None


async def credential_find(
    session: AsyncSession, *, credential_id: bytes
) -> tuple[Credential, User, Team | None] | None:
    """Return a passkey with its owner and the owner's team, whatever their state."""
    stmt = (
        select(Credential, User, Team)
        .join(User, User.id == Credential.user_id)
        .outerjoin(Team, Team.id == User.team_id)
        .where(Credential.credential_id == credential_id)
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1], row[2])


async def credential_list(
    session: AsyncSession, *, user_id: int, include_revoked: bool = False
) -> list[Credential]:
    """Return a user's passkeys, oldest first."""
    stmt = select(Credential).where(Credential.user_id == user_id)
    if not include_revoked:
        stmt = stmt.where(Credential.revoked_at.is_(None))
    stmt = stmt.order_by(Credential.created_at, Credential.id)
    return list((await session.execute(stmt)).scalars())


async def credential_ids(session: AsyncSession, *, user_id: int) -> list[bytes]:
    """Return the ids of a user's active passkeys (to exclude them at registration)."""
    stmt = select(Credential.credential_id).where(
        Credential.user_id == user_id, Credential.revoked_at.is_(None)
    )
    return list((await session.execute(stmt)).scalars())


async def credential_record_use(
    session: AsyncSession, *, credential_pk: int, sign_count: int, now: datetime
) -> None:
    """Remember a successful sign-in: the new signature counter and when."""
    await session.execute(
        update(Credential)
        .where(Credential.id == credential_pk)
        .values(sign_count=sign_count, last_used_at=now)
    )


def _active_of(credential_pk: int, user_id: int) -> tuple:
    """The conditions naming one of a user's passkeys that is not revoked."""
    return (
        Credential.id == credential_pk,
        Credential.user_id == user_id,
        Credential.revoked_at.is_(None),
    )


async def credential_rename(
    session: AsyncSession, *, credential_pk: int, user_id: int, name: str
) -> bool:
    """Rename one of a user's active passkeys; False when it is not theirs or revoked."""
    result = await session.execute(
        update(Credential).where(*_active_of(credential_pk, user_id)).values(name=name[:100])
    )
    return (result.rowcount or 0) == 1


async def credential_revoke(
    session: AsyncSession, *, credential_pk: int, user_id: int, now: datetime
) -> bool:
    """Revoke one of a user's passkeys unless it is their last active one.

    One conditional UPDATE, so two revocations racing each other cannot leave a user
    without a passkey. Returns False when nothing was revoked.
    """
    others = (
        select(func.count(Credential.id))
        .where(
            Credential.user_id == user_id,
            Credential.revoked_at.is_(None),
            Credential.id != credential_pk,
        )
        .scalar_subquery()
    )
    result = await session.execute(
        update(Credential)
        .where(*_active_of(credential_pk, user_id), others > 0)
        .values(revoked_at=now)
        .execution_options(synchronize_session=False)
    )
    return (result.rowcount or 0) == 1
