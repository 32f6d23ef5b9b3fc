"""The append-only audit log: who did what, when, from where."""

from collections.abc import Mapping, Sequence

from sqlalchemy import JSON, Integer, String, bindparam, insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import AuditEvent
from db.reads import flushed_connection
from db.types import UTCDateTime, utcnow

# Built once, on the table (Core): hot paths (a visit, a batch of page views) skip the ORM
# unit of work and the ORM's bulk-insert path, which rebuilt the statement per call.
_INSERT = insert(AuditEvent.__table__).values(
    at=bindparam("p_at", type_=UTCDateTime()),
    actor_id=bindparam("p_actor_id", type_=Integer()),
    action=bindparam("p_action", type_=String()),
    entity=bindparam("p_entity", type_=String()),
    entity_id=bindparam("p_entity_id", type_=Integer()),
    detail=bindparam("p_detail", type_=JSON()),
    ip=bindparam("p_ip", type_=String()),
)


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


async def audit_insert(session: AsyncSession, events: Sequence[Mapping[str, object]]) -> None:
    """Append audit events (column: value; `at`, `entity`, `detail`, `ip` optional) at once.

    One prebuilt INSERT for all of them, in the caller's transaction; no ORM objects.
    """
    await audit_insert_on(await flushed_connection(session), events)


async def audit_insert_on(conn: AsyncConnection, events: Sequence[Mapping[str, object]]) -> None:
    """Append audit events on a connection the caller already holds (its transaction).

    For a hot path that runs its own Core statements on the session's connection (a visit):
    no second trip through the ORM session to find that connection, nothing to flush.
    """
    params = [
        {
            "p_at": e.get("at") or utcnow(),
            "p_actor_id": e["actor_id"],
            "p_action": e["action"],
            "p_entity": e.get("entity", ""),
            "p_entity_id": e.get("entity_id"),
            "p_detail": e.get("detail") or {},
            "p_ip": e.get("ip", ""),
        }
        for e in events
    ]
    # One event (a visit) executes as a plain statement, not as an executemany batch.
    await conn.execute(_INSERT, params[0] if len(params) == 1 else params)
