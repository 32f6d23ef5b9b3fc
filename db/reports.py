"""Load what the Team page and the weekly report compute from: a few aggregate queries."""

from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import aliased
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import sql_in_thread
from db.models import Customer, StageChange, User, Visit
from domain.customers import completeness
from domain.enums import Level, LossReason, Method, Role, Stage, Status
from domain.report import CustomerRow, RepInfo, StageMove, VisitRow


async def _run_long(session: AsyncSession, stmt):
    """Run a report query (it scans a team's week or customers) off the event loop."""
    with sql_in_thread():
        return await session.execute(stmt)


async def report_reps(session: AsyncSession, *, team_id: int) -> list[RepInfo]:
    """Return the people whose work the team's numbers are about (reps and clerks)."""
    stmt = (
        select(User.id, User.name)
        .where(User.team_id == team_id, User.role.in_([Role.REP, Role.CLERK]))
        .order_by(User.name)
    )
    return [RepInfo(id=i, name=n) for i, n in (await _run_long(session, stmt)).all()]


async def report_customers(
    session: AsyncSession, *, team_id: int, before: datetime | None = None
) -> list[CustomerRow]:
    """Return the team's customers as report rows (one query; last visit before `before`)."""
    owner = aliased(User)
    columns = [
        Customer.id,
        Customer.name,
        Customer.owner_id,
        owner.name,
        Customer.level,
        Customer.status,
        Customer.stage,
        Customer.created_at,
        Customer.last_visit_at,
        Customer.next_follow_up_on,
        Customer.loss_reason,
        Customer.contact_name,
        Customer.email,
        Customer.industry,
        Customer.needs,
        Customer.address,
        Customer.lat,
        Customer.lng,
        Customer.expected_amount_cents,
        Customer.tags,
    ]
    if before is not None:
        earlier = (
            select(func.max(Visit.at))
            .where(Visit.customer_id == Customer.id, Visit.at < before)
            .correlate(Customer)
            .scalar_subquery()
        )
        columns.append(earlier)
    stmt = (
        select(*columns)
        .outerjoin(owner, owner.id == Customer.owner_id)
        .where(Customer.team_id == team_id)
    )
    rows = []
    for r in (await _run_long(session, stmt)).all():
        fields = {
            "contact_name": r[11],
            "email": r[12],
            "industry": r[13],
            "needs": r[14],
            "address": r[15],
            "lat": r[16],
            "lng": r[17],
            "expected_amount_cents": r[18],
            "tags": r[19],
            "next_follow_up_on": r[9],
        }
        rows.append(
            CustomerRow(
                id=r[0],
                name=r[1],
                owner_id=r[2],
                owner_name=r[3],
                level=Level(r[4]),
                status=Status(r[5]),
                stage=Stage(r[6]),
                created_at=r[7],
                last_visit_at=r[8],
                next_follow_up_on=r[9],
                completeness=completeness(fields),
                loss_reason=LossReason(r[10]) if r[10] else None,
                last_visit_before_window=r[20] if before is not None else None,
            )
        )
    return rows


async def report_visits(
    session: AsyncSession, *, team_id: int, start: datetime, end: datetime
) -> list[VisitRow]:
    """Return the visits to the team's customers in [start, end)."""
    stmt = (
        select(Visit.customer_id, Visit.user_id, Visit.method, Visit.at)
        .join(Customer, Customer.id == Visit.customer_id)
        .where(Customer.team_id == team_id, Visit.at >= start, Visit.at < end)
    )
    return [
        VisitRow(customer_id=c, user_id=u, method=Method(m), at=a)
        for c, u, m, a in (await _run_long(session, stmt)).all()
    ]


async def report_moves(
    session: AsyncSession, *, team_id: int, start: datetime, end: datetime | None = None
) -> list[StageMove]:
    """Return stage and status changes of the team's customers from `start` (to `end`)."""
    cond = [Customer.team_id == team_id, StageChange.at >= start]
    if end is not None:
        cond.append(StageChange.at < end)
    stmt = (
        select(StageChange, Customer.name, User.name)
        .join(Customer, Customer.id == StageChange.customer_id)
        .outerjoin(User, User.id == StageChange.user_id)
        .where(and_(*cond))
        .order_by(StageChange.at)
    )
    moves = []
    for m, customer_name, user_name in (await _run_long(session, stmt)).all():
        moves.append(
            StageMove(
                customer_id=m.customer_id,
                customer_name=customer_name,
                user_name=user_name or "",
                from_stage=Stage(m.from_stage) if m.from_stage else None,
                to_stage=Stage(m.to_stage) if m.to_stage else None,
                from_status=Status(m.from_status) if m.from_status else None,
                to_status=Status(m.to_status) if m.to_status else None,
                reason=LossReason(m.reason) if m.reason else None,
                at=m.at,
            )
        )
    return moves
