"""Reading the audit log (filtered, paged, team-scoped) and its one sanctioned redaction."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, tzinfo

from sqlalchemy import and_, delete, insert, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.engine import sql_in_thread
from db.models import AuditEvent, AuditRedactionGate, Customer, User
from domain.enums import Role
from domain.privacy import redact
from domain.users import Actor

PAGE_SIZE = 50
EXPORT_LIMIT = 100_000


@dataclass(frozen=True)
class AuditFilter:
    """What the audit log page is narrowed to; None means any."""

    user_id: int | None = None
    customer_id: int | None = None
    action: str | None = None
    since: date | None = None
    until: date | None = None


@dataclass(frozen=True)
class AuditRow:
    """One event as the page and the export show it."""

    id: int
    at: datetime
    actor_name: str | None
    action: str
    entity: str
    entity_id: int | None
    detail: dict
    ip: str


def _where(actor: Actor, f: AuditFilter, tz: tzinfo) -> list:
    """The conditions of a filter, and the manager's team scope."""
    conds = []
    if actor.role != Role.ADMIN:
        # A manager reads what their team's people did and what happened to their customers.
        team_users = select(User.id).where(User.team_id == actor.team_id)
        team_customers = select(Customer.id).where(Customer.team_id == actor.team_id)
        conds.append(
            or_(
                AuditEvent.actor_id.in_(team_users),
                and_(AuditEvent.entity == "customer", AuditEvent.entity_id.in_(team_customers)),
            )
        )
    if f.user_id is not None:
        conds.append(AuditEvent.actor_id == f.user_id)
    if f.customer_id is not None:
        conds.append(AuditEvent.entity == "customer")
        conds.append(AuditEvent.entity_id == f.customer_id)
    if f.action:
        conds.append(AuditEvent.action == f.action)
    if f.since:
        conds.append(AuditEvent.at >= datetime.combine(f.since, time(), tz))
    if f.until:
        conds.append(AuditEvent.at < datetime.combine(f.until + timedelta(days=1), time(), tz))
    return conds


def _select(actor: Actor, f: AuditFilter, tz: tzinfo):
    """Events newest first, with the actor's name."""
    return (
        select(
            AuditEvent.id,
            AuditEvent.at,
            User.name,
            AuditEvent.action,
            AuditEvent.entity,
            AuditEvent.entity_id,
            AuditEvent.detail,
            AuditEvent.ip,
        )
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .where(*_where(actor, f, tz))
        .order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
    )


async def audit_page(
    session: AsyncSession, *, actor: Actor, filters: AuditFilter, page: int, tz: tzinfo
) -> tuple[list[AuditRow], bool]:
    """One page of events the actor may read, and whether a next page exists (one query)."""
    stmt = _select(actor, filters, tz).offset((page - 1) * PAGE_SIZE).limit(PAGE_SIZE + 1)
    with sql_in_thread():
        rows = (await session.execute(stmt)).all()
    return [AuditRow(*r) for r in rows[:PAGE_SIZE]], len(rows) > PAGE_SIZE


async def audit_export(
    session: AsyncSession, *, actor: Actor, filters: AuditFilter, tz: tzinfo
) -> list[AuditRow]:
    """Every event of a filter (up to EXPORT_LIMIT), newest first."""
    with sql_in_thread():
        rows = (await session.execute(_select(actor, filters, tz).limit(EXPORT_LIMIT))).all()
    return [AuditRow(*r) for r in rows]


async def audit_actions(session: AsyncSession) -> list[str]:
    """The action names that occur, for the filter's choices."""
    stmt = select(AuditEvent.action).distinct().order_by(AuditEvent.action)
    return list((await session.execute(stmt)).scalars())


async def audit_user_choices(session: AsyncSession, *, actor: Actor) -> list[tuple[int, str]]:
    """The users whose events the actor may filter by."""
    stmt = select(User.id, User.name).order_by(User.name)
    if actor.role != Role.ADMIN:
        stmt = stmt.where(User.team_id == actor.team_id)
    return [(r[0], r[1]) for r in (await session.execute(stmt)).all()]


async def audit_redact(
    session: AsyncSession,
    *,
    event_ids: Iterable[int],
    found: list[str],
    actor_id: int | None,
    request_id: int | None,
) -> int:
    """Replace personal values inside audit details: the one way the audit table changes.

    Opens the database's append-only gate for this transaction only, rewrites `detail`
    (the triggers refuse every other column), closes it, and records an
    `audit_redacted` event with the count (never the values). Returns the count.
    """
    ids = sorted(set(event_ids))
    if not ids or not found:
        return 0
    changed: list[tuple[int, dict]] = []
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        stmt = select(AuditEvent.id, AuditEvent.detail).where(AuditEvent.id.in_(chunk))
        for event_id, detail in (await session.execute(stmt)).all():
            new = redact(detail or {}, found)
            if new != detail:
                changed.append((event_id, new))
    if changed:
        await session.execute(insert(AuditRedactionGate).values(id=1))
        for event_id, new in changed:
            await session.execute(
                update(AuditEvent)
                .where(AuditEvent.id == event_id)
                .values(detail=new)
                .execution_options(synchronize_session=False)
            )
        await session.execute(delete(AuditRedactionGate))
    await audit_add(
        session,
        action="audit_redacted",
        actor_id=actor_id,
        entity="privacy_request",
        entity_id=request_id,
        detail={"events": len(changed)},
    )
    return len(changed)
