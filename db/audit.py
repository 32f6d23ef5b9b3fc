"""The append-only audit log: who did what, when, from where."""

from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import AuditEvent
from db.types import utcnow


async def audit_add(
    session: AsyncSession,
    *,
    action: str,
    actor_id: int | None,
    entity: str = "",
    entity_id: int | None = None,
    detail: dict | None = None,
    ip: str = "",
) -> None:
    """Append one audit event in the caller's transaction."""
    session.add(
        AuditEvent(
            at=utcnow(),
            actor_id=actor_id,
            action=action,
            entity=entity,
            entity_id=entity_id,
            detail=detail or {},
            ip=ip,
        )
    )
    await session.flush()
