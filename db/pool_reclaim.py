"""The automatic return to the pool: who is due, the warning list, the run, and its lease."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_insert
from db.engine import upsert, write_gate
from db.models import Customer, PoolEvent, PoolLease
from domain.enums import Status
from domain.pool import PoolEventKind, PoolRules

LEASE = "pool_reclaim"


def _quiet_since(cutoff: datetime) -> ColumnElement[bool]:
    """Nobody visited or got the customer since `cutoff` (it was created before it, too)."""
    got_it = exists(
        select(PoolEvent.id).where(
            PoolEvent.customer_id == Customer.id,
            PoolEvent.to_user_id == Customer.owner_id,
            PoolEvent.at >= cutoff,
        )
    )
    return and_(
        or_(Customer.last_visit_at.is_(None), Customer.last_visit_at < cutoff),
        Customer.created_at < cutoff,
        ~got_it,
    )


def due_where(
    rules: PoolRules, *, now: datetime, ahead: timedelta = timedelta(0)
) -> ColumnElement[bool]:
    """Owned customers whose level's period without a visit ends by `now + ahead`."""
    per_level = [
        and_(Customer.level == level, _quiet_since(now + ahead - timedelta(days=days)))
        for level, days in rules.return_days.items()
        if days > 0
    ]
    if not per_level:
        return false()
    where = and_(Customer.owner_id.is_not(None), or_(*per_level))
    if rules.won_exempt:
        where = and_(where, Customer.status != Status.WON)
    return where


async def pool_reclaim_count(session: AsyncSession, *, rules: PoolRules, now: datetime) -> int:
    """How many customers the rules would return now (the admin's preview before saving)."""
    stmt = select(func.count()).select_from(Customer).where(due_where(rules, now=now))
    return (await session.execute(stmt)).scalar_one()


async def pool_reclaim_due(session: AsyncSession, *, rules: PoolRules, now: datetime) -> list[int]:
    """The ids of the customers due to return now, in id order."""
    stmt = select(Customer.id).where(due_where(rules, now=now)).order_by(Customer.id)
    return list((await session.execute(stmt)).scalars())


async def pool_reclaim_batch(
    session: AsyncSession, *, ids: list[int], rules: PoolRules, now: datetime
) -> list[int]:
    """Return these customers to their team's pool if still due, audited one by one (flushes).

    The UPDATE re-checks the rule, so a visit or a claim that landed since the ids were
    read keeps its customer; a second run finds nothing due (idempotent).
    """
    where = due_where(rules, now=now)
    await write_gate(session)
    rows = (
        await session.execute(
            select(Customer.id, Customer.owner_id, Customer.team_id).where(
                Customer.id.in_(ids), where
            )
        )
    ).all()
    if not rows:
        return []
    await session.execute(
        update(Customer)
        .where(Customer.id.in_([r[0] for r in rows]), where)
        .values(owner_id=None, version=Customer.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        PoolEvent.__table__.insert(),
        [
            {
                "customer_id": cid,
                "team_id": team_id,
                "kind": str(PoolEventKind.RETURN),
                "from_user_id": owner,
                "to_user_id": None,
                "by_user_id": None,
                "at": now,
                "reason": "",
            }
            for cid, owner, team_id in rows
        ],
    )
    await audit_insert(
        session,
        [
            {
                "actor_id": None,
                "action": "pool_return",
                "entity": "customer",
                "entity_id": cid,
                "detail": {"from_owner_id": owner},
                "at": now,
            }
            for cid, owner, _team in rows
        ],
    )
    return [r[0] for r in rows]


@dataclass(frozen=True)
class Warning:
    """An own customer that returns to the pool soon unless visited."""

    id: int
    name: str
    level: str
    status: str
    since: datetime  # the last visit, or when the owner got it if later (created at at least)


async def pool_warnings(
    session: AsyncSession, *, user_id: int, rules: PoolRules, now: datetime, limit: int = 20
) -> list[Warning]:
    """The user's customers due to return within the warning window (not yet due)."""
    ahead = timedelta(days=rules.warn_days)
    got_at = (
        select(func.max(PoolEvent.at))
        .where(PoolEvent.customer_id == Customer.id, PoolEvent.to_user_id == Customer.owner_id)
        .scalar_subquery()
    )
    stmt = (
        select(
            Customer.id,
            Customer.name,
            Customer.level,
            Customer.status,
            Customer.created_at,
            Customer.last_visit_at,
            got_at,
        )
        .where(Customer.owner_id == user_id)
        .where(due_where(rules, now=now, ahead=ahead))
        .where(~due_where(rules, now=now))
        .order_by(Customer.last_visit_at, Customer.id)
        .limit(limit)
    )
    out = []
    for cid, name, level, status, created, last, got in (await session.execute(stmt)).all():
        since = max(t for t in (created, last, got) if t is not None)
        out.append(Warning(cid, name, level, status, since))
    return out


async def pool_lease_take(
    session: AsyncSession, *, holder: str, now: datetime, ttl: timedelta, day: date | None = None
) -> bool:
    """Take the reclaim lease unless another process holds it (or, with `day`, ran that day).

    The caller commits at once, so other processes see it. Only the holder of an unexpired
    lease runs the return; a process that dies frees it when the lease expires.
    """
    await write_gate(session)
    await session.execute(
        upsert(session, PoolLease)
        .values(name=LEASE, holder="", until=now - timedelta(seconds=1), last_day=None)
        .on_conflict_do_nothing()
    )
    stmt = (
        update(PoolLease)
        .where(PoolLease.name == LEASE, or_(PoolLease.until <= now, PoolLease.holder == holder))
        .values(holder=holder, until=now + ttl)
        .execution_options(synchronize_session=False)
    )
    if day is not None:
        stmt = stmt.where(or_(PoolLease.last_day.is_(None), PoolLease.last_day < day))
    return (await session.execute(stmt)).rowcount == 1


async def pool_lease_release(
    session: AsyncSession, *, holder: str, now: datetime, day: date | None
) -> None:
    """Give the lease back, remembering the day the run covered."""
    await write_gate(session)
    values: dict = {"until": now, "holder": ""}
    if day is not None:
        values["last_day"] = day
    await session.execute(
        update(PoolLease)
        .where(PoolLease.name == LEASE, PoolLease.holder == holder)
        .values(**values)
        .execution_options(synchronize_session=False)
    )
