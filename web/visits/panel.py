"""What the customer page's Visits region needs: outcome buttons, the timeline, Undo."""

import uuid
from dataclasses import dataclass, field
from datetime import datetime

from litestar import Request
from litestar.background_tasks import BackgroundTask
from sqlmodel.ext.asyncio.session import AsyncSession

from db.models import Customer
from db.outcomes import OutcomeView, outcome_list
from db.types import utcnow
from db.visits import VisitView, visit_list
from domain.labels import MILESTONES
from domain.users import Actor
from domain.visits import (
    amount_input_value,
    can_edit_visit,
    can_undo_visit,
    sent_later,
    undo_seconds_left,
)
from web.core.client_ip import client_ip

TIMELINE_LIMIT = 20


@dataclass(frozen=True)
class VisitRow:
    """A visit on the timeline with what the viewer may do with it."""

    v: VisitView
    undo_left: float
    can_edit: bool
    fresh: bool = False
    amount_value: str = ""
    amount_error: str = ""

    @property
    def milestone_label(self) -> str:
        """The English msgid of the visit's milestone (translated in the template)."""
        return MILESTONES.get(self.v.milestone or "", self.v.milestone or "")

    @property
    def sent_later(self) -> bool:
        """Whether the visit was recorded offline and reached the server later."""
        return sent_later(self.v.at, self.v.received_at)

    @property
    def wants_amount(self) -> bool:
        """Show the quick "Add amount" field: a purchase saved without its amount."""
        return self.can_edit and self.v.asks_amount and self.v.amount_cents is None


@dataclass
class VisitPanel:
    """Everything visit_panel.html and its partials render."""

    customer_id: int
    rows: list[VisitRow]
    outcomes: list[OutcomeView] = field(default_factory=list)
    key: str = field(default_factory=lambda: uuid.uuid4().hex)
    notice: str = ""


def visit_rows(
    visits: list[VisitView],
    *,
    actor: Actor,
    now: datetime,
) -> list[VisitRow]:
    """Decide per visit whether Undo shows (own, just saved) and whether it may be edited."""
    return [
        VisitRow(
            v=v,
            undo_left=undo_seconds_left(v.at, now)
            if can_undo_visit(actor, author_id=v.user_id)
            else 0.0,
            can_edit=can_edit_visit(actor, author_id=v.user_id),
            amount_value=amount_input_value(v.amount_cents),
        )
        for v in visits
    ]


async def timeline_panel(
    db: AsyncSession,
    *,
    actor: Actor,
    customer_id: int,
    with_outcomes: bool = False,
    notice: str = "",
    now: datetime | None = None,
) -> VisitPanel:
    """Load the timeline (and the outcome buttons when the whole panel is drawn)."""
    now = now or utcnow()
    visits = await visit_list(db, customer_id=customer_id, limit=TIMELINE_LIMIT)
    outcomes = await outcome_list(db) if with_outcomes else []
    return VisitPanel(
        customer_id=customer_id,
        rows=visit_rows(visits, actor=actor, now=now),
        outcomes=outcomes,
        notice=notice,
    )


async def _nothing() -> None:
    """A background task that does nothing."""


def note_view(request: Request, *, actor: Actor, customer_id: int, audited: bool) -> BackgroundTask:
    """Queue a view of a customer (recently viewed, and the audit log if `audited`).

    Returns the task that writes it after the response is sent (see db.view_log).
    """
    if request.headers.get("x-kehu-prefetch") == "1":
        # The phone saving a due customer for offline use is not a person looking at it.
        return BackgroundTask(_nothing)
    view_log = request.app.state.view_log
    view_log.add(user_id=actor.id, customer_id=customer_id, ip=client_ip(request), audited=audited)
    return BackgroundTask(view_log.write_pending)


async def visit_panel_context(
    db: AsyncSession, *, actor: Actor, customer: Customer, now: datetime | None = None
) -> dict:
    """Load the Visits region of a customer page (the caller notes the view)."""
    panel = await timeline_panel(
        db,
        actor=actor,
        customer_id=customer.id,
        with_outcomes=True,
        now=now,
    )
    return {"visit_panel": panel}
