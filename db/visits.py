"""Visits: list, record, undo, update (the visits feature fills this in)."""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import User, Visit


@dataclass(frozen=True)
class VisitView:
    """A visit with the name of who made it, ready to render."""

    id: int
    at: datetime
    outcome: str
    method: str
    user_name: str
    note: str
    amount_cents: int | None
    distance_m: float | None


async def visit_list(
    session: AsyncSession, *, customer_id: int, limit: int = 20
) -> list[VisitView]:
    """Return a customer's visits, newest first, in one query."""
    stmt = (
        select(Visit, User.name)
        .join(User, User.id == Visit.user_id)
        .where(Visit.customer_id == customer_id)
        .order_by(Visit.at.desc(), Visit.id.desc())
        .limit(limit)
    )
    rows = (await session.execute(stmt)).all()
    return [
        VisitView(
            id=v.id,
            at=v.at,
            outcome=v.outcome,
            method=v.method,
            user_name=name,
            note=v.note,
            amount_cents=v.amount_cents,
            distance_m=v.distance_m,
        )
        for v, name in rows
    ]
