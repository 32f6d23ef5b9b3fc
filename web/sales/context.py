"""What the customer page and the Today page show of the sales process (loaded up front)."""

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Customer
from db.sales import (
    approvals_decided_for,
    approvals_pending_count,
    approvals_pending_list,
    sales_history,
)
from domain.enums import STAGE_ORDER, Role, Stage, Status
from domain.sales import may_change_sales, stage_neighbours, stage_targets
from domain.users import Actor
from web.core import labels

DECISIONS_SHOWN_DAYS = 7
TODAY_APPROVALS = 10


def stage_steps(stage: Stage) -> list[tuple[str, str]]:
    """The stage steps of the panel: each stage's name and "current", "done" or ""."""
    at = STAGE_ORDER.index(stage)
    return [
        (labels.stage(st), "current" if i == at else "done" if i < at else "")
        for i, st in enumerate(STAGE_ORDER)
    ]


async def sales_panel_context(db: AsyncSession, *, actor: Actor, customer: Customer) -> dict:
    """The stage control, the pending notice and the History of a customer (3 queries)."""
    stage, status = Stage(customer.stage), Status(customer.status)
    back, ahead = stage_neighbours(current=stage, status=status)
    history = await sales_history(db, customer_id=customer.id)
    pending = history.pending
    return {
        "sales": {
            "customer_id": customer.id,
            "stage": stage,
            "status": status,
            "steps": stage_steps(stage),  # worked out here, not per step in the template
            "back": back,
            "ahead": ahead,
            "targets": stage_targets(current=stage, status=status),
            "pending": pending,
            "may_change": may_change_sales(actor.role) and pending is None,
            "may_withdraw": pending is not None and pending.requested_by == actor.id,
            "history": history.entries,
        }
    }


async def sales_today_context(db: AsyncSession, *, actor: Actor) -> dict:
    """Approvals waiting for a manager, with a count (no query at all for a rep).

    Decisions on one's own requests load from their own URL (DecisionController), so a
    rep's Today page keeps its two queries.
    """
    approvals, count = [], 0
    if actor.role in (Role.MANAGER, Role.ADMIN):
        count = await approvals_pending_count(db, actor=actor)
        if count:
            approvals = await approvals_pending_list(db, actor=actor, limit=TODAY_APPROVALS)
    return {
        "labels": labels,
        "sales_today": {
            "decider": actor.role in (Role.MANAGER, Role.ADMIN),
            "count": count,
            "approvals": approvals,
            "requester": may_change_sales(actor.role),
        },
    }


async def sales_decisions_context(db: AsyncSession, *, actor: Actor, now: datetime) -> dict:
    """The decisions of the last days on the actor's own requests, newest first."""
    since = now - timedelta(days=DECISIONS_SHOWN_DAYS)
    return {
        "labels": labels,
        "decisions": await approvals_decided_for(db, user_id=actor.id, since=since),
    }
