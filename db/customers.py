"""Customers: numbers, duplicates, create, update, the customer page, the list, contacts."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import ColumnElement, Row, Select, bindparam, select, text, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.custom_fields import custom_field_defs_active
from db.models import Contact, Customer, StageChange, Team, User
from db.outcomes import cadence_get
from db.reads import flushed_connection, per_actor
from db.reads import rows as read_rows
from db.types import utcnow
from db.visibility import visible_customers
from domain.cadence import next_follow_up
from domain.contacts import ContactInput
from domain.customers import CustomerInput, CustomFieldDef, customer_number, derived_fields
from domain.duplicates import DuplicateMatch
from domain.enums import Level, Role
from domain.names import name_key
from domain.ownership import OWNER_ROLES, Candidate
from domain.users import Actor

# The customer fields a person edits on the form, compared one by one for conflicts.
# Custom fields are compared as "custom_<key>" entries next to these.
EDITABLE_FIELDS: tuple[str, ...] = (
    "name",
    "kind",
    "phone",
    "level",
    "source",
    "contact_name",
    "email",
    "industry",
    "needs",
    "address",
    "lat",
    "lng",
    "expected_amount_cents",
    "status",
    "loss_reason",
    "stage",
    "tags",
    "owner_id",
)
CUSTOM_PREFIX = "custom_"


# --- Numbers -------------------------------------------------------------------------

_NEXT_NUMBER_SQL = text(
    "INSERT INTO customer_number_counter (period, last) VALUES (:period, 1) "
    "ON CONFLICT (period) DO UPDATE SET last = customer_number_counter.last + 1 "
    "RETURNING last"
)


async def customer_number_next(session: AsyncSession, *, year: int, month: int) -> str:
    """Hand out the next customer number of a month (C202611001, C202611002 ...).

    One atomic upsert on the month's counter row: concurrent creates queue on the row (on
    SQLite, on the write lock) and each gets its own number; a rolled-back create gives
    its number back, so committed numbers have no gaps.
    """
    period = f"{year:04d}{month:02d}"
    seq = (await session.execute(_NEXT_NUMBER_SQL, {"period": period})).scalar_one()
    return customer_number(year, month, seq)


_RESERVE_NUMBERS_SQL = text(
    "INSERT INTO customer_number_counter (period, last) VALUES (:period, :count) "
    "ON CONFLICT (period) DO UPDATE SET last = customer_number_counter.last + :count "
    "RETURNING last"
)


async def customer_numbers_reserve(
    session: AsyncSession, *, year: int, month: int, count: int
) -> list[str]:
    """Hand out the next `count` numbers of a month at once, in order (a bulk import's batch).

    The same counter row as customer_number_next, moved by `count` in one upsert: the block
    is ours alone, and a rollback gives all of it back, so numbers stay gapless.
    """
    if count <= 0:
        return []
    period = f"{year:04d}{month:02d}"
    params = {"period": period, "count": count}
    last = (await session.execute(_RESERVE_NUMBERS_SQL, params)).scalar_one()
    return [customer_number(year, month, seq) for seq in range(last - count + 1, last + 1)]


# --- Duplicates ----------------------------------------------------------------------


class DuplicateCustomer(Exception):
    """Saving would create a second record of an existing customer."""

    def __init__(self, matches: list[DuplicateMatch]) -> None:
        """Keep the matching customers for the caller to show (or not)."""
        super().__init__(f"{len(matches)} existing customer(s) match")
        self.matches = matches


async def customer_duplicates(
    session: AsyncSession,
    *,
    phone: str,
    name: str,
    exclude_id: int | None = None,
    limit: int = 10,
) -> list[DuplicateMatch]:
    """Return customers of the whole company with the same phone or the same name key.

    Not limited by visibility: the caller decides what the user may be shown, but a
    duplicate in another team still counts.
    """
    key = name_key(name)
    match = Customer.phone == phone
    if key:
        match = match | (Customer.name_key == key)
    stmt = (
        select(
            Customer.id,
            Customer.number,
            Customer.name,
            Customer.phone,
            Customer.team_id,
            Customer.owner_id,
            Customer.name_key,
            User.name,
        )
        .outerjoin(User, User.id == Customer.owner_id)
        .where(match)
        .order_by(Customer.id)
        .limit(limit)
    )
    if exclude_id is not None:
        stmt = stmt.where(Customer.id != exclude_id)
    rows = (await session.execute(stmt)).all()
    return [
        DuplicateMatch(
            id=r[0],
            number=r[1],
            name=r[2],
            phone=r[3],
            team_id=r[4],
            owner_id=r[5],
            owner_name=r[7],
            same_phone=bool(phone) and r[3] == phone,
            same_name=bool(key) and r[6] == key,
        )
        for r in rows
    ]


# --- Create ----------------------------------------------------------------------------


def _stored_fields(data: CustomerInput) -> dict:
    """Return the columns a validated form sets, with the derived search columns."""
    return {
        "name": data.name,
        "kind": str(data.kind),
        "phone": data.phone,
        "level": str(data.level),
        "source": str(data.source),
        "contact_name": data.contact_name,
        "email": data.email,
        "industry": data.industry,
        "needs": data.needs,
        "address": data.address,
        "lat": data.lat,
        "lng": data.lng,
        "expected_amount_cents": data.expected_amount_cents,
        "status": str(data.status),
        "loss_reason": str(data.loss_reason) if data.loss_reason else None,
        "stage": str(data.stage),
        "tags": list(data.tags),
        "custom": dict(data.custom),
        **derived_fields(data.name, data.phone),
    }


def customer_insert_values(
    *,
    data: CustomerInput,
    number: str,
    team_id: int,
    owner_id: int | None,
    created_by: int | None,
    now: datetime,
    follow_up_on: date,
) -> dict:
    """The new customer's columns as customer_create stores them (derived search columns
    included), as a plain dict: the import's bulk path inserts thousands with one Core
    INSERT and builds no model object per row."""
    return {
        "number": number,
        "team_id": team_id,
        "owner_id": owner_id,
        "created_by": created_by,
        "created_at": now,
        "updated_at": now,
        "next_follow_up_on": follow_up_on,
        **_stored_fields(data),
    }


def customer_build(
    *,
    data: CustomerInput,
    number: str,
    team_id: int,
    owner_id: int | None,
    created_by: int | None,
    now: datetime,
    follow_up_on: date,
) -> Customer:
    """The new Customer row as customer_create stores it (derived search columns included).

    Not added to a session.
    """
    return Customer(
        **customer_insert_values(
            data=data, number=number, team_id=team_id, owner_id=owner_id,
            created_by=created_by, now=now, follow_up_on=follow_up_on,
        )
    )  # fmt: skip


async def customer_create(
    session: AsyncSession,
    *,
    data: CustomerInput,
    team_id: int,
    owner_id: int | None,
    created_by: int | None,
    today: date,
    now: datetime | None = None,
    allow_duplicate: bool = False,
    ip: str = "",
) -> Customer:
    """Create a customer with the next number of `today`'s month; raise DuplicateCustomer.

    The number is taken first: that takes the write lock, so the duplicate check after it
    cannot race another create of the same customer. The caller rolls back on
    DuplicateCustomer (which also returns the number). The first follow-up is due one
    cadence (admin-set, per level) after `today`. Records the first stage/status in the
    history and a "customer_created" audit event.
    """
    now = now or utcnow()
    number = await customer_number_next(session, year=today.year, month=today.month)
    if not allow_duplicate:
        matches = await customer_duplicates(session, phone=data.phone, name=data.name)
        if matches:
            raise DuplicateCustomer(matches)
    follow_up = next_follow_up(today, Level(data.level), await cadence_get(session))
    customer = customer_build(
        data=data, number=number, team_id=team_id, owner_id=owner_id,
        created_by=created_by, now=now, follow_up_on=follow_up,
    )  # fmt: skip
    session.add(customer)
    await session.flush()
    session.add(
        StageChange(
            customer_id=customer.id,
            user_id=created_by,
            at=now,
            from_stage=None,
            to_stage=customer.stage,
            from_status=None,
            to_status=customer.status,
            reason=customer.loss_reason,
        )
    )
    await audit_add(
        session,
        action="customer_created",
        actor_id=created_by,
        entity="customer",
        entity_id=customer.id,
        detail={"number": number, "duplicate_confirmed": allow_duplicate},
        ip=ip,
    )
    return customer


# --- Values for editing and conflicts ------------------------------------------------------


def customer_values(customer: Customer, definitions: Iterable[CustomFieldDef]) -> dict:
    """Return a customer's editable values, custom fields flattened to "custom_<key>"."""
    values = {name: getattr(customer, name) for name in EDITABLE_FIELDS}
    values["tags"] = list(customer.tags or [])
    for d in definitions:
        values[CUSTOM_PREFIX + d.key] = (customer.custom or {}).get(d.key)
    return values


def input_values(
    data: CustomerInput, definitions: Iterable[CustomFieldDef], *, owner_id: int | None
) -> dict:
    """Return a validated form as the same flat dict as customer_values."""
    stored = _stored_fields(data)
    values = {name: stored[name] for name in EDITABLE_FIELDS if name != "owner_id"}
    values["owner_id"] = owner_id
    for d in definitions:
        values[CUSTOM_PREFIX + d.key] = data.custom.get(d.key)
    return values


# --- Update ----------------------------------------------------------------------------------


async def customer_update(
    session: AsyncSession,
    *,
    customer: Customer,
    changes: Mapping[str, object],
    user_id: int | None,
    now: datetime | None = None,
    ip: str = "",
    privacy_request_id: int | None = None,
) -> bool:
    """Apply changed fields (flat names, as customer_values) if nobody saved in between.

    Returns False, changing nothing, when the stored version is no longer the
    customer's version (a concurrent save won). Records stage/status history and the
    "customer_updated" / "customer_owner_changed" audit events; a correction asked for
    in a privacy request names it (`privacy_request_id`).
    """
    if not changes:
        return True
    now = now or utcnow()
    values: dict[str, object] = {}
    custom = dict(customer.custom or {})
    for name, value in changes.items():
        if name.startswith(CUSTOM_PREFIX):
            key = name[len(CUSTOM_PREFIX) :]
            if value is None:
                custom.pop(key, None)
            else:
                custom[key] = value
            values["custom"] = custom
        elif name in EDITABLE_FIELDS:
            values[name] = value
    if "name" in values or "phone" in values:
        values.update(
            derived_fields(
                str(values.get("name", customer.name)), str(values.get("phone", customer.phone))
            )
        )
    stmt = (
        update(Customer)
        .where(Customer.id == customer.id, Customer.version == customer.version)
        .values(**values, version=customer.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    result = await session.execute(stmt)
    if result.rowcount != 1:
        return False
    stage_changed = "stage" in values and values["stage"] != customer.stage
    status_changed = "status" in values and values["status"] != customer.status
    if stage_changed or status_changed:
        session.add(
            StageChange(
                customer_id=customer.id,
                user_id=user_id,
                at=now,
                from_stage=customer.stage if stage_changed else None,
                to_stage=str(values["stage"]) if stage_changed else None,
                from_status=customer.status if status_changed else None,
                to_status=str(values["status"]) if status_changed else None,
                reason=str(values.get("loss_reason") or "") or None
                if status_changed and values["status"] == "lost"
                else None,
            )
        )
    await audit_add(
        session,
        action="customer_updated",
        actor_id=user_id,
        entity="customer",
        entity_id=customer.id,
        # Names only: the audit log is append-only, personal data must stay erasable.
        detail={
            "fields": sorted(changes),
            "version": customer.version + 1,
            **({"privacy_request_id": privacy_request_id} if privacy_request_id else {}),
        },
        ip=ip,
    )
    if "owner_id" in changes and changes["owner_id"] != customer.owner_id:
        await audit_add(
            session,
            action="customer_owner_changed",
            actor_id=user_id,
            entity="customer",
            entity_id=customer.id,
            detail={"from": customer.owner_id, "to": changes["owner_id"]},
            ip=ip,
        )
    return True


# --- Reading --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CustomerPage:
    """Everything the customer page shows, loaded up front (rows, no ORM objects)."""

    # The customer's columns by name (c.name, c.tags, c.custom ...), as a read-only row.
    customer: Row
    owner_name: str | None
    team_name: str
    contacts: list[Row]
    fields: list[CustomFieldDef]


_CUSTOMERS = Customer.__table__
_OWNER_NAME = "p_owner_name"  # labels that no customer column has
_TEAM_NAME = "p_team_name"


def _customer_page_select(actor: Actor) -> Select:
    """The customer page's first SELECT for a kind of actor (built once each, see db.reads).

    Columns, not a Customer entity: the page only reads the values, and loading an ORM
    object (identity map, instance state, attribute instrumentation) cost more than the
    statement (issue 17).
    """
    return (
        select(_CUSTOMERS, User.name.label(_OWNER_NAME), Team.name.label(_TEAM_NAME))
        .join(Team, Team.id == _CUSTOMERS.c.team_id)
        .outerjoin(User, User.id == _CUSTOMERS.c.owner_id)
        .where(_CUSTOMERS.c.id == bindparam("p_customer_id"), visible_customers(actor))
    )


_customer_page = per_actor(_customer_page_select)


async def customer_page(
    session: AsyncSession, *, actor: Actor, customer_id: int
) -> CustomerPage | None:
    """Load a customer with owner, team, contacts and custom field definitions (3 queries).

    Every statement is built once (the customer's per kind of actor) and runs as Core on
    the session's connection; the customer and its contacts come back as rows.
    """
    await flushed_connection(session)  # as the ORM's autoflush did; Core reads do not
    stmt, params = _customer_page(actor)
    found = await read_rows(session, stmt, {**params, "p_customer_id": customer_id})
    if not found:
        return None
    row = found[0]
    return CustomerPage(
        customer=row,
        owner_name=getattr(row, _OWNER_NAME),
        team_name=getattr(row, _TEAM_NAME),
        contacts=await contact_list(session, customer_id=customer_id),
        fields=await custom_field_defs_active(session),
    )


@dataclass(frozen=True)
class CustomerRow:
    """One customer line: the list, search results, the counter lookup (and Today's lines)."""

    id: int
    number: str
    name: str
    level: str
    stage: str
    status: str
    phone: str
    owner_id: int | None
    owner_name: str | None
    last_visit_at: datetime | None
    next_follow_up_on: date | None
    rank: int = 0  # search only: how well the line matches the query (0 best)


# The columns of a CustomerRow, in field order; the owner's name needs User outer-joined.
CUSTOMER_ROW_COLUMNS = (
    Customer.id,
    Customer.number,
    Customer.name,
    Customer.level,
    Customer.stage,
    Customer.status,
    Customer.phone,
    Customer.owner_id,
    User.name,
    Customer.last_visit_at,
    Customer.next_follow_up_on,
)


def customer_row_select(*extra) -> Select:
    """SELECT a CustomerRow's columns (owner joined), followed by `extra` ones such as a rank."""
    return select(*CUSTOMER_ROW_COLUMNS, *extra).outerjoin(User, User.id == Customer.owner_id)


def customer_rows(rows: Iterable[Sequence]) -> list[CustomerRow]:
    """Turn result rows of customer_row_select() into CustomerRows."""
    return [CustomerRow(*r) for r in rows]


async def customer_list(
    session: AsyncSession, *, actor: Actor, page: int = 1, per_page: int = 50
) -> tuple[list[CustomerRow], bool]:
    """Return one page of the customers the actor sees, and whether more follow.

    Ordered by next follow-up day (customers nobody has planned a follow-up for come
    first), then newest first.
    """
    # A page past the end is empty; the bound keeps OFFSET inside SQLite's 64-bit integers.
    page = min(max(1, page), 2**62 // per_page)
    stmt = (
        customer_row_select()
        .where(visible_customers(actor))
        .order_by(Customer.next_follow_up_on, Customer.id)
        .limit(per_page + 1)
        .offset((page - 1) * per_page)
    )
    rows = (await session.execute(stmt)).all()
    return customer_rows(rows[:per_page]), len(rows) > per_page


# --- Owners and teams for the form ---------------------------------------------------------------


@dataclass(frozen=True)
class OwnerChoice:
    """A user the form offers as a customer's owner."""

    id: int
    name: str
    role: str
    team_id: int | None
    team_name: str


def _may_own() -> ColumnElement[bool]:
    """The users who can own customers: active reps, managers and clerks."""
    return User.active & User.role.in_([r.value for r in OWNER_ROLES])


async def customer_owner_choices(
    session: AsyncSession, *, team_id: int | None, include_id: int | None = None
) -> list[OwnerChoice]:
    """Return the active users of a team (of every team when None) who can own customers.

    `include_id` adds a customer's current owner even when they no longer qualify (left
    the team, deactivated), so an edit form shows who owns it instead of a wrong default.
    """
    qualifies = _may_own()
    if team_id is not None:
        qualifies = qualifies & (User.team_id == team_id)
    if include_id is not None:
        qualifies = qualifies | (User.id == include_id)
    stmt = (
        select(User.id, User.name, User.role, User.team_id, Team.name)
        .outerjoin(Team, Team.id == User.team_id)
        .where(qualifies)
        .order_by(Team.name, User.name)
    )
    return [OwnerChoice(r[0], r[1], r[2], r[3], r[4] or "") for r in (await session.execute(stmt))]


async def customer_owner_get(session: AsyncSession, *, user_id: int | None) -> Candidate | None:
    """Return a user who can own customers, as the ownership rules see them (else None)."""
    if user_id is None:
        return None
    stmt = select(User.id, User.role, User.team_id).where(User.id == user_id, _may_own())
    row = (await session.execute(stmt)).first()
    return Candidate(id=row[0], role=Role(row[1]), team_id=row[2]) if row else None


async def customer_team_choices(session: AsyncSession) -> list[tuple[int, str]]:
    """Return every team as (id, name), for an admin choosing a new customer's team."""
    rows = (await session.execute(select(Team.id, Team.name).order_by(Team.name))).all()
    return [(r[0], r[1]) for r in rows]


# --- Contacts ---------------------------------------------------------------------------------


# Built once: the customer page lists the contacts on every view.
_CONTACT_LIST = (
    select(Contact.__table__)
    .where(Contact.__table__.c.customer_id == bindparam("p_customer_id"))
    .order_by(Contact.__table__.c.id)
)


async def contact_list(session: AsyncSession, *, customer_id: int) -> list[Row]:
    """Return a customer's contacts in the order they were added, as rows (Core).

    The customer page and the contacts list only read them; contact_get loads the one
    contact a form changes as an ORM object.
    """
    return list(await read_rows(session, _CONTACT_LIST, {"p_customer_id": customer_id}))


async def contact_get(
    session: AsyncSession, *, customer_id: int, contact_id: int
) -> Contact | None:
    """Return one contact of a customer (None when it belongs to another customer)."""
    stmt = select(Contact).where(Contact.id == contact_id, Contact.customer_id == customer_id)
    return (await session.execute(stmt)).scalar_one_or_none()


def _contact_fields(data: ContactInput) -> dict:
    """Return the columns a validated contact form sets."""
    return {
        "name": data.name,
        "role": str(data.role),
        "phone": data.phone,
        "email": data.email,
        "note": data.note,
    }


async def _contact_audit(
    session: AsyncSession, action: str, contact: Contact, *, user_id: int | None, ip: str
) -> None:
    """Record a change to a contact in the customer's audit trail (ids only, no personal data)."""
    await audit_add(
        session,
        action=action,
        actor_id=user_id,
        entity="customer",
        entity_id=contact.customer_id,
        detail={"contact_id": contact.id},
        ip=ip,
    )


async def contact_add(
    session: AsyncSession,
    *,
    customer_id: int,
    data: ContactInput,
    user_id: int | None,
    now: datetime | None = None,
    ip: str = "",
) -> Contact:
    """Add a contact to a customer (its name becomes searchable in the same transaction)."""
    now = now or utcnow()
    contact = Contact(
        customer_id=customer_id, created_at=now, updated_at=now, **_contact_fields(data)
    )
    session.add(contact)
    await session.flush()
    await _contact_audit(session, "contact_added", contact, user_id=user_id, ip=ip)
    return contact


async def contact_update(
    session: AsyncSession,
    *,
    contact: Contact,
    data: ContactInput,
    user_id: int | None,
    now: datetime | None = None,
    ip: str = "",
) -> None:
    """Change a contact."""
    for name, value in _contact_fields(data).items():
        setattr(contact, name, value)
    contact.updated_at = now or utcnow()
    session.add(contact)
    await session.flush()
    await _contact_audit(session, "contact_updated", contact, user_id=user_id, ip=ip)


async def contact_delete(
    session: AsyncSession, *, contact: Contact, user_id: int | None, ip: str = ""
) -> None:
    """Remove a contact from its customer."""
    await _contact_audit(session, "contact_removed", contact, user_id=user_id, ip=ip)
    await session.delete(contact)
    await session.flush()
