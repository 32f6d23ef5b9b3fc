"""Visit outcomes and follow-up cadence: the admin-editable lists that visits use."""

from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Cadence, Outcome
from db.reads import rows
from domain.cadence import DEFAULT_CADENCE_DAYS
from domain.enums import Level
from domain.visits import OutcomeInput


@dataclass(frozen=True)
class OutcomeView:
    """An outcome ready to render as a button or a label."""

    code: str
    label_en: str
    label_zh: str
    method: str
    asks_amount: bool
    position: int
    active: bool

    def label(self, locale: str) -> str:
        """Return the label in the user's language."""
        return self.label_zh if locale == "zh_CN" else self.label_en


# Built once, read as columns (issue 17): the customer page lists the outcomes on every view.
_ALL = select(
    Outcome.code,
    Outcome.label_en,
    Outcome.label_zh,
    Outcome.method,
    Outcome.asks_amount,
    Outcome.position,
    Outcome.active,
).order_by(Outcome.position, Outcome.code)
_ACTIVE = _ALL.where(Outcome.active)


def _editable(data: OutcomeInput) -> dict:
    """The columns an admin sets on an outcome (all but its code)."""
    return {
        "label_en": data.label_en,
        "label_zh": data.label_zh,
        "method": data.method,
        "asks_amount": data.asks_amount,
        "position": data.position,
        "active": data.active,
    }


async def outcome_list(session: AsyncSession, *, active_only: bool = True) -> list[OutcomeView]:
    """Return the outcomes in display order (active ones only, unless asked)."""
    return [OutcomeView(*r) for r in await rows(session, _ACTIVE if active_only else _ALL, {})]


async def outcome_codes(session: AsyncSession) -> set[str]:
    """Return every outcome code in use (active or not)."""
    return set((await session.execute(select(Outcome.code))).scalars())


async def outcome_add(session: AsyncSession, *, data: OutcomeInput) -> None:
    """Add a new outcome."""
    session.add(Outcome(code=data.code, **_editable(data)))
    await session.flush()


async def outcome_update(session: AsyncSession, *, code: str, data: OutcomeInput) -> bool:
    """Change an outcome's labels, method, amount question, position and activity."""
    result = await session.execute(
        update(Outcome).where(Outcome.code == code).values(**_editable(data))
    )
    return bool(result.rowcount)


async def _cadence_rows(session: AsyncSession) -> dict[str, int]:
    """The cadence table as stored: days by level code (levels may be missing)."""
    return dict((await session.execute(select(Cadence.level, Cadence.days))).all())


async def cadence_get(session: AsyncSession) -> dict[Level, int]:
    """Return the follow-up cadence: days per level, defaults for levels missing from the table.

    The one reader of the cadence (visits, new customers, the Team page and the report).
    """
    return _with_defaults(await _cadence_rows(session))


def _with_defaults(rows: Mapping[str, int]) -> dict[Level, int]:
    """Days per level from stored rows, the default days where a level has no row."""
    return {level: rows.get(level.value, days) for level, days in DEFAULT_CADENCE_DAYS.items()}


async def cadence_set(session: AsyncSession, *, days: Mapping[str, int]) -> dict[str, tuple]:
    """Store days per level; return what changed as level code -> (old, new)."""
    stored = await _cadence_rows(session)
    current = _with_defaults(stored)
    changed: dict[str, tuple] = {}
    for level, value in days.items():
        code = str(level)
        old = current.get(code)
        if code not in stored:
            session.add(Cadence(level=code, days=value))
        elif old != value:
            await session.execute(update(Cadence).where(Cadence.level == code).values(days=value))
        if old != value:
            changed[code] = (old, value)
    await session.flush()
    return changed
