"""The public pool in the database: rules, claims with counters, release, assign, events."""

from dataclasses import dataclass
from datetime import datetime, tzinfo

from sqlalchemy import bindparam, func, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add, audit_insert
from db.engine import upsert, write_gate
from db.models import Customer, PoolClaimCount, PoolEvent, PoolSetting, User
from db.reads import rows as read_rows
from db.types import utcnow
from db.visibility import visible_customers
from domain.enums import Level
from domain.pool import (
    MSG_TAKEN,
    Limit,
    PoolEventKind,
    PoolRules,
    Refusal,
    claim_refusal,
    local_day,
)
from domain.users import Actor


async def pool_rules_get(session: AsyncSession) -> PoolRules:
    """The admin-set pool rules (the defaults when the row is missing)."""
    row = await session.get(PoolSetting, 1)
    if row is None:
        return PoolRules()
    return PoolRules(
        claims_per_day=row.claims_per_day,
        max_owned=row.max_owned,
        cooling_days=row.cooling_days,
        return_days={
            Level.A: row.return_a_days,
            Level.B: row.return_b_days,
            Level.C: row.return_c_days,
        },
        won_exempt=row.won_exempt,
        warn_days=row.warn_days,
        run_hour=row.run_hour,
    )


async def pool_rules_set(session: AsyncSession, *, rules: PoolRules) -> None:
    """Store the pool rules (the admin's settings form)."""
    row = await session.get(PoolSetting, 1) or PoolSetting(id=1)
    row.claims_per_day = rules.claims_per_day
    row.max_owned = rules.max_owned
    row.cooling_days = rules.cooling_days
    row.return_a_days = rules.return_days.get(Level.A, 0)
    row.return_b_days = rules.return_days.get(Level.B, 0)
    row.return_c_days = rules.return_days.get(Level.C, 0)
    row.won_exempt = rules.won_exempt
    row.warn_days = rules.warn_days
    row.run_hour = rules.run_hour
    session.add(row)
    await session.flush()


@dataclass(frozen=True)
class ClaimResult:
    """A claim's answer: the customer's name when it worked, else why not."""

    ok: bool
    name: str = ""
    refusal: Refusal | None = None


async def _left_at(session: AsyncSession, *, customer_id: int, user_id: int) -> datetime | None:
    """When the customer last left this user for the pool (a release, approved or not, a return)."""
    event = select(func.max(PoolEvent.at)).where(
        PoolEvent.customer_id == customer_id,
        PoolEvent.from_user_id == user_id,
        PoolEvent.kind.in_([PoolEventKind.RELEASE, PoolEventKind.RETURN]),
    )
    return (await session.execute(event)).scalar_one_or_none()


async def pool_claims_today(
    session: AsyncSession, *, user_id: int, now: datetime, tz: tzinfo
) -> int:
    """How many customers the user claimed on the local day of `now`."""
    stmt = select(PoolClaimCount.claims).where(
        PoolClaimCount.user_id == user_id, PoolClaimCount.day == local_day(now, tz)
    )
    return (await session.execute(stmt)).scalar_one_or_none() or 0


async def pool_owned_count(session: AsyncSession, *, user_id: int) -> int:
    """How many customers the user owns."""
    stmt = select(func.count()).select_from(Customer).where(Customer.owner_id == user_id)
    return (await session.execute(stmt)).scalar_one()


async def pool_claim(
    session: AsyncSession,
    *,
    actor: Actor,
    customer_id: int,
    now: datetime,
    tz: tzinfo,
    ip: str = "",
) -> ClaimResult:
    """Make the actor the owner of a pool customer of their team, within the limits.

    The write gate serialises claims of this process; the conditional UPDATE (owner still
    empty) settles claims of other processes, so of two at once exactly one wins. The day's
    counter moves in the same transaction; on a refusal nothing is written (the caller
    rolls back either way when not ok).
    """
    await write_gate(session)
    in_pool = (
        select(Customer.name, Customer.team_id)
        .where(Customer.id == customer_id, Customer.owner_id.is_(None))
        .where(visible_customers(actor), Customer.team_id == actor.team_id)
    )
    row = (await session.execute(in_pool)).first()
    if row is None:
        return ClaimResult(False, refusal=Refusal(Limit.ROLE, MSG_TAKEN))
    rules = await pool_rules_get(session)
    refusal = claim_refusal(
        role=actor.role,
        rules=rules,
        claims_today=await pool_claims_today(session, user_id=actor.id, now=now, tz=tz),
        owned=await pool_owned_count(session, user_id=actor.id),
        left_me_at=await _left_at(session, customer_id=customer_id, user_id=actor.id),
        now=now,
        tz=tz,
    )
    if refusal is not None:
        return ClaimResult(False, row[0], refusal)
    taken = await session.execute(
        update(Customer)
        .where(Customer.id == customer_id, Customer.owner_id.is_(None))
        .values(owner_id=actor.id, version=Customer.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        return ClaimResult(False, row[0], Refusal(Limit.ROLE, MSG_TAKEN))
    day = local_day(now, tz)
    await session.execute(
        upsert(session, PoolClaimCount)
        .values(user_id=actor.id, day=day, claims=1)
        .on_conflict_do_update(
            index_elements=["user_id", "day"], set_={"claims": PoolClaimCount.claims + 1}
        )
    )
    await _event(session, customer_id, row[1], PoolEventKind.CLAIM, None, actor.id, actor.id, now)
    await audit_add(
        session,
        action="pool_claim",
        actor_id=actor.id,
        entity="customer",
        entity_id=customer_id,
        detail={"owner_id": actor.id},
        ip=ip,
    )
    return ClaimResult(True, row[0])


async def _event(
    session: AsyncSession,
    customer_id: int,
    team_id: int,
    kind: PoolEventKind,
    from_id: int | None,
    to_id: int | None,
    by_id: int | None,
    at: datetime,
    reason: str = "",
) -> None:
    """Keep one ownership change."""
    await pool_event_add(
        session,
        customer_id=customer_id,
        team_id=team_id,
        kind=kind,
        from_id=from_id,
        to_id=to_id,
        by_id=by_id,
        at=at,
        reason=reason,
    )


async def pool_event_add(
    session: AsyncSession,
    *,
    customer_id: int,
    team_id: int,
    kind: PoolEventKind,
    from_id: int | None,
    by_id: int | None,
    at: datetime,
    to_id: int | None = None,
    reason: str = "",
) -> None:
    """Keep one ownership change (also called by an approved release in db/sales.py)."""
    session.add(
        PoolEvent(
            customer_id=customer_id,
            team_id=team_id,
            kind=str(kind),
            from_user_id=from_id,
            to_user_id=to_id,
            by_user_id=by_id,
            at=at,
            reason=reason,
        )
    )
    await session.flush()


async def pool_release(
    session: AsyncSession,
    *,
    customer: Customer,
    by: Actor,
    reason: str,
    now: datetime,
    ip: str = "",
) -> bool:
    """Put a customer back into the pool now (a manager's release); False if it changed since."""
    await write_gate(session)
    done = await session.execute(
        update(Customer)
        .where(Customer.id == customer.id, Customer.version == customer.version)
        .values(owner_id=None, version=customer.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        return False
    await _event(
        session,
        customer.id,
        customer.team_id,
        PoolEventKind.RELEASE,
        customer.owner_id,
        None,
        by.id,
        now,
        reason,
    )
    await audit_add(
        session,
        action="pool_release",
        actor_id=by.id,
        entity="customer",
        entity_id=customer.id,
        detail={"from_owner_id": customer.owner_id, "reason": reason},
        ip=ip,
    )
    return True


BATCH = 500  # customers per write transaction: visits recorded meanwhile wait at most one batch


async def pool_assign(
    session: AsyncSession,
    *,
    moves: dict[int, int | None],
    kind: PoolEventKind,
    by_id: int | None,
    now: datetime | None = None,
    reason: str = "",
) -> int:
    """Give customers new owners (customer id -> user id, None: the pool), audited one by one.

    Flushes only; the caller commits (for a handover: everything in one transaction).
    """
    now = now or utcnow()
    await write_gate(session)
    ids = list(moves)
    moved = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        rows = (
            await session.execute(
                select(Customer.id, Customer.owner_id, Customer.team_id).where(
                    Customer.id.in_(chunk)
                )
            )
        ).all()
        by_target: dict[int | None, list[int]] = {}
        events, audits = [], []
        for cid, old, team_id in rows:
            new = moves[cid]
            if old == new:
                continue
            by_target.setdefault(new, []).append(cid)
            events.append(
                {
                    "customer_id": cid,
                    "team_id": team_id,
                    "kind": str(kind),
                    "from_user_id": old,
                    "to_user_id": new,
                    "by_user_id": by_id,
                    "at": now,
                    "reason": reason,
                }
            )
            audits.append(
                {
                    "actor_id": by_id,
                    "action": f"pool_{kind}",
                    "entity": "customer",
                    "entity_id": cid,
                    "detail": {"from_owner_id": old, "owner_id": new},
                    "at": now,
                }
            )
        for new, cids in by_target.items():
            await session.execute(
                update(Customer)
                .where(Customer.id.in_(cids))
                .values(owner_id=new, version=Customer.version + 1, updated_at=now)
                .execution_options(synchronize_session=False)
            )
        if events:
            await session.execute(PoolEvent.__table__.insert(), events)
            await audit_insert(session, audits)
        moved += len(events)
    return moved


@dataclass(frozen=True)
class PoolHistoryLine:
    """One ownership change as the customer's history shows it."""

    kind: str
    at: datetime
    from_name: str | None
    to_name: str | None
    by_name: str | None
    reason: str


def _pool_history_select():
    """The SELECT of pool_history (built once: the customer page runs it on every view)."""
    f, t, b = (User.__table__.alias(n) for n in ("f", "t", "b"))
    return (
        select(PoolEvent.kind, PoolEvent.at, f.c.name, t.c.name, b.c.name, PoolEvent.reason)
        .outerjoin(f, f.c.id == PoolEvent.from_user_id)
        .outerjoin(t, t.c.id == PoolEvent.to_user_id)
        .outerjoin(b, b.c.id == PoolEvent.by_user_id)
        .where(PoolEvent.customer_id == bindparam("p_customer_id"))
        .order_by(PoolEvent.at.desc(), PoolEvent.id.desc())
    )


_POOL_HISTORY = _pool_history_select()


async def pool_history(session: AsyncSession, *, customer_id: int) -> list[PoolHistoryLine]:
    """The customer's ownership changes through the pool, newest first.

    Core on the session's connection (db.reads), not the ORM session's execute: the
    customer page runs it on every view.
    """
    if session.new:
        await session.flush()  # Core on the connection does not autoflush
    found = await read_rows(session, _POOL_HISTORY, {"p_customer_id": customer_id})
    return [PoolHistoryLine(*r) for r in found]


async def pool_count(session: AsyncSession, *, actor: Actor) -> int:
    """How many customers wait in the actor's team pool."""
    stmt = (
        select(func.count())
        .select_from(Customer)
        .where(visible_customers(actor), Customer.owner_id.is_(None))
    )
    return (await session.execute(stmt)).scalar_one()


async def pool_counts_by_user(
    session: AsyncSession, *, team_id: int, start: datetime, end: datetime
) -> dict[int, dict[str, int]]:
    """Claims, releases and returns per user in [start, end) (the weekly report)."""
    stmt = (
        select(PoolEvent.kind, PoolEvent.to_user_id, PoolEvent.from_user_id, func.count())
        .where(PoolEvent.team_id == team_id, PoolEvent.at >= start, PoolEvent.at < end)
        .group_by(PoolEvent.kind, PoolEvent.to_user_id, PoolEvent.from_user_id)
    )
    out: dict[int, dict[str, int]] = {}
    for kind, to_id, from_id, n in (await session.execute(stmt)).all():
        user = to_id if kind == PoolEventKind.CLAIM else from_id
        if user is None or kind == PoolEventKind.ASSIGN:
            continue
        counts = out.setdefault(user, {"claim": 0, "release": 0, "return": 0})
        counts[kind] += n
    return out
