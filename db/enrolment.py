"""One-time enrolment links: create them (stored as a hash), and redeem them once."""

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import EnrolmentToken, User


def token_hash(token: str) -> str:
    """Hash an enrolment token; only the hash is stored."""
    return hashlib.sha256(token.encode()).hexdigest()


async def enrolment_create(
    session: AsyncSession,
    *,
    user_id: int,
    created_by: int | None,
    ttl_hours: int,
    now: datetime,
) -> str:
    """Create a fresh link for a user (older unused links stop working); return the token."""
    await session.execute(
        update(EnrolmentToken)
        .where(EnrolmentToken.user_id == user_id, EnrolmentToken.used_at.is_(None))
        .values(expires_at=now)
    )
    token = secrets.token_urlsafe(32)
    session.add(
        EnrolmentToken(
            user_id=user_id,
            token_hash=token_hash(token),
            created_by=created_by,
            created_at=now,
            expires_at=now + timedelta(hours=ttl_hours),
        )
    )
    await session.flush()
    return token


async def enrolment_find(
    session: AsyncSession, *, token: str
) -> tuple[EnrolmentToken, User] | None:
    """Return the link and its user, whatever its state (the caller explains why it fails)."""
    stmt = (
        select(EnrolmentToken, User)
        .join(User, User.id == EnrolmentToken.user_id)
        .where(EnrolmentToken.token_hash == token_hash(token))
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else (row[0], row[1])


async def enrolment_use(session: AsyncSession, *, token_id: int, now: datetime) -> bool:
    """Mark a link used; False when it was already used (a race or a replay)."""
    result = await session.execute(
        update(EnrolmentToken)
        .where(EnrolmentToken.id == token_id, EnrolmentToken.used_at.is_(None))
        .values(used_at=now)
    )
    return (result.rowcount or 0) == 1
