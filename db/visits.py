"""Visits: list, record (idempotent), undo, add details; and the recently viewed customers."""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from sqlalchemy import (
    Date,
    Float,
    Insert,
    Integer,
    String,
    bindparam,
    delete,
    func,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add, audit_insert_on
from db.engine import write_gate
from db.models import (
    AuditEvent,
    Cadence,
    Customer,
    Outcome,
    RecentlyViewed,
    User,
    Visit,
    VisitSetting,
)
from db.outcomes import cadence_get
from db.reads import dialect, flushed_connection, per_actor, rows
from db.types import UTCDateTime, utcnow
from db.visibility import visible_customers
from domain.cadence import follow_up_after, follow_up_with_action
from domain.users import Actor
from domain.visits import (
    DEFAULT_DEVICE_MAX_AGE_HOURS,
    Location,
    VisitDetails,
    can_undo_visit,
    distance_to_customer,
    undo_allowed,
    visit_clock,
)


class VisitError(Exception):
    """A visit command that cannot be carried out."""


class CustomerNotVisible(VisitError):
    """The customer does not exist or the actor may not see it (answer 404)."""


class VisitNotVisible(VisitError):
    """The visit does not exist or belongs to a customer the actor may not see (404)."""


class OutcomeUnknown(VisitError):
    """The outcome code is not in the outcome table."""


class KeyReused(VisitError):
    """The idempotency key already belongs to another user's or customer's visit."""


class NotYours(VisitError):
    """Only the person who recorded a visit may undo it (args[0]: the customer id)."""


class UndoTooLate(VisitError):
    """The undo window has passed (args[0]: the customer id)."""


@dataclass(frozen=True)
class VisitView:
    """A visit with who made it and its outcome labels, ready to render."""

    id: int
    customer_id: int
    user_id: int
    user_name: str
    at: datetime
    outcome: str
    outcome_en: str
    outcome_zh: str
    asks_amount: bool
    method: str
    device_at: datetime | None
    accuracy_m: float | None
    distance_m: float | None
    note: str
    feedback: str
    next_action: str
    next_action_due: date | None
    milestone: str | None
    amount_cents: int | None
    received_at: datetime | None = None  # None for visits stored before 0011
    clock_note: str | None = None  # why the device time was not used (see visit_clock)

    def label(self, locale: str) -> str:
        """Return the outcome label in the user's language (the code if it was removed)."""
        text = self.outcome_zh if locale == "zh_CN" else self.outcome_en
        return text or self.outcome

    @property
    def has_details(self) -> bool:
        """Whether anything was added after saving."""
        return bool(
            self.note or self.feedback or self.next_action or self.next_action_due or self.milestone
        )


_VIEW_COLUMNS = (
    Visit.id,
    Visit.customer_id,
    Visit.user_id,
    User.name,
    Visit.at,
    Visit.outcome,
    Outcome.label_en,
    Outcome.label_zh,
    Outcome.asks_amount,
    Visit.method,
    Visit.device_at,
    Visit.accuracy_m,
    Visit.distance_m,
    Visit.note,
    Visit.feedback,
    Visit.next_action,
    Visit.next_action_due,
    Visit.milestone,
    Visit.amount_cents,
    Visit.received_at,
    Visit.clock_note,
)


def _view_select():
    """SELECT the columns of a VisitView."""
    return (
        select(*_VIEW_COLUMNS)
        .join(User, User.id == Visit.user_id)
        .outerjoin(Outcome, Outcome.code == Visit.outcome)
    )


def _to_view(row) -> VisitView:
    """Build a VisitView from a row of _view_select()."""
    values = list(row)
    values[6] = values[6] or ""
    values[7] = values[7] or ""
    values[8] = bool(values[8])
    return VisitView(*values)


# Built once (db.reads): the customer page lists its visits on every view.
_VISIT_LIST = (
    _view_select()
    .where(Visit.customer_id == bindparam("p_customer_id"))
    .order_by(Visit.at.desc(), Visit.id.desc())
    .limit(bindparam("p_limit", type_=Integer()))
)
_VISIT_VIEW = _view_select().where(Visit.id == bindparam("p_visit_id"))


async def visit_list(
    session: AsyncSession, *, customer_id: int, limit: int = 20
) -> list[VisitView]:
    """Return a customer's visits, newest first, in one query."""
    found = await rows(session, _VISIT_LIST, {"p_customer_id": customer_id, "p_limit": limit})
    return [_to_view(r) for r in found]


async def visit_view(session: AsyncSession, *, visit_id: int) -> VisitView | None:
    """Return one visit ready to render."""
    found = await rows(session, _VISIT_VIEW, {"p_visit_id": visit_id})
    return _to_view(found[0]) if found else None


@dataclass(frozen=True)
class Recorded:
    """The result of recording a visit: the stored row and whether this call created it."""

    visit_id: int
    customer_id: int
    at: datetime
    created: bool
    view: VisitView | None = None  # ready to render when this call created the visit


def _visit_insert(insert):
    """INSERT a visit once per idempotency key, returning its id (nothing on a repeat)."""
    columns = {
        "customer_id": Integer,
        "user_id": Integer,
        "outcome": String,
        "method": String,
        "at": UTCDateTime,
        "received_at": UTCDateTime,
        "device_at": UTCDateTime,
        "fix_at": UTCDateTime,
        "clock_note": String,
        "lat": Float,
        "lng": Float,
        "accuracy_m": Float,
        "distance_m": Float,
    }
    values = {name: bindparam(f"p_{name}", type_=t()) for name, t in columns.items()}
    values |= {"note": "", "feedback": "", "next_action": ""}
    values["idempotency_key"] = bindparam("p_key", type_=String())
    table = Visit.__table__
    return (
        insert(table)
        .values(values)
        .on_conflict_do_nothing(index_elements=["idempotency_key"])
        .returning(table.c.id)
    )


# The write statements of the hot path, built once on the tables and run as Core on the
# session's connection: SQLAlchemy reuses their cache keys and compiled forms, and the
# ORM's bulk-DML path (which rebuilt each statement per call) is skipped.
_VISIT_INSERT = {
    "sqlite": _visit_insert(sqlite.insert),
    "postgresql": _visit_insert(postgresql.insert),
}
# Only ever moves "last visit" forward: a visit recorded offline earlier than one already
# stored (synced later) leaves the customer's dates alone. One portable statement, so a
# concurrent newer visit on another connection cannot be overwritten either.
_customer = Customer.__table__.c
_CUSTOMER_VISITED = (
    update(Customer.__table__)
    .where(
        _customer.id == bindparam("p_id", type_=Integer()),
        or_(
            _customer.last_visit_at.is_(None),
            _customer.last_visit_at <= bindparam("p_at", type_=UTCDateTime()),
        ),
    )
    .values(
        last_visit_at=bindparam("p_at", type_=UTCDateTime()),
        next_follow_up_on=bindparam("p_next", type_=Date()),
    )
)


def _insert(session: AsyncSession):
    """The dialect's INSERT that supports ON CONFLICT."""
    return postgresql.insert if dialect(session) == "postgresql" else sqlite.insert


@dataclass(frozen=True)
class Prepared:
    """What recording a visit needs to know about the customer and the outcome."""

    customer_id: int
    outcome: str
    level: str
    lat: float | None
    lng: float | None
    prev_last: datetime | None
    prev_next: date | None
    method: str
    label_en: str
    label_zh: str
    asks_amount: bool
    cadence_days: int | None
    max_age_hours: int


def _visit_prepare_select(actor: Actor):
    """The SELECT of _visit_prepare for a kind of actor (built once each, see db.reads)."""
    return (
        select(
            Customer.level,
            Customer.lat,
            Customer.lng,
            Customer.last_visit_at,
            Customer.next_follow_up_on,
            Outcome.method,
            Outcome.label_en,
            Outcome.label_zh,
            Outcome.asks_amount,
            # The level's row of the cadence table, read in the same query (hot path);
            # follow_up_after() supplies the default when the row is missing.
            Cadence.days,
            # The admin's limit on device times, from its one-row table (same query).
            VisitSetting.device_max_age_hours,
        )
        .select_from(Customer)
        .outerjoin(Outcome, Outcome.code == bindparam("p_outcome", type_=String()))
        .outerjoin(Cadence, Cadence.level == Customer.level)
        .outerjoin(VisitSetting, VisitSetting.id == literal(1))
        .where(Customer.id == bindparam("p_customer_id"), visible_customers(actor))
    )


_visit_prepare_stmt = per_actor(_visit_prepare_select)


async def _visit_prepare(
    conn: AsyncConnection, *, actor: Actor, customer_id: int, outcome: str
) -> Prepared:
    """Read (one query) the customer if visible, its level's cadence, and the outcome.

    Raise CustomerNotVisible or OutcomeUnknown.
    """
    stmt, params = _visit_prepare_stmt(actor)
    params = {**params, "p_customer_id": customer_id, "p_outcome": outcome}
    found = (await conn.execute(stmt, params)).all()
    if not found:
        raise CustomerNotVisible()
    row = found[0]
    level, lat, lng, prev_last, prev_next, method, label_en, label_zh, asks, days, max_age = row
    if method is None:
        raise OutcomeUnknown(outcome)
    return Prepared(
        customer_id,
        outcome,
        level,
        lat,
        lng,
        prev_last,
        prev_next,
        method,
        label_en or "",
        label_zh or "",
        bool(asks),
        days,
        max_age or DEFAULT_DEVICE_MAX_AGE_HOURS,
    )


async def visit_record(
    session: AsyncSession,
    *,
    actor: Actor,
    customer_id: int,
    outcome: str,
    key: str,
    tz: tzinfo,
    where: Location | None = None,
    device_at: datetime | None = None,
    fix_at: datetime | None = None,
    now: datetime | None = None,
    ip: str = "",
) -> Recorded:
    """Record a visit once per idempotency key, move the customer's follow-up on, audit it.

    A repeated key returns the visit already stored, whoever got there first (the unique
    constraint decides, so concurrent duplicates from several connections store one row).
    The visit counts at the device time when plausible (`visit_clock`), else at `now`; both
    are kept, and the customer's last visit only moves forward.
    Raise CustomerNotVisible, OutcomeUnknown or KeyReused. The write waits for the
    process's SQLite write gate, held until the caller commits.
    """
    now = now or utcnow()
    # Every statement of a visit runs on the session's connection, fetched once (each
    # fetch through the ORM session is a greenlet round of its own; issue 17).
    conn = await session.connection()
    p = await _visit_prepare(conn, actor=actor, customer_id=customer_id, outcome=outcome)
    distance = distance_to_customer(where, p.lat, p.lng)
    clock = visit_clock(device_at, now, max_age_hours=p.max_age_hours)
    at = clock.at
    params = {
        "p_customer_id": customer_id,
        "p_user_id": actor.id,
        "p_outcome": outcome,
        "p_method": p.method,
        "p_at": at,
        "p_received_at": now,
        "p_device_at": device_at,
        "p_fix_at": fix_at if where else None,
        "p_clock_note": clock.corrected,
        "p_lat": where.lat if where else None,
        "p_lng": where.lng if where else None,
        "p_accuracy_m": where.accuracy_m if where else None,
        "p_distance_m": distance,
        "p_key": key,
    }
    await write_gate(session)
    visit_id = (await conn.execute(_VISIT_INSERT[dialect(session)], params)).scalar_one_or_none()
    if visit_id is None:
        return await _recorded_before(session, actor=actor, customer_id=customer_id, key=key)
    cadence = {p.level: p.cadence_days} if p.cadence_days is not None else None
    await conn.execute(
        _CUSTOMER_VISITED,
        {"p_id": customer_id, "p_at": at, "p_next": follow_up_after(at, tz, p.level, cadence)},
    )
    await audit_insert_on(
        conn,
        [
            {
                "at": now,
                "actor_id": actor.id,
                "action": "visit_recorded",
                "entity": "visit",
                "entity_id": visit_id,
                "detail": {
                    "customer_id": customer_id,
                    "outcome": outcome,
                    "located": where is not None,
                    "received_at": now.isoformat(),
                    "clock": clock.corrected,
                    "prev": {
                        "last_visit_at": _iso(p.prev_last),
                        "next_follow_up_on": _iso(p.prev_next),
                    },
                },
                "ip": ip,
            }
        ],
    )
    view = VisitView(
        id=visit_id,
        customer_id=customer_id,
        user_id=actor.id,
        user_name=actor.name,
        at=at,
        outcome=outcome,
        outcome_en=p.label_en,
        outcome_zh=p.label_zh,
        asks_amount=p.asks_amount,
        method=p.method,
        device_at=device_at,
        accuracy_m=where.accuracy_m if where else None,
        distance_m=distance,
        note="",
        feedback="",
        next_action="",
        next_action_due=None,
        milestone=None,
        amount_cents=None,
        received_at=now,
        clock_note=clock.corrected,
    )
    return Recorded(visit_id, customer_id, at, created=True, view=view)


_BY_KEY = select(Visit.id, Visit.user_id, Visit.customer_id, Visit.at).where(
    Visit.idempotency_key == bindparam("p_key", type_=String())
)


async def _recorded_before(
    session: AsyncSession, *, actor: Actor, customer_id: int, key: str
) -> Recorded:
    """The visit an idempotency key already stored; KeyReused if it is someone else's."""
    [existing] = await rows(session, _BY_KEY, {"p_key": key})
    if existing.user_id != actor.id or existing.customer_id != customer_id:
        raise KeyReused()
    return Recorded(existing.id, customer_id, existing.at, created=False)


def _iso(value: date | datetime | None) -> str | None:
    """A date or time as ISO text for an audit detail (None stays None)."""
    return value.isoformat() if value else None


@dataclass(frozen=True)
class VisitTarget:
    """A visit the actor may see, with what the commands on it need."""

    visit: Visit
    customer_level: str
    customer_last_visit_at: datetime | None


async def visit_get_visible(
    session: AsyncSession, *, actor: Actor, visit_id: int
) -> VisitTarget | None:
    """Return a visit on a customer the actor may see, else None (callers answer 404)."""
    stmt = (
        select(Visit, Customer.level, Customer.last_visit_at)
        .join(Customer, Customer.id == Visit.customer_id)
        .where(Visit.id == visit_id, visible_customers(actor))
    )
    row = (await session.execute(stmt)).first()
    return None if row is None else VisitTarget(row[0], row[1], row[2])


async def visit_undo(
    session: AsyncSession,
    *,
    actor: Actor,
    visit_id: int,
    tz: tzinfo,
    now: datetime | None = None,
    ip: str = "",
) -> int:
    """Delete a just-saved visit of the actor and restore the customer's follow-up dates.

    Return the customer id. Raise VisitNotVisible, NotYours or UndoTooLate.
    """
    now = now or utcnow()
    target = await visit_get_visible(session, actor=actor, visit_id=visit_id)
    if target is None:
        raise VisitNotVisible()
    visit = target.visit
    if not can_undo_visit(actor, author_id=visit.user_id):
        raise NotYours(visit.customer_id)
    if not undo_allowed(visit.at, now):
        raise UndoTooLate(visit.customer_id)
    customer_id = visit.customer_id
    await session.execute(delete(Visit).where(Visit.id == visit.id))
    restored = None
    if target.customer_last_visit_at == visit.at:
        restored = await _restore_follow_up(
            session, visit=visit, level=target.customer_level, tz=tz
        )
    await audit_add(
        session,
        action="visit_undone",
        actor_id=actor.id,
        entity="visit",
        entity_id=visit.id,
        detail={
            "customer_id": customer_id,
            "outcome": visit.outcome,
            "at": visit.at.isoformat(),
            "restored": restored,
        },
        ip=ip,
    )
    session.expunge(visit)
    return customer_id


async def _restore_follow_up(
    session: AsyncSession, *, visit: Visit, level: str, tz: tzinfo
) -> dict:
    """Put back the customer's last visit and next follow-up as they were before `visit`."""
    latest = (
        await session.execute(
            select(func.max(Visit.at)).where(Visit.customer_id == visit.customer_id)
        )
    ).scalar_one_or_none()
    prev = (
        await session.execute(
            select(AuditEvent.detail)
            .where(
                AuditEvent.entity == "visit",
                AuditEvent.entity_id == visit.id,
                AuditEvent.action == "visit_recorded",
            )
            .order_by(AuditEvent.id.desc())
            .limit(1)
        )
    ).scalar_one_or_none()
    prev = (prev or {}).get("prev") or {}
    prev_last = datetime.fromisoformat(prev["last_visit_at"]) if prev.get("last_visit_at") else None
    prev_next = (
        date.fromisoformat(prev["next_follow_up_on"]) if prev.get("next_follow_up_on") else None
    )
    if prev_last is not None and (latest is None or latest < prev_last):
        # Before this visit the customer's last visit was prev_last. If that visit was
        # undone too, fall back to what is left; otherwise (e.g. imported without its
        # visit rows) keep it.
        stale = await _was_undone(session, customer_id=visit.customer_id, at=prev_last)
    else:
        # A remaining visit newer than the recorded state (a concurrent save) wins.
        stale = latest is not None and latest != prev_last
    if not stale:
        last_on, next_on = prev_last, prev_next  # exactly as before, incl. a hand-set day
    elif latest is None:
        last_on, next_on = None, None
    else:
        last_on, next_on = latest, follow_up_after(latest, tz, level, await cadence_get(session))
    await session.execute(
        update(Customer)
        .where(Customer.id == visit.customer_id)
        .values(last_visit_at=last_on, next_follow_up_on=next_on)
    )
    return {"last_visit_at": _iso(last_on), "next_follow_up_on": _iso(next_on)}


async def _was_undone(session: AsyncSession, *, customer_id: int, at: datetime) -> bool:
    """Return whether the visit of a customer saved at `at` was undone since."""
    window = timedelta(hours=1)  # undo happens within seconds of the visit
    details = (
        await session.execute(
            select(AuditEvent.detail).where(
                AuditEvent.at >= at,
                AuditEvent.at <= at + window,
                AuditEvent.action == "visit_undone",
            )
        )
    ).scalars()
    stamp = at.isoformat()
    return any(d.get("customer_id") == customer_id and d.get("at") == stamp for d in details)


_DETAIL_FIELDS = ("note", "feedback", "next_action", "next_action_due", "milestone")


async def visit_update_details(
    session: AsyncSession,
    *,
    actor: Actor,
    visit: Visit,
    details: VisitDetails,
    include_amount: bool = True,
    ip: str = "",
) -> list[str]:
    """Store the details added after saving; return the names of the fields that changed."""
    fields = _DETAIL_FIELDS + (("amount_cents",) if include_amount else ())
    changed = [f for f in fields if getattr(visit, f) != getattr(details, f)]
    if not changed:
        return []
    for name in changed:
        setattr(visit, name, getattr(details, name))
    session.add(visit)
    detail: dict = {"customer_id": visit.customer_id, "fields": changed}
    if "next_action_due" in changed and visit.next_action_due is not None:
        moved = await _follow_up_by_action(session, visit)
        if moved:
            detail["next_follow_up_on"] = moved
    if "amount_cents" in changed:
        detail["amount_cents"] = visit.amount_cents
    if "milestone" in changed:
        detail["milestone"] = visit.milestone
    await audit_add(
        session,
        action="visit_updated",
        actor_id=actor.id,
        entity="visit",
        entity_id=visit.id,
        detail=detail,
        ip=ip,
    )
    return changed


async def _follow_up_by_action(session: AsyncSession, visit: Visit) -> str | None:
    """Bring the customer's next follow-up forward to the next action's due day if earlier."""
    current = (
        await session.execute(
            select(Customer.next_follow_up_on).where(Customer.id == visit.customer_id)
        )
    ).scalar_one_or_none()
    due = follow_up_with_action(current, visit.next_action_due)
    if due == current:
        return None
    await session.execute(
        update(Customer)
        .execution_options(synchronize_session=False)
        .where(Customer.id == visit.customer_id)
        .values(next_follow_up_on=due)
    )
    return _iso(due)


async def visit_set_amount(
    session: AsyncSession, *, actor: Actor, visit: Visit, amount_cents: int | None, ip: str = ""
) -> bool:
    """Set only the amount of a visit (the quick "Add amount" field); return whether it changed."""
    details = VisitDetails(
        note=visit.note,
        feedback=visit.feedback,
        next_action=visit.next_action,
        next_action_due=visit.next_action_due,
        milestone=visit.milestone,
        amount_cents=amount_cents,
    )
    return bool(
        await visit_update_details(session, actor=actor, visit=visit, details=details, ip=ip)
    )


async def visit_count(session: AsyncSession, *, customer_id: int | None = None) -> int:
    """Count visits (of one customer, or all)."""
    stmt = select(func.count()).select_from(Visit)
    if customer_id is not None:
        stmt = stmt.where(Visit.customer_id == customer_id)
    return (await session.execute(stmt)).scalar_one()


def _recently_viewed_upsert(insert) -> Insert:
    """The upsert of one (user, customer, time) view in a dialect, for executemany."""
    table = RecentlyViewed.__table__
    stmt = insert(table).values(
        user_id=bindparam("p_user_id"),
        customer_id=bindparam("p_customer_id"),
        viewed_at=bindparam("p_viewed_at"),
    )
    return stmt.on_conflict_do_update(
        index_elements=["user_id", "customer_id"], set_={"viewed_at": stmt.excluded.viewed_at}
    )


# Built once per dialect: building the upsert (its `excluded` columns) and compiling a new
# multi-row VALUES for every batch size was most of the customer page's view log write.
_RECENTLY_VIEWED_UPSERT = {
    "sqlite": _recently_viewed_upsert(sqlite.insert),
    "postgresql": _recently_viewed_upsert(postgresql.insert),
}


async def recently_viewed_upsert(
    session: AsyncSession, views: Mapping[tuple[int, int], datetime]
) -> None:
    """Remember several (user id, customer id) views at their times (one prebuilt upsert)."""
    params = [
        {"p_user_id": u, "p_customer_id": c, "p_viewed_at": at} for (u, c), at in views.items()
    ]
    if not params:
        return
    conn = await flushed_connection(session)
    # One view executes as a plain statement, several as an executemany batch.
    await conn.execute(
        _RECENTLY_VIEWED_UPSERT[dialect(session)], params[0] if len(params) == 1 else params
    )


async def visit_setting_get(session: AsyncSession) -> int:
    """Return the admin's limit on how old a device time may be, in hours."""
    row = await session.get(VisitSetting, 1)
    return row.device_max_age_hours if row is not None else DEFAULT_DEVICE_MAX_AGE_HOURS


async def visit_setting_set(session: AsyncSession, *, device_max_age_hours: int) -> bool:
    """Store the device-time limit; return whether it changed."""
    row = await session.get(VisitSetting, 1) or VisitSetting(id=1)
    changed = row.device_max_age_hours != device_max_age_hours or row not in session
    row.device_max_age_hours = device_max_age_hours
    session.add(row)
    await session.flush()
    return changed
