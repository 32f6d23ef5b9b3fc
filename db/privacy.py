"""Personal data: find a person, build their copy, erase them everywhere, requests and holds."""

# ruff: noqa: S608  (table and column names below come from the PLACES constants only)
import contextlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import func, or_, select, text, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.audit_log import audit_redact
from db.engine import sql_in_thread
from db.models import (
    AuditEvent,
    Contact,
    Customer,
    LegalHold,
    PrivacyRequest,
    PrivacySetting,
    StageChange,
    Team,
    User,
    Visit,
)
from domain.names import has_cjk
from domain.phones import PhoneError, normalise_phone
from domain.privacy import (
    ERASED,
    RequestInput,
    RequestStatus,
    erasure_refusal,
    file_mentions,
    needles,
    redact,
    retention_cutoff,
)

MAX_MATCHES = 50


@dataclass(frozen=True)
class Place:
    """One table where personal data of a customer lives, and what erasing it means there.

    `by` names the column that holds the customer id (`id` for the customer itself); a
    place without `by` is searched by the person's values instead (any text column that
    holds one of them is redacted), for tables that do not point at the customer.
    """

    table: str
    by: str | None
    text: tuple[str, ...] = ()
    blank: tuple[str, ...] = ()
    null: tuple[str, ...] = ()
    json: dict[str, str] = field(default_factory=dict)
    # JSON lists of cells: a row that points at the customer or holds one of the person's
    # values in any cell has every filled cell replaced by the marker (the whole line of
    # a spreadsheet is about that person), and its `json` columns emptied.
    cells: tuple[str, ...] = ()
    # Stored files (binary column -> flag column): a file that holds the person is
    # dropped and flagged as erased.
    files: dict[str, str] = field(default_factory=dict)


# Every place personal data lives: erasure walks this list, the erasure test seeds each one.
# New features add their tables here (the import feature: its error reports, by value;
# the sales process: the comment column of its stage/status history).
PLACES: list[Place] = [
    Place(
        "customer",
        by="id",
        text=("name", "phone", "contact_name", "email", "address", "needs"),
        # The derived search forms (pinyin, initials, last four digits, dedupe key).
        blank=("name_key", "name_pinyin", "name_initials", "phone_last4"),
        null=("lat", "lng"),
        json={"tags": "[]", "custom": "{}"},
    ),
    Place("contact", by="customer_id", text=("name", "phone", "email", "note")),
    # Visits stay as counted events (reports add up); distance to the customer is not personal.
    Place(
        "visit",
        by="customer_id",
        text=("note", "feedback", "next_action"),
        null=("lat", "lng", "accuracy_m"),
    ),
    # Stage/status history: the codes stay (the reports parse them), the free-text comment goes.
    Place("stage_change", by="customer_id", text=("comment",)),
    # Approvals: the decision comment, and the request's payload (its reason text and comment).
    Place(
        "approval_request",
        by="customer_id",
        text=("decision_comment",),
        json={"payload": "{}"},
    ),
    Place("privacy_request", by=None, text=("requester", "contact", "subject", "reason")),
    # Imports: each line of an uploaded sheet (its cells, the earlier values an update
    # replaced, the contact values it changed), found by customer or by value, since
    # the error report's lines point at no customer; then the upload itself and its name.
    Place("import_row", by="customer_id",
          json={"before": "{}", "contacts": "{}", "checked": "{}"}, cells=("cells",)),
    Place("import_job", by=None, text=("filename",), files={"file": "file_erased"}),
]  # fmt: skip


class ErasureRefused(Exception):
    """The customer is under a legal hold; the reason says why."""

    def __init__(self, reason: str):
        """Keep the hold's reason."""
        super().__init__(reason)
        self.reason = reason


# --- Settings ---------------------------------------------------------------------------


async def privacy_settings_get(session: AsyncSession) -> PrivacySetting:
    """The admin-set periods (created with the defaults when missing)."""
    row = await session.get(PrivacySetting, 1)
    if row is None:
        row = PrivacySetting(id=1)
        session.add(row)
        await session.flush()
    return row


async def privacy_settings_set(
    session: AsyncSession, *, due_days: int, retention_days: int, actor_id: int | None
) -> None:
    """Store the periods and audit the change."""
    row = await privacy_settings_get(session)
    before = {"due_days": row.request_due_days, "retention_days": row.location_retention_days}
    row.request_due_days, row.location_retention_days = due_days, retention_days
    session.add(row)
    await audit_add(
        session,
        action="privacy_settings_changed",
        actor_id=actor_id,
        entity="privacy_setting",
        entity_id=1,
        detail={
            "before": before,
            "after": {"due_days": due_days, "retention_days": retention_days},
        },
    )


async def visit_locations_drop(session: AsyncSession, *, before: datetime) -> int:
    """Drop the whereabouts of visits recorded before a moment (distance stays); the count."""
    stmt = (
        update(Visit)
        .where(Visit.at < before, or_(Visit.lat.is_not(None), Visit.accuracy_m.is_not(None)))
        .values(lat=None, lng=None, accuracy_m=None)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    if result.rowcount:
        await audit_add(
            session,
            action="visit_locations_dropped",
            actor_id=None,
            entity="visit",
            detail={"visits": result.rowcount, "before": before.isoformat()},
        )
    return result.rowcount


# --- Requests ---------------------------------------------------------------------------


async def privacy_request_add(
    session: AsyncSession, *, data: RequestInput, actor_id: int | None, now: datetime
) -> PrivacyRequest:
    """Register a request; its audit event names no personal value."""
    req = PrivacyRequest(
        requester=data.requester,
        contact=data.contact,
        channel=str(data.channel),
        kind=str(data.kind),
        subject=data.subject,
        received_on=data.received_on,
        due_on=data.due_on,
        created_by=actor_id,
        created_at=now,
    )
    session.add(req)
    await session.flush()
    await audit_add(
        session,
        action="privacy_request_created",
        actor_id=actor_id,
        entity="privacy_request",
        entity_id=req.id,
        detail={"kind": req.kind, "channel": req.channel, "due_on": req.due_on.isoformat()},
    )
    return req


async def privacy_request_list(session: AsyncSession) -> list[PrivacyRequest]:
    """Open requests first (soonest due first), then the closed ones, newest first."""
    open_first = (PrivacyRequest.status != RequestStatus.OPEN).label("closed")
    stmt = select(PrivacyRequest).order_by(
        open_first, PrivacyRequest.due_on, PrivacyRequest.id.desc()
    )
    return list((await session.execute(stmt)).scalars())


async def privacy_request_get(session: AsyncSession, *, request_id: int) -> PrivacyRequest | None:
    """One request, or None."""
    return await session.get(PrivacyRequest, request_id)


@dataclass(frozen=True)
class Correction:
    """One customer edit made for a privacy request (from its audit event)."""

    at: datetime
    actor_name: str | None
    customer_id: int | None
    customer_number: str | None
    fields: list[str]


async def privacy_corrections(session: AsyncSession, *, request_id: int) -> list[Correction]:
    """The customer edits whose audit event names this request, oldest first."""
    stmt = (
        select(AuditEvent, User.name, Customer.number)
        .outerjoin(User, User.id == AuditEvent.actor_id)
        .outerjoin(Customer, Customer.id == AuditEvent.entity_id)
        .where(
            AuditEvent.action == "customer_updated",
            AuditEvent.entity == "customer",
            AuditEvent.detail["privacy_request_id"].as_integer() == request_id,
        )
        .order_by(AuditEvent.id)
    )
    return [
        Correction(
            at=event.at,
            actor_name=actor_name,
            customer_id=event.entity_id,
            customer_number=number,
            fields=[str(f) for f in event.detail.get("fields", [])],
        )
        for event, actor_name, number in (await session.execute(stmt)).all()
    ]


async def privacy_requests_overdue(session: AsyncSession, *, today: date) -> list[PrivacyRequest]:
    """Open requests past their due day, oldest due first."""
    stmt = (
        select(PrivacyRequest)
        .where(PrivacyRequest.status == RequestStatus.OPEN, PrivacyRequest.due_on < today)
        .order_by(PrivacyRequest.due_on)
    )
    return list((await session.execute(stmt)).scalars())


async def privacy_request_close(
    session: AsyncSession,
    *,
    req: PrivacyRequest,
    status: RequestStatus,
    reason: str,
    actor_id: int | None,
    now: datetime,
) -> None:
    """Answer or refuse a request with its stated reason."""
    req.status, req.reason, req.closed_at = str(status), reason, now
    session.add(req)
    await audit_add(
        session,
        action=f"privacy_request_{status}",
        actor_id=actor_id,
        entity="privacy_request",
        entity_id=req.id,
        detail={"status": str(status)},
    )


# --- Legal holds and basis ----------------------------------------------------------------


async def legal_hold_get(session: AsyncSession, *, customer_id: int) -> LegalHold | None:
    """The hold on a customer, or None."""
    return await session.get(LegalHold, customer_id)


async def legal_hold_set(
    session: AsyncSession,
    *,
    customer_id: int,
    reason: str | None,
    actor_id: int | None,
    now: datetime,
) -> None:
    """Put a customer under a legal hold with a reason, or lift it (reason None)."""
    hold = await session.get(LegalHold, customer_id)
    if reason is None:
        if hold is not None:
            await session.delete(hold)
    elif hold is None:
        session.add(LegalHold(customer_id=customer_id, reason=reason, set_by=actor_id, set_at=now))
    else:
        hold.reason, hold.set_by, hold.set_at = reason, actor_id, now
        session.add(hold)
    await session.flush()
    await audit_add(
        session,
        action="legal_hold_set" if reason else "legal_hold_lifted",
        actor_id=actor_id,
        entity="customer",
        entity_id=customer_id,
    )


async def data_basis_set(
    session: AsyncSession,
    *,
    customer_id: int,
    basis: str,
    basis_on: date | None,
    actor_id: int | None,
) -> None:
    """Record why the company holds a customer's data."""
    await session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(data_basis=basis, data_basis_on=basis_on)
        .execution_options(synchronize_session=False)
    )
    await audit_add(
        session,
        action="data_basis_set",
        actor_id=actor_id,
        entity="customer",
        entity_id=customer_id,
        detail={"basis": basis, "on": basis_on.isoformat() if basis_on else None},
    )


# --- Find ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonMatch:
    """A customer that matches a person, with how much Kehu holds about them."""

    id: int
    number: str
    name: str
    phone: str
    team_name: str
    data_basis: str
    data_basis_on: date | None
    contacts: int
    visits: int
    events: int
    hold_reason: str | None


def _like(term: str) -> str:
    """A LIKE pattern for a fragment anywhere (wildcards escaped)."""
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


async def privacy_match_get(session: AsyncSession, *, customer_id: int) -> PersonMatch | None:
    """One customer as a match (for the erasure confirmation), or None."""
    found = await privacy_find(session, q="", customer_id=customer_id)
    return found[0] if found else None


async def privacy_find(
    session: AsyncSession, *, q: str, customer_id: int | None = None
) -> list[PersonMatch]:
    """Every customer whose (or whose contact's) phone, in any format, or name matches."""
    q = " ".join(q.split())
    if customer_id is None and len(q) < 2 and not has_cjk(q):
        return []
    conds = [Customer.name.like(_like(q), escape="\\")]
    contact_conds = [Contact.name.like(_like(q), escape="\\")]
    conds.append(Customer.contact_name.like(_like(q), escape="\\"))
    try:
        phone = normalise_phone(q)
    except PhoneError:
        phone = None
    if phone:
        conds.append(Customer.phone == phone)
        contact_conds.append(Contact.phone == phone)
    via_contact = select(Contact.customer_id).where(or_(*contact_conds))
    ids = select(Customer.id).where(or_(*conds, Customer.id.in_(via_contact)))
    if customer_id is not None:
        ids = select(Customer.id).where(Customer.id == customer_id)

    def count(col):
        return select(func.count()).where(col == Customer.id).scalar_subquery()

    events = (
        select(func.count())
        .where(AuditEvent.entity == "customer", AuditEvent.entity_id == Customer.id)
        .scalar_subquery()
    )
    stmt = (
        select(
            Customer.id,
            Customer.number,
            Customer.name,
            Customer.phone,
            Team.name,
            Customer.data_basis,
            Customer.data_basis_on,
            count(Contact.customer_id),
            count(Visit.customer_id),
            events,
            LegalHold.reason,
        )
        .join(Team, Team.id == Customer.team_id)
        .outerjoin(LegalHold, LegalHold.customer_id == Customer.id)
        .where(Customer.id.in_(ids))
        .order_by(Customer.id)
        .limit(MAX_MATCHES)
    )
    with sql_in_thread():
        rows = (await session.execute(stmt)).all()
    return [PersonMatch(*r) for r in rows]


# --- Copy ---------------------------------------------------------------------------------


def _plain(value: object) -> object:
    """A JSON-ready value."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(obj, names: tuple[str, ...]) -> dict:
    """Selected attributes of a row as JSON-ready values."""
    return {n: _plain(getattr(obj, n)) for n in names}


async def privacy_bundle(session: AsyncSession, *, customer_ids: list[int]) -> list[dict]:
    """Everything Kehu holds about the given customers, as plain JSON-ready data."""
    out = []
    for cid in customer_ids:
        c = await session.get(Customer, cid)
        if c is None:
            continue
        contacts = (
            await session.execute(select(Contact).where(Contact.customer_id == cid))
        ).scalars()
        visits = (
            await session.execute(select(Visit).where(Visit.customer_id == cid).order_by(Visit.at))
        ).scalars()
        history = (
            await session.execute(
                select(StageChange).where(StageChange.customer_id == cid).order_by(StageChange.at)
            )
        ).scalars()
        events = await session.execute(
            select(AuditEvent.at, User.name, AuditEvent.action, AuditEvent.detail)
            .outerjoin(User, User.id == AuditEvent.actor_id)
            .where(AuditEvent.entity == "customer", AuditEvent.entity_id == cid)
            .order_by(AuditEvent.at)
        )
        out.append(
            {
                "customer": _row(
                    c,
                    (
                        "number",
                        "name",
                        "kind",
                        "phone",
                        "contact_name",
                        "email",
                        "industry",
                        "needs",
                        "address",
                        "lat",
                        "lng",
                        "tags",
                        "custom",
                        "level",
                        "stage",
                        "status",
                        "data_basis",
                        "data_basis_on",
                        "created_at",
                    ),
                ),
                "contacts": [_row(k, ("name", "role", "phone", "email", "note")) for k in contacts],
                "visits": [
                    _row(
                        v,
                        (
                            "at",
                            "outcome",
                            "method",
                            "note",
                            "feedback",
                            "next_action",
                            "lat",
                            "lng",
                        ),
                    )
                    for v in visits
                ],
                "history": [
                    _row(h, ("at", "from_stage", "to_stage", "from_status", "to_status"))
                    for h in history
                ],
                "events": [
                    {"at": _plain(at), "by": by, "action": action, "detail": detail}
                    for at, by, action, detail in events.all()
                ],
            }
        )
    return out


# --- Erase --------------------------------------------------------------------------------


async def _personal_values(session: AsyncSession, customer_id: int) -> list[str]:
    """Every personal value stored for a customer, from every place that points at it."""
    values: list[str] = []
    for place in PLACES:
        # An import line's cells hold non-personal values too (levels, sources, industries):
        # as needles they would redact unrelated text. Its lines are found by the others.
        if place.by is None or place.cells or not (place.text or place.json):
            continue
        cols = ", ".join((*place.text, *place.json))
        rows = await session.execute(
            text(f"SELECT {cols} FROM {place.table} WHERE {place.by} = :cid"), {"cid": customer_id}
        )
        for row in rows.all():
            for value in row:
                if isinstance(value, str) and value.startswith(("[", "{")):
                    with contextlib.suppress(ValueError):
                        value = json.loads(value)
                values.extend(_strings(value))
    return values


def _strings(value: object) -> list[str]:
    """Every string inside a JSON-like value."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    return []


def _set_clause(place: Place) -> str:
    """The SET list that erases a place's columns (empty text stays empty)."""
    parts = [
        f"{c} = CASE WHEN {c} IS NULL OR {c} = '' THEN {c} ELSE :marker END" for c in place.text
    ]
    parts += [f"{c} = ''" for c in place.blank]
    parts += [f"{c} = NULL" for c in place.null]
    parts += [f"{c} = '{empty}'" for c, empty in place.json.items()]
    return ", ".join(parts)


def _like_any(columns: tuple[str, ...], count: int) -> str:
    """`col LIKE :n0 OR ...` over columns and needle parameters."""
    return " OR ".join(f"{c} LIKE :n{i} ESCAPE '\\'" for c in columns for i in range(count))


async def customer_erase(
    session: AsyncSession,
    *,
    customer_id: int,
    request_id: int | None,
    actor_id: int | None,
    now: datetime,
) -> dict[str, int]:
    """Replace a customer's personal data with the marker everywhere it lives; counts.

    Raises ErasureRefused under a legal hold. Non-personal facts stay (the customer
    number, levels, stages, visit outcomes and times), so reports still add up. The
    erasure is audited by counts only. The caller commits, then calls
    `privacy_scrub_files` so old page copies leave the WAL and free pages.
    """
    hold = await legal_hold_get(session, customer_id=customer_id)
    refusal = erasure_refusal(hold.reason if hold else None)
    if refusal:
        raise ErasureRefused(refusal)
    sqlite = session.bind is not None and session.bind.dialect.name == "sqlite"
    if sqlite:
        # Freed pages and cells are overwritten with zeros, not left for a hex editor.
        await session.execute(text("PRAGMA secure_delete = ON"))
    found = needles(await _personal_values(session, customer_id))
    # JSON details store non-ASCII as \\uXXXX escapes: look for both spellings.
    patterns = sorted({p for n in found for p in (n, json.dumps(n)[1:-1])})
    likes = {f"n{i}": _like(p) for i, p in enumerate(patterns)}
    counts: dict[str, int] = {}
    visit_ids = list(
        (await session.execute(select(Visit.id).where(Visit.customer_id == customer_id))).scalars()
    )
    for place in PLACES:
        if place.cells:
            counts[place.table] = await _cells_erase(session, place, customer_id, found)
            continue
        if place.files:
            counts[place.table] = await _files_erase(session, place, found, likes)
            continue
        clause = _set_clause(place)
        if not clause:
            continue
        if place.by is not None:
            where, params = f"{place.by} = :cid", {"cid": customer_id}
        elif likes:
            where, params = _like_any(place.text, len(likes)), likes
        else:
            continue
        if place.by is None:
            # Found by value: only the columns holding a value are redacted, row by row.
            rows = await session.execute(
                text(f"SELECT id, {', '.join(place.text)} FROM {place.table} WHERE {where}"), params
            )
            n = 0
            for row_id, *values in rows.all():
                sets = {c: redact(v, found) for c, v in zip(place.text, values, strict=True)}
                assign = ", ".join(f"{c} = :{c}" for c in sets)
                await session.execute(
                    text(f"UPDATE {place.table} SET {assign} WHERE id = :rid"),
                    {**sets, "rid": row_id},
                )
                n += 1
            counts[place.table] = n
            continue
        result = await session.execute(
            text(f"UPDATE {place.table} SET {clause} WHERE {where}"), {**params, "marker": ERASED}
        )
        counts[place.table] = result.rowcount
    await session.execute(
        update(Customer)
        .where(Customer.id == customer_id)
        .values(version=Customer.version + 1, updated_at=now, data_basis="", data_basis_on=None)
        .execution_options(synchronize_session=False)
    )
    # Audit details: events about the customer or its visits, and any that quote a value.
    about = or_(
        (AuditEvent.entity == "customer") & (AuditEvent.entity_id == customer_id),
        (AuditEvent.entity == "visit") & AuditEvent.entity_id.in_(visit_ids or [-1]),
    )
    ids = set((await session.execute(select(AuditEvent.id).where(about))).scalars())
    if likes:
        quoting = text(
            f"SELECT id FROM audit_event WHERE {_like_any(('CAST(detail AS TEXT)',), len(likes))}"
        )
        with sql_in_thread():
            ids |= set((await session.execute(quoting, likes)).scalars())
    counts["audit_event"] = await audit_redact(
        session, event_ids=ids, found=found, actor_id=actor_id, request_id=request_id
    )
    if sqlite:
        # FTS5 keeps deleted tokens in old segments until they merge: merge them now.
        await session.execute(text("INSERT INTO customer_fts (customer_fts) VALUES ('optimize')"))
    session.expire_all()
    await audit_add(
        session,
        action="customer_erased",
        actor_id=actor_id,
        entity="customer",
        entity_id=customer_id,
        detail={"request_id": request_id, "counts": counts},
    )
    return counts


async def _cells_erase(
    session: AsyncSession, place: Place, customer_id: int, found: list[str]
) -> int:
    """Blank every line (all its cells) that points at the customer or holds a value of
    the person, and empty its `json` columns; how many lines. Jobs whose lines held the
    person are remembered on the session for the file step.

    Cells are scanned in Python, in id order and batches: a phone typed as
    "139 1234 5678" in a sheet matches by its digits, which SQL LIKE cannot see.
    """
    cols = ", ".join(place.cells)
    jobs: set[int] = session.info.setdefault(_ERASED_JOBS, set())
    changed, after = 0, 0
    while True:
        sql = (f"SELECT id, job_id, {place.by}, {cols} FROM {place.table} WHERE id > :after "
               f"ORDER BY id LIMIT {SCAN_BATCH}")  # fmt: skip
        with sql_in_thread():
            rows = (await session.execute(text(sql), {"after": after})).all()
        if not rows:
            return changed
        after = rows[-1][0]
        for row_id, job_id, owner, *values in rows:
            lists = [_json_list(v) for v in values]
            if owner != customer_id and redact(lists, found) == lists:
                continue
            sets = {c: json.dumps([ERASED if cell else cell for cell in cells])
                    for c, cells in zip(place.cells, lists, strict=True)}  # fmt: skip
            sets |= dict(place.json)
            assign = ", ".join(f"{c} = :{c}" for c in sets)
            await session.execute(
                text(f"UPDATE {place.table} SET {assign} WHERE id = :rid"), {**sets, "rid": row_id}
            )
            jobs.add(job_id)
            changed += 1


_ERASED_JOBS = "kehu_privacy_erased_jobs"  # session.info: jobs whose lines held the person
SCAN_BATCH = 2000


def _json_list(value: object) -> list:
    """A JSON list column's value as a list (the driver may hand over its text)."""
    if isinstance(value, str):
        with contextlib.suppress(ValueError):
            value = json.loads(value)
    return [str(v) for v in value] if isinstance(value, list) else []


async def _files_erase(
    session: AsyncSession, place: Place, found: list[str], likes: dict[str, str]
) -> int:
    """Drop each stored file that holds the person (or whose lines did); redact the place's
    text columns (the file's name) by value. How many rows changed."""
    jobs: set[int] = session.info.pop(_ERASED_JOBS, set())
    ((blob, flag),) = place.files.items()
    changed: set[int] = set()
    after = 0
    while True:
        sql = (f"SELECT id, {blob}, {', '.join(place.text)} FROM {place.table} "
               f"WHERE id > :after AND {flag} = :no ORDER BY id LIMIT 20")  # fmt: skip
        rows = (await session.execute(text(sql), {"after": after, "no": False})).all()
        if not rows:
            break
        after = rows[-1][0]
        for row_id, data, *names in rows:
            named = [redact(n, found) for n in names]
            mentions = row_id in jobs or file_mentions(bytes(data or b""), found)
            if not mentions and named == names:
                continue
            sets: dict[str, object] = dict(zip(place.text, named, strict=True))
            if mentions:
                sets |= {blob: b"", flag: True}
            assign = ", ".join(f"{c} = :{c}" for c in sets)
            await session.execute(
                text(f"UPDATE {place.table} SET {assign} WHERE id = :rid"), {**sets, "rid": row_id}
            )
            changed.add(row_id)
    return len(changed)


async def privacy_scrub_files(session: AsyncSession) -> None:
    """After an erasure commits: move the WAL into the database file and empty it (SQLite)."""
    if session.bind is not None and session.bind.dialect.name == "sqlite":
        await session.execute(text("PRAGMA wal_checkpoint(TRUNCATE)"))
        await session.commit()


async def privacy_retention_run(session: AsyncSession, *, now: datetime) -> int:
    """Drop visit locations older than the admin-set period; how many visits lost theirs."""
    s = await privacy_settings_get(session)
    return await visit_locations_drop(
        session, before=retention_cutoff(now, s.location_retention_days)
    )
