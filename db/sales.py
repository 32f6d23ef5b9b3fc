"""Sales process queries and commands: stage/status moves, the history, approvals, the board."""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.engine import sql_in_thread
from db.models import (
    ApprovalRequest,
    ApprovalRule,
    Customer,
    Outcome,
    SalesStageRule,
    StageChange,
    User,
    Visit,
)
from db.pool import pool_event_add, pool_history
from db.reads import rows
from db.reports import counted_stage
from db.types import utcnow
from db.visibility import visible_customers
from domain.enums import STAGE_ORDER, Role, Stage, Status
from domain.pool import PoolEventKind
from domain.sales import (
    CRITERIA_FIELDS,
    DEFAULT_APPROVAL_KINDS,
    DEFAULT_CRITERIA,
    DEFAULT_STUCK_DAYS,
    ApprovalKind,
    ApprovalState,
    StatusChange,
)
from domain.users import Actor

# --- rules (admin settings) -------------------------------------------------------------------


@dataclass(frozen=True)
class SalesRules:
    """The admin's sales settings: entry criteria and stuck limits per stage, approval kinds."""

    criteria: dict[str, tuple[str, ...]]
    stuck_days: dict[str, int | None]
    approval_kinds: frozenset[str]


async def sales_rules_get(session: AsyncSession) -> SalesRules:
    """Return the sales settings (the domain defaults for anything not stored)."""
    criteria = dict(DEFAULT_CRITERIA)
    stuck = dict(DEFAULT_STUCK_DAYS)
    rows = (await session.execute(select(SalesStageRule))).scalars().all()
    for row in rows:
        criteria[row.stage] = tuple(f for f in row.required if f in CRITERIA_FIELDS)
        stuck[row.stage] = row.stuck_days
    kinds = set(DEFAULT_APPROVAL_KINDS)
    for rule in (await session.execute(select(ApprovalRule))).scalars().all():
        (kinds.add if rule.required else kinds.discard)(rule.kind)
    return SalesRules(criteria=criteria, stuck_days=stuck, approval_kinds=frozenset(kinds))


async def sales_rules_save(
    session: AsyncSession,
    *,
    criteria: Mapping[str, Collection[str]],
    stuck_days: Mapping[str, int | None],
    approval_kinds: Collection[str],
    actor_id: int | None,
    ip: str = "",
) -> None:
    """Store the sales settings for every stage and approval kind, and audit the change."""
    for stage in STAGE_ORDER:
        required = [f for f in CRITERIA_FIELDS if f in criteria.get(stage, ())]
        await session.merge(
            SalesStageRule(stage=stage, required=required, stuck_days=stuck_days.get(stage))
        )
    for kind in ApprovalKind:
        await session.merge(ApprovalRule(kind=kind, required=kind in approval_kinds))
    await session.flush()
    await audit_add(
        session,
        action="sales_rules_changed",
        actor_id=actor_id,
        entity="sales_rules",
        detail={
            "criteria": {s: sorted(v) for s, v in criteria.items() if v},
            "stuck_days": dict(stuck_days),
            "approval_kinds": sorted(approval_kinds),
        },
        ip=ip,
    )


# --- moving a customer --------------------------------------------------------------------


class PendingApproval(Exception):
    """The customer has a change waiting for approval: nothing else may change meanwhile."""


async def approval_pending_exists(session: AsyncSession, *, customer_id: int) -> bool:
    """Whether a change of the customer is waiting for a decision."""
    stmt = select(ApprovalRequest.id).where(
        ApprovalRequest.customer_id == customer_id,
        ApprovalRequest.state == ApprovalState.PENDING,
    )
    return (await session.execute(stmt)).first() is not None


async def _customer_write(
    session: AsyncSession, *, customer: Customer, values: dict[str, object], now: datetime
) -> bool:
    """Write columns of a customer if nobody saved it since it was read (version check)."""
    stmt = (
        update(Customer)
        .where(Customer.id == customer.id, Customer.version == customer.version)
        .values(**values, version=customer.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    return (await session.execute(stmt)).rowcount == 1


async def stage_move(
    session: AsyncSession,
    *,
    customer: Customer,
    to_stage: Stage,
    fields: Mapping[str, object],
    comment: str,
    user_id: int | None,
    now: datetime | None = None,
    ip: str = "",
) -> bool:
    """Move a customer to a stage, filling in the criteria fields given; keep it in the history.

    Returns False, changing nothing, when someone saved the customer in between. Raises
    PendingApproval while a change of the customer waits for a decision.
    """
    now = now or utcnow()
    if await approval_pending_exists(session, customer_id=customer.id):
        raise PendingApproval()
    values = {k: v for k, v in fields.items() if k in CRITERIA_FIELDS}
    if not await _customer_write(
        session, customer=customer, values={**values, "stage": str(to_stage)}, now=now
    ):
        return False
    session.add(
        StageChange(
            customer_id=customer.id,
            user_id=user_id,
            at=now,
            from_stage=customer.stage,
            to_stage=str(to_stage),
            comment=comment,
        )
    )
    await audit_add(
        session,
        action="stage_changed",
        actor_id=user_id,
        entity="customer",
        entity_id=customer.id,
        detail={"from": customer.stage, "to": str(to_stage), "fields": sorted(values)},
        ip=ip,
    )
    return True


async def _status_write(
    session: AsyncSession,
    *,
    customer: Customer,
    change: StatusChange,
    user_id: int | None,
    now: datetime,
) -> bool:
    """Write a status change (and the stage it implies) with its history entry."""
    values: dict[str, object] = {
        "status": str(change.to_status),
        "loss_reason": str(change.reason) if change.reason else None,
    }
    if change.to_stage is not None:
        values["stage"] = str(change.to_stage)
    if not await _customer_write(session, customer=customer, values=values, now=now):
        return False
    session.add(
        StageChange(
            customer_id=customer.id,
            user_id=user_id,
            at=now,
            from_stage=customer.stage if change.to_stage else None,
            to_stage=str(change.to_stage) if change.to_stage else None,
            from_status=customer.status,
            to_status=str(change.to_status),
            reason=str(change.reason) if change.reason else None,
            comment=change.comment,
        )
    )
    return True


async def status_set(
    session: AsyncSession,
    *,
    customer: Customer,
    change: StatusChange,
    user_id: int | None,
    now: datetime | None = None,
    ip: str = "",
) -> bool:
    """Apply a status change that needs no approval; False when someone saved in between.

    Raises PendingApproval while a change of the customer waits for a decision.
    """
    now = now or utcnow()
    if await approval_pending_exists(session, customer_id=customer.id):
        raise PendingApproval()
    if not await _status_write(session, customer=customer, change=change, user_id=user_id, now=now):
        return False
    await audit_add(
        session,
        action="status_changed",
        actor_id=user_id,
        entity="customer",
        entity_id=customer.id,
        detail={
            "from": customer.status,
            "to": str(change.to_status),
            "reason": str(change.reason) if change.reason else None,
        },
        ip=ip,
    )
    return True


# --- approval requests ----------------------------------------------------------------------


def status_payload(change: StatusChange) -> dict:
    """The payload of a request to change a status (what approving it will apply)."""
    return {
        "to_status": str(change.to_status),
        "to_stage": str(change.to_stage) if change.to_stage else None,
        "reason": str(change.reason) if change.reason else None,
        "comment": change.comment,
    }


def _payload_change(payload: Mapping[str, object]) -> StatusChange:
    """Rebuild the status change a request's payload describes."""
    from domain.enums import LossReason

    reason = payload.get("reason")
    to_stage = payload.get("to_stage")
    return StatusChange(
        to_status=Status(str(payload["to_status"])),
        to_stage=Stage(str(to_stage)) if to_stage else None,
        reason=LossReason(str(reason)) if reason else None,
        comment=str(payload.get("comment") or ""),
        approval=None,
    )


async def approval_request_add(
    session: AsyncSession,
    *,
    kind: ApprovalKind,
    customer: Customer,
    payload: dict,
    requested_by: int | None,
    now: datetime | None = None,
    ip: str = "",
) -> ApprovalRequest:
    """Ask for a change to be approved; raise PendingApproval if one already waits.

    Generic over `kind`: the payload holds what approving applies (see approval_decide).
    """
    now = now or utcnow()
    if await approval_pending_exists(session, customer_id=customer.id):
        raise PendingApproval()
    request = ApprovalRequest(
        kind=str(kind),
        customer_id=customer.id,
        team_id=customer.team_id,
        payload=payload,
        requested_by=requested_by,
        requested_at=now,
        state=ApprovalState.PENDING,
    )
    session.add(request)
    try:
        # The partial unique index settles two requests racing for the same customer.
        async with session.begin_nested():
            await session.flush()
    except IntegrityError as exc:
        raise PendingApproval() from exc
    await audit_add(
        session,
        action="approval_requested",
        actor_id=requested_by,
        entity="approval_request",
        entity_id=request.id,
        detail={"kind": str(kind), "customer_id": customer.id},
        ip=ip,
    )
    return request


def _request_visible(actor: Actor):
    """WHERE clause: requests the actor may see (their team's as manager, all as admin, own)."""
    if actor.role == Role.ADMIN:
        return ApprovalRequest.id.is_not(None)
    own = ApprovalRequest.requested_by == actor.id
    if actor.role == Role.MANAGER and actor.team_id is not None:
        return or_(ApprovalRequest.team_id == actor.team_id, own)
    return own


async def approval_get(
    session: AsyncSession, *, actor: Actor, request_id: int
) -> ApprovalRequest | None:
    """Return a request the actor may see (as stored now), else None (callers answer 404)."""
    stmt = (
        select(ApprovalRequest)
        .where(ApprovalRequest.id == request_id, _request_visible(actor))
        .execution_options(populate_existing=True)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


class AlreadyDecided(Exception):
    """Someone decided (or withdrew) the request first."""


async def approval_decide(
    session: AsyncSession,
    *,
    request: ApprovalRequest,
    approve: bool,
    decided_by: int,
    comment: str = "",
    now: datetime | None = None,
    ip: str = "",
) -> None:
    """Approve (and apply) or reject a pending request; raise AlreadyDecided if it is not.

    The state moves with a conditional UPDATE, so of two managers deciding at once one
    wins and the other gets AlreadyDecided. Approving a status change applies it as the
    requester's change; a customer changed meanwhile also raises (nothing is applied).
    """
    now = now or utcnow()
    state = ApprovalState.APPROVED if approve else ApprovalState.REJECTED
    stmt = (
        update(ApprovalRequest)
        .where(ApprovalRequest.id == request.id, ApprovalRequest.state == ApprovalState.PENDING)
        .values(state=str(state), decided_by=decided_by, decided_at=now, decision_comment=comment)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).rowcount != 1:
        raise AlreadyDecided()
    if approve:
        customer = (
            await session.execute(
                select(Customer)
                .where(Customer.id == request.customer_id)
                .execution_options(populate_existing=True)
            )
        ).scalar_one()
        if request.kind == ApprovalKind.POOL_RELEASE:
            applied = await _customer_write(
                session, customer=customer, values={"owner_id": None}, now=now
            )
            if applied:
                # One source for History, cooling-off and the weekly counts: the pool event.
                await pool_event_add(
                    session,
                    customer_id=customer.id,
                    team_id=customer.team_id,
                    kind=PoolEventKind.RELEASE,
                    from_id=customer.owner_id,
                    by_id=decided_by,
                    at=now,
                    reason=str(request.payload.get("comment") or ""),
                )
        else:
            applied = await _status_write(
                session,
                customer=customer,
                change=_payload_change(request.payload),
                user_id=request.requested_by,
                now=now,
            )
        if not applied:
            raise AlreadyDecided()
    await audit_add(
        session,
        action=f"approval_{state}",
        actor_id=decided_by,
        entity="approval_request",
        entity_id=request.id,
        detail={"kind": request.kind, "customer_id": request.customer_id},
        ip=ip,
    )


async def approval_withdraw(
    session: AsyncSession,
    *,
    request: ApprovalRequest,
    user_id: int,
    now: datetime | None = None,
    ip: str = "",
) -> None:
    """Withdraw one's own pending request; raise AlreadyDecided if it is no longer pending."""
    now = now or utcnow()
    stmt = (
        update(ApprovalRequest)
        .where(
            ApprovalRequest.id == request.id,
            ApprovalRequest.state == ApprovalState.PENDING,
            ApprovalRequest.requested_by == user_id,
        )
        .values(state=str(ApprovalState.WITHDRAWN), decided_by=user_id, decided_at=now)
        .execution_options(synchronize_session=False)
    )
    if (await session.execute(stmt)).rowcount != 1:
        raise AlreadyDecided()
    await audit_add(
        session,
        action="approval_withdrawn",
        actor_id=user_id,
        entity="approval_request",
        entity_id=request.id,
        detail={"kind": request.kind, "customer_id": request.customer_id},
        ip=ip,
    )


# --- what the pages show -----------------------------------------------------------------


@dataclass(frozen=True)
class RequestView:
    """An approval request with the names a page shows."""

    id: int
    kind: str
    customer_id: int
    customer_name: str
    customer_status: str
    payload: dict
    requested_by: int | None
    requester_name: str
    requested_at: datetime
    state: str
    decider_name: str
    decided_at: datetime | None
    decision_comment: str
    recent_visits: list["VisitLine"] = field(default_factory=list)


@dataclass(frozen=True)
class VisitLine:
    """A recent visit shown beside a request, so the manager decides knowing the story."""

    at: datetime
    user_name: str
    outcome_en: str
    outcome_zh: str
    note: str


# Built once, as columns (no ORM entities, no identity map): fresh aliases per call made
# this SELECT's construction ~17 % of a customer page's CPU, and loading ApprovalRequest
# objects through the ORM another ~5 % (py-spy, issue 17). A Select is immutable, so
# callers' .where() copies it; rows are read fresh, never a stale copy from the session.
_REQUESTS = ApprovalRequest.__table__
_REQUESTER = User.__table__.alias("requester")
_DECIDER = User.__table__.alias("decider")
_REQUEST_SELECT = (
    select(
        _REQUESTS,
        Customer.name.label("customer_name"),
        Customer.status.label("customer_status"),
        _REQUESTER.c.name.label("requester_name"),
        _DECIDER.c.name.label("decider_name"),
    )
    .join(Customer, Customer.id == _REQUESTS.c.customer_id)
    .outerjoin(_REQUESTER, _REQUESTER.c.id == _REQUESTS.c.requested_by)
    .outerjoin(_DECIDER, _DECIDER.c.id == _REQUESTS.c.decided_by)
)
_CUSTOMER = bindparam("p_customer_id")
# The customer page's two reads of requests (its pending notice and its History).
_PENDING_OF_CUSTOMER = _REQUEST_SELECT.where(
    _REQUESTS.c.customer_id == _CUSTOMER, _REQUESTS.c.state == ApprovalState.PENDING.value
)
_REQUESTS_OF_CUSTOMER = (
    _REQUEST_SELECT.where(_REQUESTS.c.customer_id == _CUSTOMER)
    .order_by(_REQUESTS.c.requested_at.desc())
    .limit(bindparam("p_limit"))
)


def _request_select():
    """SELECT of requests (columns) with customer, requester and decider names."""
    return _REQUEST_SELECT


def _request_view(row, visits: list[VisitLine] | None = None) -> RequestView:
    """Turn a _request_select row into a RequestView."""
    return RequestView(
        id=row.id,
        kind=row.kind,
        customer_id=row.customer_id,
        customer_name=row.customer_name,
        customer_status=row.customer_status,
        payload=dict(row.payload or {}),
        requested_by=row.requested_by,
        requester_name=row.requester_name or "",
        requested_at=row.requested_at,
        state=row.state,
        decider_name=row.decider_name or "",
        decided_at=row.decided_at,
        decision_comment=row.decision_comment,
        recent_visits=visits or [],
    )


async def approval_pending_for_customer(
    session: AsyncSession, *, customer_id: int
) -> RequestView | None:
    """Return the customer's pending request with names, or None (at most one exists)."""
    found = await rows(session, _PENDING_OF_CUSTOMER, {"p_customer_id": customer_id})
    return _request_view(found[0]) if found else None


def _decidable(actor: Actor):
    """WHERE clause: pending requests the actor may decide (not their own)."""
    pending = ApprovalRequest.state == ApprovalState.PENDING
    not_own = or_(ApprovalRequest.requested_by.is_(None), ApprovalRequest.requested_by != actor.id)
    if actor.role == Role.ADMIN:
        return and_(pending, not_own)
    if actor.role == Role.MANAGER and actor.team_id is not None:
        return and_(pending, not_own, ApprovalRequest.team_id == actor.team_id)
    return ApprovalRequest.id.is_(None)


async def approvals_pending_count(session: AsyncSession, *, actor: Actor) -> int:
    """How many requests wait for this actor's decision."""
    stmt = select(func.count()).select_from(ApprovalRequest).where(_decidable(actor))
    return int((await session.execute(stmt)).scalar_one())


async def approvals_pending_list(
    session: AsyncSession, *, actor: Actor, limit: int = 100, visits_each: int = 3
) -> list[RequestView]:
    """Return the requests waiting for this actor's decision, oldest first, with recent visits."""
    stmt = _request_select().where(_decidable(actor)).order_by(ApprovalRequest.requested_at)
    rows = (await session.execute(stmt.limit(limit))).all()
    customer_ids = list({row.customer_id for row in rows})
    visits: dict[int, list[VisitLine]] = {}
    if customer_ids:
        ranked = (
            select(
                Visit.customer_id,
                Visit.at,
                User.name.label("user_name"),
                Outcome.label_en,
                Outcome.label_zh,
                Visit.note,
                func.row_number()
                .over(partition_by=Visit.customer_id, order_by=Visit.at.desc())
                .label("n"),
            )
            .join(User, User.id == Visit.user_id)
            .outerjoin(Outcome, Outcome.code == Visit.outcome)
            .where(Visit.customer_id.in_(customer_ids))
            .subquery()
        )
        for cid, at, user_name, en, zh, note, _n in (
            await session.execute(select(ranked).where(ranked.c.n <= visits_each))
        ).all():
            visits.setdefault(cid, []).append(VisitLine(at, user_name, en or "", zh or "", note))
    return [_request_view(row, visits.get(row.customer_id)) for row in rows]


async def approvals_decided_for(
    session: AsyncSession, *, user_id: int, since: datetime, limit: int = 10
) -> list[RequestView]:
    """Return the user's own requests approved or rejected since `since`, newest first."""
    stmt = (
        _request_select()
        .where(
            ApprovalRequest.requested_by == user_id,
            ApprovalRequest.state.in_([ApprovalState.APPROVED, ApprovalState.REJECTED]),
            ApprovalRequest.decided_at >= since,
        )
        .order_by(ApprovalRequest.decided_at.desc())
        .limit(limit)
    )
    return [_request_view(row) for row in (await session.execute(stmt)).all()]


@dataclass(frozen=True)
class HistoryEntry:
    """One line of a customer's History: a stage or status change, an approval or owner event."""

    at: datetime
    event: str  # "stage", "status", "requested", "approved", "rejected", "withdrawn", "owner"
    user_name: str
    from_stage: str | None = None
    to_stage: str | None = None
    from_status: str | None = None
    to_status: str | None = None
    reason: str | None = None
    comment: str = ""
    kind: str | None = None
    payload: dict = field(default_factory=dict)
    from_owner: str | None = None
    to_owner: str | None = None


_MOVES = StageChange.__table__
# Built once (issue 17): the History's stage and status changes, newest first, with names.
_MOVES_OF_CUSTOMER = (
    select(_MOVES, User.name.label("user_name"))
    .outerjoin(User, User.id == _MOVES.c.user_id)
    .where(_MOVES.c.customer_id == _CUSTOMER)
    .order_by(_MOVES.c.at.desc(), _MOVES.c.id.desc())
    .limit(bindparam("p_limit"))
)


@dataclass(frozen=True)
class SalesHistory:
    """A customer's History lines and its pending request (read from the same rows)."""

    pending: RequestView | None
    entries: list[HistoryEntry]


async def history_list(
    session: AsyncSession, *, customer_id: int, limit: int = 50
) -> list[HistoryEntry]:
    """The customer's stage/status changes, approvals, owner changes, newest first (3 queries)."""
    return (await sales_history(session, customer_id=customer_id, limit=limit)).entries


async def sales_history(
    session: AsyncSession, *, customer_id: int, limit: int = 50
) -> SalesHistory:
    """The History of a customer and its pending request, for the customer page (3 queries).

    At most one request of a customer is pending (ux_approval_customer_pending) and none
    can be asked while it is, so it is the newest of the History's requests: it is taken
    from those rows instead of a query of its own. Only when the History's limit cut the
    requests short is it looked up (approval_pending_for_customer).
    """
    if session.new:
        # Core on the connection does not autoflush: a move added just now must show.
        await session.flush()
    params = {"p_customer_id": customer_id, "p_limit": limit}
    entries: list[HistoryEntry] = []
    for m in await rows(session, _MOVES_OF_CUSTOMER, params):
        status_changed = m.to_status is not None and m.to_status != m.from_status
        entries.append(
            HistoryEntry(
                at=m.at,
                event="status" if status_changed else "stage",
                user_name=m.user_name or "",
                from_stage=m.from_stage,
                to_stage=m.to_stage,
                from_status=m.from_status,
                to_status=m.to_status,
                reason=m.reason,
                comment=m.comment or "",
            )
        )
    requests = await rows(session, _REQUESTS_OF_CUSTOMER, params)
    pending: RequestView | None = None
    for row in requests:
        r = _request_view(row)
        if r.state == ApprovalState.PENDING.value and pending is None:
            pending = r
        entries.append(
            HistoryEntry(
                at=r.requested_at,
                event="requested",
                user_name=r.requester_name,
                comment=str(r.payload.get("comment") or ""),
                kind=r.kind,
                payload=r.payload,
            )
        )
        if r.decided_at is not None:
            entries.append(
                HistoryEntry(
                    at=r.decided_at,
                    event=r.state,
                    user_name=r.decider_name,
                    comment=r.decision_comment,
                    kind=r.kind,
                    payload=r.payload,
                )
            )
    for p in (await pool_history(session, customer_id=customer_id))[:limit]:
        entries.append(
            HistoryEntry(
                at=p.at,
                event="owner",
                user_name=p.by_name or "",
                reason=p.reason,
                kind=p.kind,
                from_owner=p.from_name,
                to_owner=p.to_name,
            )
        )
    # Same instant (an approval applies its change): the decision reads before the change.
    order = {
        "stage": 0,
        "status": 0,
        "owner": 0,
        "approved": 1,
        "rejected": 1,
        "withdrawn": 1,
        "requested": 2,
    }
    entries.sort(key=lambda e: (e.at, -order[e.event]), reverse=True)
    if pending is None and len(requests) >= limit:
        pending = await approval_pending_for_customer(session, customer_id=customer_id)
    return SalesHistory(pending=pending, entries=entries[:limit])


# --- the pipeline board --------------------------------------------------------------------


@dataclass(frozen=True)
class PipelineFilter:
    """What the board is narrowed to: one owner (0 = the public pool), a level, a source."""

    owner_id: int | None = None
    level: str | None = None
    source: str | None = None


@dataclass(frozen=True)
class StageTotal:
    """One stage of the board: how many customers, their expected amounts, how many are stuck."""

    stage: str
    count: int
    amount_cents: int
    stuck: int


@dataclass(frozen=True)
class PipelineCard:
    """A customer on the board, with when it entered its current stage."""

    id: int
    name: str
    stage: str
    level: str
    owner_name: str | None
    expected_amount_cents: int | None
    since: datetime


def _stage_since():
    """Correlated subquery: when the customer entered its current stage (else its creation)."""
    entered = (
        select(func.max(StageChange.at))
        .where(StageChange.customer_id == Customer.id, StageChange.to_stage == Customer.stage)
        .scalar_subquery()
    )
    return func.coalesce(entered, Customer.created_at)


def _board_where(actor: Actor, filters: PipelineFilter) -> list:
    """WHERE clauses of the board: what the actor sees, open (not lost) deals, the filters."""
    cond = [visible_customers(actor), Customer.status != Status.LOST]
    if filters.owner_id == 0:
        cond.append(Customer.owner_id.is_(None))
    elif filters.owner_id is not None:
        cond.append(Customer.owner_id == filters.owner_id)
    if filters.level:
        cond.append(Customer.level == filters.level)
    if filters.source:
        cond.append(Customer.source == filters.source)
    return cond


async def pipeline_totals(
    session: AsyncSession,
    *,
    actor: Actor,
    filters: PipelineFilter,
    stuck_days: Mapping[str, int | None],
    now: datetime,
) -> list[StageTotal]:
    """Count customers and sum expected amounts per stage, in process order (one query).

    "Stuck" compares when each customer entered its stage with the stage's limit, as a CASE
    over bound cut-off times (no database-specific date arithmetic).
    """
    # Each customer's stage entry is looked up once, in the derived table.
    inner = (
        select(
            counted_stage().label("stage"),
            Customer.expected_amount_cents.label("amount"),
            _stage_since().label("since"),
        )
        .where(*_board_where(actor, filters))
        .subquery()
    )
    whens = [
        (and_(inner.c.stage == stage, inner.c.since < now - timedelta(days=days)), 1)
        for stage, days in stuck_days.items()
        if days is not None
    ]
    stuck = func.sum(case(*whens, else_=0)) if whens else func.sum(0)
    stmt = select(
        inner.c.stage,
        func.count(),
        func.coalesce(func.sum(inner.c.amount), 0),
        stuck,
    ).group_by(inner.c.stage)
    with sql_in_thread():
        rows = {r[0]: r for r in (await session.execute(stmt)).all()}
    return [
        StageTotal(
            stage=s,
            count=int(rows[s][1]) if s in rows else 0,
            amount_cents=int(rows[s][2] or 0) if s in rows else 0,
            stuck=int(rows[s][3] or 0) if s in rows else 0,
        )
        for s in STAGE_ORDER
    ]


async def pipeline_cards(
    session: AsyncSession,
    *,
    actor: Actor,
    filters: PipelineFilter,
    stage: str | None = None,
    per_stage: int = 20,
) -> dict[str, list[PipelineCard]]:
    """Return the longest-waiting customers of each stage (or of one stage), one query.

    A window function keeps the first `per_stage` of every stage, oldest in the stage first,
    so the cards that need attention are the ones shown.
    """
    cond = _board_where(actor, filters)
    if stage is not None:
        cond.append(counted_stage() == stage)
    # Rank on narrow rows (id, stage, since); only the kept ones fetch names and amounts.
    inner = (
        select(Customer.id, counted_stage().label("stage"), _stage_since().label("since"))
        .where(*cond)
        .subquery()
    )
    ranked = select(
        inner,
        func.row_number()
        .over(partition_by=inner.c.stage, order_by=(inner.c.since, inner.c.id))
        .label("n"),
    ).subquery()
    stmt = (
        select(
            Customer.id,
            Customer.name,
            ranked.c.stage,
            Customer.level,
            User.name,
            Customer.expected_amount_cents,
            ranked.c.since,
        )
        .join(Customer, Customer.id == ranked.c.id)
        .outerjoin(User, User.id == Customer.owner_id)
        .where(ranked.c.n <= per_stage)
        .order_by(ranked.c.since, ranked.c.id)
    )
    cards: dict[str, list[PipelineCard]] = {s: [] for s in STAGE_ORDER}
    with sql_in_thread():
        rows = (await session.execute(stmt)).all()
    for r in rows:
        cards.setdefault(r[2], []).append(PipelineCard(*r))
    return cards
