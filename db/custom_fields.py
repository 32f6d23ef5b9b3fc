"""Admin-defined customer fields: list, add, change, retire."""

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.audit import audit_add
from db.models import Customer, CustomFieldDefinition
from db.reads import rows
from domain.customers import CustomFieldDef


async def custom_field_list(
    session: AsyncSession, *, include_retired: bool = False
) -> list[CustomFieldDefinition]:
    """Return the defined fields in form order (only active ones unless asked)."""
    stmt = select(CustomFieldDefinition).order_by(
        CustomFieldDefinition.position, CustomFieldDefinition.id
    )
    if not include_retired:
        stmt = stmt.where(CustomFieldDefinition.active)
    return list((await session.execute(stmt)).scalars())


# Built once, read as columns (issue 17): every customer page and form needs the active ones.
_ACTIVE_DEFS = (
    select(
        CustomFieldDefinition.key,
        CustomFieldDefinition.label_en,
        CustomFieldDefinition.label_zh,
        CustomFieldDefinition.kind,
        CustomFieldDefinition.required,
        CustomFieldDefinition.choices,
    )
    .where(CustomFieldDefinition.active)
    .order_by(CustomFieldDefinition.position, CustomFieldDefinition.id)
)


async def custom_field_defs_active(session: AsyncSession) -> list[CustomFieldDef]:
    """The active fields in form order as the domain's CustomFieldDef (a customer's form)."""
    return custom_field_defs(await rows(session, _ACTIVE_DEFS, {}))


def custom_field_defs(found: Sequence) -> list[CustomFieldDef]:
    """Turn stored definitions into the domain's CustomFieldDef (skipping broken rows)."""
    defs = []
    for row in found:
        try:
            defs.append(
                CustomFieldDef(
                    key=row.key,
                    label_en=row.label_en,
                    label_zh=row.label_zh,
                    kind=row.kind,
                    required=row.required,
                    choices=tuple(row.choices or ()),
                )
            )
        except ValueError:
            continue
    return defs


async def custom_field_get(session: AsyncSession, *, field_id: int) -> CustomFieldDefinition | None:
    """Return one definition by id."""
    return await session.get(CustomFieldDefinition, field_id)


async def custom_field_key_taken(session: AsyncSession, *, key: str) -> bool:
    """Return whether a field (active or retired) already uses a key."""
    stmt = select(func.count()).where(CustomFieldDefinition.key == key)
    return (await session.execute(stmt)).scalar_one() > 0


async def _audit(
    session: AsyncSession,
    action: str,
    row: CustomFieldDefinition,
    *,
    user_id: int | None,
    ip: str,
) -> None:
    """Record a change to a field definition in the audit trail."""
    await audit_add(
        session,
        action=action,
        actor_id=user_id,
        entity="custom_field",
        entity_id=row.id,
        detail={"key": row.key},
        ip=ip,
    )


async def custom_field_add(
    session: AsyncSession, *, definition: CustomFieldDef, user_id: int | None, ip: str = ""
) -> CustomFieldDefinition:
    """Define a new field, placed after the existing ones."""
    last = (
        await session.execute(select(func.max(CustomFieldDefinition.position)))
    ).scalar_one_or_none()
    row = CustomFieldDefinition(
        key=definition.key,
        label_en=definition.label_en,
        label_zh=definition.label_zh,
        kind=str(definition.kind),
        required=definition.required,
        choices=list(definition.choices),
        position=(last or 0) + 1,
    )
    session.add(row)
    await session.flush()
    await _audit(session, "custom_field_added", row, user_id=user_id, ip=ip)
    return row


async def custom_field_update(
    session: AsyncSession,
    *,
    row: CustomFieldDefinition,
    definition: CustomFieldDef,
    user_id: int | None,
    ip: str = "",
) -> None:
    """Change a field's labels, kind, required flag and choices (the key stays)."""
    row.label_en = definition.label_en
    row.label_zh = definition.label_zh
    row.kind = str(definition.kind)
    row.required = definition.required
    row.choices = list(definition.choices)
    row.active = True
    session.add(row)
    await session.flush()
    await _audit(session, "custom_field_updated", row, user_id=user_id, ip=ip)


async def custom_field_retire(
    session: AsyncSession, *, row: CustomFieldDefinition, user_id: int | None, ip: str = ""
) -> None:
    """Hide a field from forms and pages; stored values stay and return if it is restored."""
    row.active = False
    session.add(row)
    await session.flush()
    await _audit(session, "custom_field_retired", row, user_id=user_id, ip=ip)


@dataclass(frozen=True)
class MissingValues:
    """Customers with no value for a required field: how many, and the first few."""

    count: int
    customers: list[tuple[int, str, str]]  # (id, number, name)


def _missing(key: str):
    """SQL: the customer has no (or a blank) value for custom field `key` (JSON, portable)."""
    value = Customer.custom[key].as_string()
    return or_(value.is_(None), func.trim(value) == "")


async def custom_field_missing(
    session: AsyncSession, *, keys: list[str], limit: int = 20
) -> dict[str, MissingValues]:
    """For each required field key, the customers that lack a value (made required later)."""
    found = {}
    for key in keys:
        count = (await session.execute(select(func.count()).where(_missing(key)))).scalar_one()
        rows = (
            await session.execute(
                select(Customer.id, Customer.number, Customer.name)
                .where(_missing(key))
                .order_by(Customer.id)
                .limit(limit)
            )
        ).all()
        found[key] = MissingValues(int(count), [tuple(r) for r in rows])
    return found
