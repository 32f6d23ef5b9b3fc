"""The start page ("Today"): a work list of short sections, recently viewed near the top."""

from dataclasses import dataclass, field
from datetime import date
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.response import Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.today import TodayRow, recently_viewed_list, today_due
from domain.enums import Level
from domain.privacy import can_handle_requests
from domain.today import (
    GROUP_ROWS,
    LATE_LABELS,
    SECTION_ROWS,
    SORTS,
    OverdueFilter,
    overdue_apply,
    overdue_filter_parse,
    section_rows,
)
from domain.users import Actor
from domain.visits import DueEntry, due_entry, follow_ups_by_rep
from web.core.guards import require_user
from web.core.htmx import render
from web.sales.context import sales_today_context

LIMIT_OWN = 100  # a rep's or a store's due list
LIMIT_TEAM = 300  # a manager's (or admin's) list for the whole team
LIMIT_RECENT = 10
RECENT_ROWS = 3  # recently viewed shown before "Show all N"


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

    @property
    def key(self) -> str:
        """The group's name in the query (`rep=`): the owner's id, or "pool"."""
        return "pool" if self.owner_id is None else str(self.owner_id)

    @property
    def items(self) -> list[TodayItem]:
        """Overdue first, then due today."""
        return self.overdue + self.due_today


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


def filter_groups(groups: list[TodayGroup], chosen: OverdueFilter) -> None:
    """Apply the overdue filter and sort to every group's overdue rows (in place)."""
    for g in groups:
        g.overdue = overdue_apply(
            g.overdue,
            chosen,
            level_of=lambda i: i.row.level,
            days_of=lambda i: i.due.overdue_days if i.due else 0,
            name_of=lambda i: i.row.name,
        )


@dataclass(frozen=True)
class Section:
    """A short list: the rows shown, how many there are, and the link that shows them all."""

    shown: list[TodayItem]
    total: int
    all_url: str


class SectionLinks:
    """Builds "Show all N" links that keep the overdue filter and jump to their section."""

    def __init__(self, request: Request, chosen: OverdueFilter, show: str, rep: str):
        """Remember the page's own URL, the filter and what is expanded."""
        self.base = request.app.route_reverse("home")
        self.chosen, self.show, self.rep = chosen, show, rep

    def section(
        self, items: list[TodayItem], name: str, anchor: str, rows: int = SECTION_ROWS
    ) -> Section:
        """The first `rows` of a section, or all when this section is the expanded one."""
        expanded = self.show == name
        query = {"level": self.chosen.level, "late": self.chosen.late, "sort": self.chosen.sort}
        query = {k: v for k, v in query.items() if v} | {"show": name}
        url = f"{self.base}?{urlencode(query)}#{anchor}"
        return Section(section_rows(items, show_all=expanded, rows=rows), len(items), url)

    def group(self, g: TodayGroup, anchor: str) -> Section:
        """A rep's rows on a manager's Today (the `rep=` query expands one group)."""
        expanded = self.show == "rep" and self.rep == g.key
        query = {"level": self.chosen.level, "late": self.chosen.late, "sort": self.chosen.sort}
        query = {k: v for k, v in query.items() if v} | {"show": "rep", "rep": g.key}
        url = f"{self.base}?{urlencode(query)}#{anchor}"
        return Section(section_rows(g.items, show_all=expanded, rows=GROUP_ROWS), len(g.items), url)


async def _lists(request: Request, db: AsyncSession, actor: Actor, today: date, chosen):
    """Due groups (filtered), recent rows and whether more are due than were read."""
    team_view = follow_ups_by_rep(actor)
    rows, more = await today_due(
        db, actor=actor, today=today, limit=LIMIT_TEAM if team_view else LIMIT_OWN
    )
    recent_rows = await recently_viewed_list(db, actor=actor, limit=LIMIT_RECENT)

    def url_of(customer_id: int) -> str:
        return request.app.route_reverse("customers.detail", customer_id=customer_id)

    groups = build_groups(rows, today=today, url_of=url_of, by_owner=team_view)
    actions = [i for g in groups for i in g.items if i.row.next_action]
    filter_groups(groups, chosen)
    listed = {r.customer_id for r in rows}
    recent = [
        TodayItem(r, url_of(r.customer_id)) for r in recent_rows if r.customer_id not in listed
    ]
    return team_view, groups, actions, recent, more, len(rows)


class HomeController(Controller):
    """The signed-in user's home page."""

    guards = [require_user]

    @get("/", name="home")
    async def today(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        today: date,
        level: str = "",
        late: str = "",
        sort: str = "",
        show: str = "",
        rep: str = "",
    ) -> Template:
        """Show who is due for a follow-up (two queries), and recently viewed customers."""
        await request.app.state.view_log.flush()  # the page just left must be listed
        chosen = overdue_filter_parse(level, late, sort)
        team_view, groups, actions, recent, more, due_count = await _lists(
            request, db, actor, today, chosen
        )
        links = SectionLinks(request, chosen, show, rep)
        context = {
            "active": "today",
            "today": today,
            "team_view": team_view,
            "groups": groups,
            "links": links,
            "chosen": chosen,
            "filter_options": _filter_options(),
            "more": more,
            "actions": actions,
            "recent": links.section(recent, "recent", "recent-heading", RECENT_ROWS),
            "due_count": due_count,
            # Everyone who handles privacy requests (not only admins) sees the overdue ones.
            "privacy_overdue": can_handle_requests(actor),
            **await sales_today_context(db, actor=actor),
        }
        return render(request, "pages/today/index.html", context)


def _filter_options() -> dict[str, list[tuple[str, str]]]:
    """The choices of the overdue filter form (values and English msgids)."""
    return {
        "level": [(lv.value, lv.value) for lv in Level],
        "late": list(LATE_LABELS.items()),
        "sort": list(SORTS.items()),
    }
