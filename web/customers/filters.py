"""The customer list's filter sheet: the filter from the URL, its choices, and the page."""

from dataclasses import replace
from datetime import date, datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request
from sqlmodel.ext.asyncio.session import AsyncSession

from db.customer_filter import customer_list_filtered
from db.customers import customer_owner_choices
from domain.customer_filter import KEYS as FILTER_KEYS
from domain.customer_filter import MAX_PAGE, filter_parse, filter_query
from domain.enums import Role
from domain.users import Actor
from web.core.i18n import N_, gettext

PER_PAGE = 50

SORT_LABELS = {
    "next_follow_up": N_("Next follow-up"),
    "last_visit": N_("Last visit"),
    "name": N_("Name"),
    "created": N_("Created"),
}


async def list_context(
    request: Request, db: AsyncSession, actor: Actor, *, today: date, now: datetime, page: int = 1
) -> dict[str, Any]:
    """Everything the filtered list needs: rows, count, pager and the sheet's choices.

    `page` is the handler's checked integer (a number beyond 64 bits is a 400 before this).
    """
    filt, errors = filter_parse(request.query_params)
    filt = replace(filt, page=min(max(1, page), MAX_PAGE))
    result = await customer_list_filtered(
        db,
        actor=actor,
        filt=filt,
        today=today,
        now=now,
        tz=request.app.state.settings.tz,
        per_page=PER_PAGE,
    )
    base = request.app.route_reverse("customers.list")

    def url(**change) -> str:
        query = urlencode(filter_query(filt, **change))
        return f"{base}?{query}" if query else base

    owners = []
    if actor.role != Role.REP:
        team = None if actor.role == Role.ADMIN else actor.team_id
        owners = [(str(o.id), o.name) for o in await customer_owner_choices(db, team_id=team)]
    return {
        "items": result.rows,
        "more": result.more,
        "total": result.total,
        "page": filt.page,
        "filt": filt,
        "filter_errors": errors,
        "owners": owners,
        "values": {k: str(request.query_params.get(k) or "") for k in FILTER_KEYS},
        "sort_options": [(k, gettext(v)) for k, v in SORT_LABELS.items()],
        "prev_url": url(page=filt.page - 1) if filt.page > 1 else None,
        "next_url": url(page=filt.page + 1) if result.more else None,
        "clear_url": base,
        "reassign_query": urlencode(filter_query(filt, page=1)),
        "export_query": urlencode(filter_query(filt, page=1)),
        "q": "",
        "viewer": actor,
    }
