"""The phone's offline side: the outbox's sync endpoint, the service worker, the manifest."""

import hashlib
import json
from datetime import datetime
from functools import cache

from litestar import Controller, Request, Response, get, post
from litestar.utils.scope.state import ScopeState
from sqlmodel.ext.asyncio.session import AsyncSession

from db.visits import CustomerNotVisible, KeyReused, OutcomeUnknown, VisitError
from domain.users import Actor
from web.core.forms import Form, field
from web.core.guards import actor_of, require_user
from web.core.i18n import N_, current_locale
from web.core.i18n import gettext as _
from web.core.settings import Settings
from web.core.templating import STATIC_DIR, static_hash, static_url
from web.visits.controller import BadKey, record_from_form

# What the outbox is told when the server refuses a visit: a reason code the phone keeps
# and shows in plain words (its own translation, so it reads the same offline).
REFUSALS: dict[type[VisitError], tuple[int, str, str]] = {
    CustomerNotVisible: (
        404,
        "customer_not_visible",
        N_("This customer is no longer yours (reassigned or removed). The visit was not saved."),
    ),
    OutcomeUnknown: (400, "outcome_unknown", N_("This outcome is no longer offered.")),
    KeyReused: (409, "key_reused", N_("This visit clashes with another one already saved.")),
}
MSG_INVALID = N_("This visit could not be read. Discard it and record it again.")

# Precached for the offline app shell: every page needs them (the rest is cached on use).
SHELL = (
    "css/app.css",
    "js/htmx.min.js",
    "js/app.js",
    "js/search.js",
    "js/visits.js",
    "js/pending.js",
    "js/offline.js",
    "js/outbox.js",
    "vendor/idb-keyval/umd.js",
    "icons/kehu.svg",
    "icons/kehu-192.png",
)
THEME = "#0f6e5c"


def _json(body: dict, status: int = 200) -> Response:
    """A JSON answer that no cache keeps."""
    return Response(content=body, status_code=status, media_type="application/json")


@cache
def _worker_source() -> str:
    """The service worker's code (static/sw.js), read once."""
    return (STATIC_DIR / "sw.js").read_text(encoding="utf-8")


@cache
def worker_version() -> str:
    """A version from every static file's hash and the worker itself: any change renews it."""
    digest = hashlib.sha256(_worker_source().encode())
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file() and path.name != "sw.js":
            rel = path.relative_to(STATIC_DIR).as_posix()
            digest.update(f"{rel}={static_hash(rel)};".encode())
    return digest.hexdigest()[:12]


def _worker_config(request: Request) -> dict:
    """What the worker needs to know: its version, the shell, the URLs and its texts."""
    reverse = request.app.route_reverse
    return {
        "version": worker_version(),
        "shell": [static_url(rel) for rel in SHELL],
        "home": reverse("home"),
        "customerPrefix": reverse("customers.detail", customer_id=0)[:-1],
        "syncUrl": reverse("visits.sync"),
        "stateUrl": reverse("visits.sync_state"),
        "offlineTitle": _("Offline"),
        "offlineText": _("No connection, and this page was not saved on this phone."),
        "offlineHome": _("Open Today"),
    }


class OfflineController(Controller):
    """Public parts of offline use: the service worker, the manifest, who is signed in."""

    @get("/sw.js", name="offline.worker", cache=False)
    async def worker(self, request: Request) -> Response:
        """The service worker, served at the site root so its scope is the whole app."""
        config = json.dumps(_worker_config(request), ensure_ascii=False)
        body = _worker_source().replace("self.KEHU_CONFIG", config, 1)
        return Response(content=body, media_type="application/javascript; charset=utf-8")

    @get("/manifest.webmanifest", name="offline.manifest", cache=False)
    async def manifest(self, request: Request) -> Response:
        """The web app manifest in the visitor's language (home screen name and icons)."""
        home = request.app.route_reverse("home")
        icon = "icons/kehu-{}.png"
        body = {
            "name": _("Kehu customers"),
            "short_name": _("Kehu"),
            "description": _("Customers, visits and follow-ups for the field and the counter."),
            "lang": "zh-CN" if current_locale() == "zh_CN" else "en",
            "start_url": home,
            "scope": home,
            "display": "standalone",
            "theme_color": THEME,
            "background_color": "#ffffff",
            "icons": [
                {"src": static_url(icon.format(192)), "sizes": "192x192", "type": "image/png"},
                {"src": static_url(icon.format(512)), "sizes": "512x512", "type": "image/png"},
                {
                    "src": static_url(icon.format("maskable-512")),
                    "sizes": "512x512",
                    "type": "image/png",
                    "purpose": "maskable",
                },
            ],
        }
        return Response(content=body, media_type="application/manifest+json")

    @get("/visits/sync/state", name="visits.sync_state", cache=False)
    async def state(self, request: Request) -> Response:
        """Who is signed in here and a fresh CSRF token: the outbox asks before it sends."""
        actor = actor_of(request)
        token = ScopeState.from_scope(request.scope).csrf_token
        return _json({"user": actor.id if actor else None, "csrf": token if actor else None})


def _refusal(exc: VisitError | BadKey) -> Response:
    """The machine-readable answer to a visit the server will not store."""
    status, reason, message = (
        REFUSALS.get(type(exc)) if isinstance(exc, VisitError) else None
    ) or (400, "invalid", MSG_INVALID)
    return _json({"status": "refused", "reason": reason, "message": _(message)}, status)


def _customer_id(data: Form) -> int | None:
    """The customer id the outbox sent, or None."""
    raw = field(data, "customer_id")
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 12 else None


class SyncController(Controller):
    """The outbox's endpoint: one visit per request, stored once per idempotency key."""

    guards = [require_user]

    @post("/visits/sync", name="visits.sync")
    async def sync(
        self,
        request: Request,
        db: AsyncSession,
        actor: Actor,
        settings: Settings,
        now: datetime,
        data: Form,
    ) -> Response:
        """Store a visit the phone kept; answer JSON (stored, or refused with a reason)."""
        customer_id = _customer_id(data)
        try:
            if customer_id is None:
                raise BadKey()
            recorded = await record_from_form(
                request, db, actor=actor, settings=settings, now=now,
                customer_id=customer_id, data=data,
            )  # fmt: skip
        except (VisitError, BadKey) as exc:
            return _refusal(exc)
        await db.commit()
        return _json(
            {
                "status": "stored",
                "created": recorded.created,
                "visit_id": recorded.visit_id,
                "customer_id": customer_id,
                "at": recorded.at.isoformat(),
                "received_at": now.isoformat(),
            }
        )
