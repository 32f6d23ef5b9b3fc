"""The pipeline board: customers by stage with counts, expected amounts and days in stage."""

from dataclasses import dataclass
from datetime import date, datetime

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.customers import customer_owner_choices
from db.sales import PipelineCard, PipelineFilter, pipeline_cards, pipeline_totals, sales_rules_get
from domain.enums import Level, Role, Source
from domain.sales import days_in_stage, is_stuck, parse_stage
from domain.users import Actor
from web.core import labels
from web.core.guards import require_roles
from web.core.htmx import render
from web.core.settings import Settings

CARDS_PER_STAGE = 20
CARDS_ONE_STAGE = 200


@dataclass(frozen=True)
class Card:
    """A customer card: the row, its days in the stage and whether it is stuck."""

    row: PipelineCard
    days: int
    stuck: bool


def _filters(owner: str, level: str, source: str) -> PipelineFilter:
    """Read the board's filters; anything unknown means "all"."""
    # ASCII digits only, and a size SQLite can hold: anything else is "all".
    owner_id = int(owner) if owner.isascii() and owner.isdigit() and len(owner) <= 9 else None
    return PipelineFilter(
        owner_id=owner_id,
        level=level if level in set(Level) else None,
        source=source if source in set(Source) else None,
    )


class PipelineController(Controller):
    """Everything under /pipeline: reps see their own deals, managers their team's."""

    path = "/pipeline"
    guards = [require_roles(Role.REP, Role.MANAGER, Role.ADMIN)]

    async def _common(self, db: AsyncSession, actor: Actor, filters: PipelineFilter) -> dict:
        """The filter form's choices and the values chosen."""
        owners: list[tuple[str, str]] = []
        if actor.role != Role.REP:
            team = None if actor.role == Role.ADMIN else actor.team_id
            owners = [(str(o.id), o.name) for o in await customer_owner_choices(db, team_id=team)]
        return {
            "active": "pipeline",
            "labels": labels,
            "owners": owners,
            "filter_values": {
                "owner": "" if filters.owner_id is None else str(filters.owner_id),
                "level": filters.level or "",
                "source": filters.source or "",
            },
        }

    def _cards(self, rows: list[PipelineCard], *, limit: int | None, today: date, tz) -> list[Card]:
        """Attach days in stage and the stuck mark to the rows of one stage."""
        out = []
        for r in rows:
            days = days_in_stage(r.since.astimezone(tz).date(), today)
            out.append(Card(r, days, is_stuck(days, limit)))
        return out

    @get("/", name="pipeline.board")
    async def board(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        now: datetime,
        today: date,
        owner: str = "",
        level: str = "",
        source: str = "",
    ) -> Template:
        """The board: stage totals (one aggregate query) and the longest-waiting cards (one)."""
        filters = _filters(owner, level, source)
        rules = await sales_rules_get(db)
        totals = await pipeline_totals(
            db, actor=actor, filters=filters, stuck_days=rules.stuck_days, now=now
        )
        cards = await pipeline_cards(db, actor=actor, filters=filters, per_stage=CARDS_PER_STAGE)
        columns = [
            (
                t,
                self._cards(
                    cards.get(t.stage, []),
                    limit=rules.stuck_days.get(t.stage),
                    today=today,
                    tz=settings.tz,
                ),
            )
            for t in totals
        ]
        context = {
            **await self._common(db, actor, filters),
            "columns": columns,
            "total_count": sum(t.count for t in totals),
            "total_amount": sum(t.amount_cents for t in totals),
            "query": request.url.query or "",
        }
        return render(
            request, "pages/sales/pipeline.html", context, partial="partials/sales/board.html"
        )

    @get("/{stage:str}", name="pipeline.stage")
    async def stage(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        now: datetime,
        today: date,
        stage: str,
        owner: str = "",
        level: str = "",
        source: str = "",
    ) -> Template:
        """The customers in one stage (what a phone shows after tapping a stage)."""
        chosen = parse_stage(stage)
        if chosen is None:
            raise NotFoundException()
        filters = _filters(owner, level, source)
        rules = await sales_rules_get(db)
        totals = await pipeline_totals(
            db, actor=actor, filters=filters, stuck_days=rules.stuck_days, now=now
        )
        total = next(t for t in totals if t.stage == chosen)
        cards = await pipeline_cards(
            db, actor=actor, filters=filters, stage=chosen, per_stage=CARDS_ONE_STAGE
        )
        context = {
            **await self._common(db, actor, filters),
            "total": total,
            "cards": self._cards(
                cards.get(chosen, []),
                limit=rules.stuck_days.get(chosen),
                today=today,
                tz=settings.tz,
            ),
            "query": request.url.query or "",
        }
        return render(
            request,
            "pages/sales/pipeline_stage.html",
            context,
            partial="partials/sales/stage_cards.html",
        )
