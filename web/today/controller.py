"""The start page ("Today"): overdue follow-ups first, then due today, then recently viewed."""

from dataclasses import dataclass, field
from datetime import date

from litestar import Controller, Request, get
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.today import TodayRow, recently_viewed_list, today_due
from domain.privacy import can_handle_requests
from domain.users import Actor
from domain.visits import DueEntry, due_entry, follow_ups_by_rep
from web.core.guards import require_user
from web.core.htmx import render
from web.sales.context import sales_today_context

LIMIT_OWN = 100  # a rep's or a store's due list
LIMIT_TEAM = 300  # a manager's (or admin's) list for the whole team
LIMIT_RECENT = 10


@dataclass(frozen=True)
class TodayItem:
    """A customer line on the Today page with its link and how late it is."""

    row: TodayRow
    url: str
    due: DueEntry | None = None


@dataclass
class TodayGroup:
    """The customers of one rep (or the public pool) on a manager's Today page."""

    owner_id: int | None
    owner_name: str | None
    overdue: list[TodayItem] = field(default_factory=list)
    due_today: list[TodayItem] = field(default_factory=list)


def build_groups(rows: list[TodayRow], *, today: date, url_of, by_owner: bool) -> list[TodayGroup]:
    """Split due rows into overdue / due today, per rep when asked (pool last)."""
    groups: dict[int | None, TodayGroup] = {}
    for row in rows:
        entry = due_entry(row.next_follow_up_on, today)
        if entry is None:
            continue
        owner = row.owner_id if by_owner else None
        group = groups.setdefault(owner, TodayGroup(owner, row.owner_name if by_owner else None))
        item = TodayItem(row, url_of(row.customer_id), entry)
        (group.overdue if entry.is_overdue else group.due_today).append(item)
    return sorted(
        groups.values(), key=lambda g: (g.owner_id is None, (g.owner_name or "").casefold())
    )


class HomeController(Controller):
    """The signed-in user's home page."""

    guards = [require_user]

    @get("/", name="home")
    async def today(
        self, request: Request, db: AsyncSession, actor: Actor, today: date
    ) -> Template:
        """Show who is due for a follow-up (two queries), and recently viewed customers."""
        await request.app.state.view_log.flush()  # the page just left must be listed
        team_view = follow_ups_by_rep(actor)
        rows, more = await today_due(
            db, actor=actor, today=today, limit=LIMIT_TEAM if team_view else LIMIT_OWN
        )
        recent_rows = await recently_viewed_list(db, actor=actor, limit=LIMIT_RECENT)

        def url_of(customer_id: int) -> str:
            return request.app.route_reverse("customers.detail", customer_id=customer_id)

        groups = build_groups(rows, today=today, url_of=url_of, by_owner=team_view)
        listed = {r.customer_id for r in rows}
        recent = [
            TodayItem(r, url_of(r.customer_id)) for r in recent_rows if r.customer_id not in listed
        ]
        context = {
            "active": "today",
            "today": today,
            "team_view": team_view,
            "groups": groups,
            "more": more,
            "recent": recent,
            "due_count": len(rows),
            # Everyone who handles privacy requests (not only admins) sees the overdue ones.
            "privacy_overdue": can_handle_requests(actor),
            **await sales_today_context(db, actor=actor),
        }
        return render(request, "pages/today/index.html", context)
