"""Visit outcomes and follow-up cadence: the admin-editable lists that visits use."""

from dataclasses import dataclass

from sqlalchemy import select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Cadence, Outcome
from domain.cadence import DEFAULT_CADENCE_DAYS
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


def _view(o: Outcome) -> OutcomeView:
    """Turn a row into a view."""
    return OutcomeView(
        o.code, o.label_en, o.label_zh, o.method, o.asks_amount, o.position, o.active
    )


async def outcome_list(session: AsyncSession, *, active_only: bool = True) -> list[OutcomeView]:
    """Return the outcomes in display order (active ones only, unless asked)."""
    stmt = select(Outcome).order_by(Outcome.position, Outcome.code)
    if active_only:
        stmt = stmt.where(Outcome.active)
    return [_view(o) for o in (await session.execute(stmt)).scalars()]


async def outcome_codes(session: AsyncSession) -> set[str]:
    """Return every outcome code in use (active or not)."""
    return set((await session.execute(select(Outcome.code))).scalars())


async def outcome_add(session: AsyncSession, *, data: OutcomeInput) -> None:
    """Add a new outcome."""
    session.add(
        Outcome(
            code=data.code,
            label_en=data.label_en,
            label_zh=data.label_zh,
            method=data.method,
            asks_amount=data.asks_amount,
            position=data.position,
            active=data.active,
        )
    )
    await session.flush()


async def outcome_update(session: AsyncSession, *, code: str, data: OutcomeInput) -> bool:
    """Change an outcome's labels, method, amount question, position and activity."""
    result = await session.execute(
        update(Outcome)
        .where(Outcome.code == code)
        .values(
            label_en=data.label_en,
            label_zh=data.label_zh,
            method=data.method,
            asks_amount=data.asks_amount,
            position=data.position,
            active=data.active,
        )
    )
    return bool(result.rowcount)


async def cadence_get(session: AsyncSession) -> dict[str, int]:
    """Return days per level; defaults fill any level missing from the table."""
    rows = dict((await session.execute(select(Cadence.level, Cadence.days))).all())
    return {lvl.value: rows.get(lvl.value, days) for lvl, days in DEFAULT_CADENCE_DAYS.items()}


async def cadence_set(session: AsyncSession, *, days: dict[str, int]) -> dict[str, tuple]:
    """Store days per level; return what changed as level → (old, new)."""
    current = await cadence_get(session)
    stored = set((await session.execute(select(Cadence.level))).scalars())
    changed: dict[str, tuple] = {}
    for level, value in days.items():
        if level in stored:
            if current.get(level) != value:
                await session.execute(
                    update(Cadence).where(Cadence.level == level).values(days=value)
                )
        else:
            session.add(Cadence(level=level, days=value))
        if current.get(level) != value:
            changed[level] = (current.get(level), value)
    await session.flush()
    return changed
