"""Customers: the list, search (as you type and without JavaScript), the customer page."""

from datetime import date, datetime
from urllib.parse import urlencode

from litestar import Controller, Request, get
from litestar.exceptions import NotFoundException
from litestar.response import Redirect, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.customers import customer_page
from db.search import customer_search
from domain.customers import completeness, missing_recommended
from domain.phones import format_phone_display, phone_digits_query
from domain.users import Actor
from web.core import labels
from web.core.guards import require_user
from web.core.htmx import fragment_or_redirect, is_fragment_request, render
from web.customers.access import customer_or_404
from web.customers.contacts import blank_contact_fields
from web.customers.filters import list_context
from web.customers.form import input_name
from web.sales.context import sales_panel_context
from web.visits.panel import note_view, visit_panel_context


class CustomerListController(Controller):
    """The customer list and search at /customers, and the customer page."""

    path = "/"  # under /customers (web/customers/router.py)
    guards = [require_user]

    @get("/", name="customers.list")
    async def index(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        today: date,
        now: datetime,
        q: str | None = None,
        page: int = 1,
    ) -> Template:
        """The customer list with the filters of the URL; with ?q= the search results."""
        query = (q or "").strip()
        if q is not None and (query or is_fragment_request(request)):
            return await self._results(request, db, actor, query)
        context = await list_context(request, db, actor, today=today, now=now, page=page)
        return render(
            request,
            "pages/customers/list.html",
            {"active": "customers", "labels": labels, **context},
            partial="partials/customers/list.html",
            status_code=422 if context["filter_errors"] else 200,
        )

    async def _results(self, request: Request, db: AsyncSession, actor: Actor, q: str) -> Template:
        """Search results: the header box's fragment, or the list page showing them."""
        hits = await customer_search(db, actor=actor, q=q) if q else []
        prefill = {"phone": q} if phone_digits_query(q) else {"name": q}
        context = {"q": q, "hits": hits, "items": hits, "page": 1, "more": False}
        return render(
            request,
            "pages/customers/list.html",
            {"active": "customers", "labels": labels, "new_query": urlencode(prefill), **context},
            partial="partials/customers/search_results.html",
        )

    @get("/{customer_id:int}", name="customers.detail")
    async def detail(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int
    ) -> Template:
        """The customer page: who, how to reach them, the Visits region, then the details."""
        page = await customer_page(db, actor=actor, customer_id=customer_id)
        if page is None:
            raise NotFoundException()
        c = page.customer
        filled = c._mapping
        context = {
            "active": "customers",
            "page": page,
            "c": c,
            "labels": labels,
            "phone_display": format_phone_display(c.phone),
            "score": completeness(filled),
            "missing": [labels.field(input_name(f)) for f in missing_recommended(filled)],
            "contacts": page.contacts,
            "contact_values": {},
            "contact_errors": {},
            "contact_blank": blank_contact_fields,
            **await visit_panel_context(db, actor=actor, customer=c),
            **await sales_panel_context(db, actor=actor, customer=c),
        }
        view = note_view(request, actor=actor, customer_id=customer_id, audited=True)
        return render(request, "pages/customers/detail.html", context, background=view)

    @get("/{customer_id:int}/follow-up", name="customers.follow_up")
    async def follow_up(
        self, request: Request, db: AsyncSession, actor: Actor, customer_id: int
    ) -> Template | Redirect:
        """The next follow-up line alone, for the page to refresh after a visit."""
        customer = await customer_or_404(db, actor, customer_id)
        return fragment_or_redirect(
            request,
            "partials/customers/follow_up.html",
            {"c": customer},
            page_url=request.app.route_reverse("customers.detail", customer_id=customer_id),
        )
