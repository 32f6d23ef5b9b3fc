"""The store Counter: look a walk-in customer up by phone, add one in seconds, log the visit."""

from collections import OrderedDict
from collections.abc import Sequence
from datetime import date, datetime, timedelta, tzinfo

from litestar import Controller, Request, get, post
from litestar.exceptions import PermissionDeniedException
from litestar.response import Redirect, Response, Template
from sqlmodel.ext.asyncio.session import AsyncSession

from db.counter import StoreStats, rfm_thresholds_get, store_stats, year_start
from db.customers import CustomerRow, DuplicateCustomer, customer_create
from db.models import Customer
from db.search import customer_search
from domain.customers import CustomFieldDef
from domain.duplicates import DuplicateNotice, duplicate_notice
from domain.enums import Role
from domain.ownership import counter_placement
from domain.phones import phone_digits_query
from domain.rfm import TIER_LABELS, WINDOW_DAYS, RfmThresholds, Tier, rfm_tier
from domain.users import Actor
from web.core import labels
from web.core.client_ip import client_ip
from web.core.forms import Form, field
from web.core.guards import require_roles
from web.core.htmx import flash, fragment_or_redirect, render, see_other
from web.core.i18n import gettext
from web.core.settings import Settings
from web.customers.access import customer_or_404
from web.customers.form import customer_field_definitions, validate_new_customer
from web.visits.panel import note_view, visit_panel_context

LOOKUP_LIMIT = 12
CACHE_SIZE = 20000
STORE_FIRST = ("store_visit", "store_purchase")
# What a customer added at the counter starts as; the rest is completed later.
WALK_IN = {"kind": "person", "level": "C", "source": "walk_in"}


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


def _day_start(day: date, tz: tzinfo) -> datetime:
    """Midnight at the start of `day` in the company's time zone."""
    return datetime.combine(day, datetime.min.time()).replace(tzinfo=tz)


def _tier(stats: StoreStats | None, *, today: date, thresholds: RfmThresholds, tz: tzinfo) -> Tier:
    """A member's tier from their store activity of the last WINDOW_DAYS (None: no activity)."""
    if stats is None:
        return rfm_tier(None, 0, 0, today, thresholds)
    last = stats.last_at.astimezone(tz) if stats.last_at else None
    return rfm_tier(last, stats.visits, stats.spend_cents, today, thresholds)


async def member_tiers(
    request: Request,
    db: AsyncSession,
    hits: Sequence[CustomerRow],
    *,
    today: date,
    thresholds: RfmThresholds,
) -> dict[int, Tier]:
    """Return the RFM tier of each hit, from the cache or one aggregate query."""
    cache, tz = _cache(request), request.app.state.settings.tz
    key = {h.id: (h.id, h.last_visit_at, today, thresholds) for h in hits}
    tiers = {h.id: tier for h in hits if (tier := cache.get(key[h.id])) is not None}
    missing = [h.id for h in hits if h.id not in tiers]
    if missing:
        since = _day_start(today - timedelta(days=WINDOW_DAYS), tz)
        stats = await store_stats(db, customer_ids=missing, since=since)
        for cid in missing:
            tiers[cid] = _tier(stats.get(cid), today=today, thresholds=thresholds, tz=tz)
            cache.put(key[cid], tiers[cid])
    return tiers


def _store_first(outcome) -> tuple[int, int]:
    """Sort key putting the store outcomes first; the rest keep their admin-set order."""
    rank = STORE_FIRST.index(outcome.code) if outcome.code in STORE_FIRST else len(STORE_FIRST)
    return rank, outcome.position


def _store_placement(actor: Actor) -> tuple[int, int | None]:
    """The (team, owner) of a customer the actor adds here; 403 without a store."""
    placement = counter_placement(actor)
    if placement is None:
        raise PermissionDeniedException()
    return placement


def _quick_values(data: Form, definitions: list[CustomFieldDef]) -> dict[str, str]:
    """What quick add asks: name, phone and the custom fields an admin made required."""
    names = ["name", "phone", *(d.input_name for d in definitions if d.required)]
    return {name: field(data, name) for name in names}


def _quick_add(
    request: Request,
    values: dict[str, str],
    *,
    definitions: list[CustomFieldDef],
    errors: dict[str, str] | None = None,
    duplicates: DuplicateNotice | None = None,
    status_code: int = 200,
) -> Template:
    """The quick-add form: the page, or the form alone for HTMX."""
    context = {
        "active": "counter",
        "values": values,
        "errors": errors or {},
        "duplicates": duplicates,
        "mode": "new",
        "fields": [d for d in definitions if d.required],
        "labels": labels,
    }
    return render(
        request,
        "pages/counter/new.html",
        context,
        partial="partials/counter/new_form.html",
        status_code=status_code,
    )


class CounterController(Controller):
    """The Counter page and its live lookup, quick add and the customer at the counter."""

    path = "/counter"
    guards = [require_roles(Role.CLERK, Role.MANAGER, Role.ADMIN)]

    @get("/", name="counter.page")
    async def page(
        self, request: Request, db: AsyncSession, actor: Actor, today: date, q: str = ""
    ) -> Template:
        """The lookup field with results; the results alone on each keystroke (HTMX)."""
        q = q.strip()
        hits = await customer_search(db, actor=actor, q=q, limit=LOOKUP_LIMIT) if q else []
        tiers = {}
        if hits:
            thresholds = await rfm_thresholds_get(db)
            tiers = await member_tiers(request, db, hits, today=today, thresholds=thresholds)
        digits = phone_digits_query(q) if q else None
        context = {
            "active": "counter",
            "q": q,
            "hits": hits,
            "tiers": tiers,
            "tier_labels": TIER_LABELS,
            "prefill_phone": digits if digits and len(digits) >= 7 else "",
            "prefill_name": "" if digits else q,
            "can_add": counter_placement(actor) is not None,
        }
        return render(
            request, "pages/counter/lookup.html", context, partial="partials/counter/results.html"
        )

    @get("/new", name="counter.new")
    async def new(
        self, request: Request, db: AsyncSession, actor: Actor, name: str = "", phone: str = ""
    ) -> Template:
        """The quick-add form: name and phone (and any custom field an admin made required)."""
        _store_placement(actor)
        definitions = await customer_field_definitions(db)
        return _quick_add(request, {"name": name, "phone": phone}, definitions=definitions)

    @post("/customers", name="counter.create")
    async def create(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        now: datetime,
        today: date,
        data: Form,
    ) -> Template | Redirect | Response:
        """Save a walk-in customer owned by the store, after the duplicate check."""
        team_id, owner_id = _store_placement(actor)
        definitions = await customer_field_definitions(db)
        values = _quick_values(data, definitions)  # the full form's rule, required fields too
        customer_input, errors = validate_new_customer({**values, **WALK_IN}, definitions)
        if customer_input is None:
            return _quick_add(
                request, values, definitions=definitions, errors=errors, status_code=422
            )
        try:
            customer = await customer_create(
                db,
                data=customer_input,
                team_id=team_id,
                owner_id=owner_id,
                created_by=actor.id,
                today=today,
                now=now,
                allow_duplicate=field(data, "confirm_duplicate") == "1",
                ip=client_ip(request),
            )
        except DuplicateCustomer as dup:
            await db.rollback()
            notice = duplicate_notice(actor, dup.matches)
            return _quick_add(
                request, values, definitions=definitions, duplicates=notice, status_code=422
            )
        await db.commit()
        flash(request, gettext("Customer %(number)s saved.", number=customer.number))
        url = request.app.route_reverse("counter.customer", customer_id=customer.id)
        return see_other(request, url)

    @get("/customers/{customer_id:int}", name="counter.customer")
    async def customer(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        today: date,
        customer_id: int,
    ) -> Template:
        """The customer at the counter: store history, tier, and two-tap recording."""
        customer = await customer_or_404(db, actor, customer_id)
        card = await _card_context(db, settings, customer, today=today)
        panel = await visit_panel_context(db, actor=actor, customer=customer)
        panel["visit_panel"].outcomes.sort(key=_store_first)
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
        today: date,
        customer_id: int,
    ) -> Template | Redirect:
        """The customer card alone, for the page to refresh after a visit."""
        customer = await customer_or_404(db, actor, customer_id)
        return fragment_or_redirect(
            request,
            "partials/counter/card.html",
            await _card_context(db, settings, customer, today=today),
            page_url=request.app.route_reverse("counter.customer", customer_id=customer_id),
        )


async def _card_context(
    db: AsyncSession, settings: Settings, customer: Customer, *, today: date
) -> dict:
    """What the counter card shows: this year's store history and the member tier."""
    tz, ids = settings.tz, [customer.id]
    year = (await store_stats(db, customer_ids=ids, since=_day_start(year_start(today), tz))).get(
        customer.id
    )
    since = _day_start(today - timedelta(days=WINDOW_DAYS), tz)
    rolling = (await store_stats(db, customer_ids=ids, since=since)).get(customer.id)
    tier = _tier(rolling, today=today, thresholds=await rfm_thresholds_get(db), tz=tz)
    return {"customer": customer, "tier": tier, "tier_label": TIER_LABELS[tier], "year": year}
