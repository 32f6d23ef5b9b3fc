"""The store Counter: look a walk-in customer up by phone, add one in seconds, log the visit."""

from collections import OrderedDict
from datetime import datetime, timedelta

from litestar import Controller, Request, get, post
from litestar.exceptions import NotFoundException, PermissionDeniedException
from litestar.response import Redirect, Response, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.counter import rfm_thresholds_get, store_stats, year_start
from db.customers import DuplicateCustomer, customer_create
from db.models import Customer
from db.search import customer_search
from db.types import utcnow
from db.visibility import customer_get_visible
from domain.customers import validate_customer
from domain.enums import Role
from domain.phones import phone_digits_query
from domain.rfm import TIER_LABELS, WINDOW_DAYS, RfmThresholds, Tier, rfm_tier
from domain.users import Actor
from web.core.client_ip import client_ip
from web.core.guards import require_roles
from web.core.htmx import flash, fragment_or_redirect, render, see_other
from web.core.i18n import gettext
from web.core.settings import Settings
from web.customers.controller import duplicate_notice
from web.visits.panel import note_view, visit_panel_context

LOOKUP_LIMIT = 12
CACHE_SIZE = 20000
STORE_FIRST = ("store_visit", "store_purchase")


class TierCache:
    """Remember computed member tiers; a new visit changes last_visit_at and so the key."""

    def __init__(self, size: int = CACHE_SIZE):
        """Create an empty LRU cache."""
        self.size = size
        self.items: OrderedDict[tuple, Tier] = OrderedDict()

    def get(self, key: tuple) -> Tier | None:
        """Return a cached tier, refreshing its place."""
        tier = self.items.get(key)
        if tier is not None:
            self.items.move_to_end(key)
        return tier

    def put(self, key: tuple, tier: Tier) -> None:
        """Store a tier, dropping the oldest when full."""
        self.items[key] = tier
        self.items.move_to_end(key)
        while len(self.items) > self.size:
            self.items.popitem(last=False)


def _cache(request: Request) -> TierCache:
    """The app's tier cache (created on first use)."""
    state = request.app.state
    if "tier_cache" not in state:
        state["tier_cache"] = TierCache()
    return state["tier_cache"]


async def member_tiers(
    request: Request, db: AsyncSession, hits: list, *, today, thresholds: RfmThresholds
) -> dict[int, Tier]:
    """Return the RFM tier of each hit, from the cache or one aggregate query."""
    cache = _cache(request)
    tiers: dict[int, Tier] = {}
    missing = []
    for h in hits:
        key = (h.id, h.last_visit_at, today, thresholds)
        tier = cache.get(key)
        if tier is None:
            missing.append(h)
        else:
            tiers[h.id] = tier
    if missing:
        since = datetime.combine(today - timedelta(days=WINDOW_DAYS), datetime.min.time())
        since = since.replace(tzinfo=request.app.state.settings.tz)
        stats = await store_stats(db, customer_ids=[h.id for h in missing], since=since)
        for h in missing:
            s = stats.get(h.id)
            last = s.last_at.astimezone(request.app.state.settings.tz) if s and s.last_at else None
            tier = rfm_tier(
                last, s.visits if s else 0, s.spend_cents if s else 0, today, thresholds
            )
            cache.put((h.id, h.last_visit_at, today, thresholds), tier)
            tiers[h.id] = tier
    return tiers


def _store_first(outcome) -> tuple[int, int]:
    """Sort key putting the store outcomes first."""
    rank = STORE_FIRST.index(outcome.code) if outcome.code in STORE_FIRST else len(STORE_FIRST)
    return rank, outcome.position


def _store_team(actor: Actor) -> int | None:
    """The store new counter customers belong to (clerks and store managers)."""
    return actor.team_id if actor.team_is_store else None


class CounterController(Controller):
    """The Counter page, its live lookup, quick add and the customer at the counter."""

    path = "/counter"
    guards = [require_roles(Role.CLERK, Role.MANAGER, Role.ADMIN)]

    async def _lookup(self, request, db, actor, settings, q: str) -> dict:
        """Search what the actor may see, with member tiers, for the results list."""
        q = (q or "").strip()
        hits = await customer_search(db, actor=actor, q=q, limit=LOOKUP_LIMIT) if q else []
        today = utcnow().astimezone(settings.tz).date()
        tiers = {}
        if hits:
            thresholds = await rfm_thresholds_get(db)
            tiers = await member_tiers(request, db, hits, today=today, thresholds=thresholds)
        digits = phone_digits_query(q) if q else None
        return {
            "q": q,
            "hits": hits,
            "tiers": tiers,
            "tier_labels": TIER_LABELS,
            "prefill_phone": digits if digits and len(digits) >= 7 else "",
            "prefill_name": "" if digits else q,
            "can_add": _store_team(actor) is not None,
        }

    @get("/", name="counter.page")
    async def page(
        self, request: Request, db: AsyncSession, actor: Actor, settings: Settings, q: str = ""
    ) -> Template:
        """The lookup field, focused, with results (also without JavaScript)."""
        context = await self._lookup(request, db, actor, settings, q)
        return render(request, "pages/counter/lookup.html", {"active": "counter", **context})

    @get("/lookup", name="counter.lookup")
    async def lookup(
        self, request: Request, db: AsyncSession, actor: Actor, settings: Settings, q: str = ""
    ) -> Template:
        """The results fragment, answered on each keystroke."""
        context = await self._lookup(request, db, actor, settings, q)
        return render(
            request,
            "pages/counter/lookup.html",
            {"active": "counter", **context},
            partial="partials/counter/results.html",
        )

    @get("/new", name="counter.new")
    async def new(
        self, request: Request, actor: Actor, name: str = "", phone: str = ""
    ) -> Template:
        """The quick-add form: only name and phone."""
        if _store_team(actor) is None:
            raise PermissionDeniedException()
        return render(
            request,
            "pages/counter/new.html",
            {
                "active": "counter",
                "values": {"name": name, "phone": phone},
                "errors": {},
                "duplicates": None,
                "mode": "new",
            },
            partial="partials/counter/new_form.html",
        )

    @post("/customers", name="counter.create")
    async def create(
        self, request: Request, db: AsyncSession, actor: Actor, settings: Settings
    ) -> Template | Redirect | Response:
        """Save a walk-in customer owned by the store, after the duplicate check."""
        team_id = _store_team(actor)
        if team_id is None:
            raise PermissionDeniedException()
        form = {k: str(v) for k, v in (await request.form()).items()}
        values = {"name": form.get("name", ""), "phone": form.get("phone", "")}
        data, errors = validate_customer(
            {**values, "kind": "person", "level": "C", "source": "walk_in"}
        )
        context = {
            "active": "counter",
            "values": values,
            "errors": errors,
            "duplicates": None,
            "mode": "new",
        }
        if data is None:
            return render(
                request,
                "pages/counter/new.html",
                context,
                partial="partials/counter/new_form.html",
                status_code=422,
            )
        try:
            customer = await customer_create(
                db,
                data=data,
                team_id=team_id,
                owner_id=actor.id if actor.role == Role.CLERK else None,
                created_by=actor.id,
                today=utcnow().astimezone(settings.tz).date(),
                allow_duplicate=form.get("confirm_duplicate") == "1",
                ip=client_ip(request),
            )
        except DuplicateCustomer as dup:
            await db.rollback()
            context["duplicates"] = duplicate_notice(actor, dup.matches)
            return render(
                request,
                "pages/counter/new.html",
                context,
                partial="partials/counter/new_form.html",
                status_code=422,
            )
        await db.commit()
        flash(request, gettext("Customer %(number)s saved.", number=customer.number))
        return see_other(request, f"/counter/customers/{customer.id}")

    @get("/customers/{customer_id:int}", name="counter.customer")
    async def customer(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        customer_id: int,
    ) -> Template:
        """The customer at the counter: store history, tier, and two-tap recording."""
        customer = await _visible(db, actor, customer_id)
        card = await _card_context(db, settings, customer)
        panel = await visit_panel_context(db, actor=actor, customer=customer)
        outcomes = panel["visit_panel"].outcomes
        # Store outcomes first at the counter; the rest keep their admin-set order.
        outcomes.sort(
            key=lambda o: (
                o.code not in STORE_FIRST,
                STORE_FIRST.index(o.code) if o.code in STORE_FIRST else 0,
                o.position,
            )
        )
        context = {"active": "counter", **card, **panel}
        view = note_view(request, actor=actor, customer_id=customer.id, audited=True)
        return render(request, "pages/counter/customer.html", context, background=view)

    @get("/customers/{customer_id:int}/card", name="counter.card")
    async def card(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        customer_id: int,
    ) -> Template | Redirect:
        """The customer card alone, for the page to refresh after a visit."""
        customer = await _visible(db, actor, customer_id)
        return fragment_or_redirect(
            request,
            "partials/counter/card.html",
            await _card_context(db, settings, customer),
            page_url=request.app.route_reverse("counter.customer", customer_id=customer_id),
        )


async def _visible(db: AsyncSession, actor: Actor, customer_id: int) -> Customer:
    """Return the customer if the clerk may see it, or answer 404."""
    customer = await customer_get_visible(db, actor=actor, customer_id=customer_id)
    if customer is None:
        raise NotFoundException()
    return customer


async def _card_context(db: AsyncSession, settings: Settings, customer: Customer) -> dict:
    """What the counter card shows: this year's store history and the member tier."""
    tz = settings.tz
    today = utcnow().astimezone(tz).date()
    since_year = datetime.combine(year_start(today), datetime.min.time()).replace(tzinfo=tz)
    since_rfm = datetime.combine(today - timedelta(days=WINDOW_DAYS), datetime.min.time()).replace(
        tzinfo=tz
    )
    year = (await store_stats(db, customer_ids=[customer.id], since=since_year)).get(customer.id)
    rolling = (await store_stats(db, customer_ids=[customer.id], since=since_rfm)).get(customer.id)
    thresholds = await rfm_thresholds_get(db)
    last = rolling.last_at.astimezone(tz) if rolling and rolling.last_at else None
    tier = rfm_tier(
        last,
        rolling.visits if rolling else 0,
        rolling.spend_cents if rolling else 0,
        today,
        thresholds,
    )
    return {"customer": customer, "tier": tier, "tier_label": TIER_LABELS[tier], "year": year}
