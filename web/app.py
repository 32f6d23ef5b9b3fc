"""The application factory: builds the Litestar app from frozen settings."""

import functools
from collections.abc import AsyncIterator
from typing import Any

from litestar import Litestar, Request
from litestar.config.compression import CompressionConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.template import TemplateConfig
from litestar.types import Receive, Scope, Send
from sqlalchemy.exc import OperationalError
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import WriteGateTimeout, make_engine, make_sessionmaker
from db.view_log import ViewLog
from domain.users import Actor
from web.core.access import access_guard
from web.core.clock import request_now, request_today
from web.core.csrf import CsrfMiddleware
from web.core.errors import busy_handler, http_exception_handler, internal_error_handler
from web.core.guards import current_actor
from web.core.headers import SecurityHeaders
from web.core.input_check import InputCheckMiddleware
from web.core.locale import LocaleMiddleware
from web.core.sessions import SessionMiddleware
from web.core.settings import Settings
from web.core.static_assets import PREFIX as STATIC_PREFIX
from web.core.static_assets import StaticAssets
from web.core.templating import STATIC_DIR, make_environment
from web.imports import jobs as import_jobs
from web.privacy.retention import RetentionLoop
from web.reports import pdf_worker
from web.routes import route_handlers


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    """Yield a request-scoped database session; handlers commit explicitly."""
    async with state.sessionmaker() as session:
        try:
            yield session
        finally:
            # What the handler left uncommitted is rolled back; a session that holds no
            # transaction (most reads after their commit, /healthz) skips the call (issue 17).
            if session.in_transaction():
                await session.rollback()


def provide_actor(request: Request) -> Actor:
    """Inject the signed-in user (guards have already checked there is one)."""
    return current_actor(request)


def provide_settings(state: State) -> Settings:
    """Inject the app's settings."""
    return state.settings


class KehuApp(Litestar):
    """The Litestar app, with /static/ answered from memory before the middleware stack."""

    static_assets: StaticAssets
    security_headers: SecurityHeaders

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve static files directly; hand everything else to Litestar (with headers)."""
        if scope["type"] == "http" and scope["path"].startswith(STATIC_PREFIX):
            await self.static_assets(scope, receive, send)
            return
        await self.security_headers(scope, receive, send)

    async def _litestar(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Litestar's own entry point (wrapped by the security headers)."""
        await super().__call__(scope, receive, send)

    def route_reverse(self, name: str | BaseRouteHandler, **path_parameters: Any) -> str:
        """Litestar's route reversal, remembered: the same name and parameters give one path.

        A customer page reverses ~50 URLs (links, forms, hx-get), ~3 % of its CPU (issue 17).
        The cache is bounded (least recently used out); unhashable parameters skip it.
        """
        try:
            return self._reverse_cached(name, **path_parameters)
        except TypeError:
            return super().route_reverse(name, **path_parameters)

    @functools.cached_property
    def _reverse_cached(self):
        """The bounded cache in front of Litestar's route_reverse (one per app)."""
        return functools.lru_cache(maxsize=8192)(super().route_reverse)


def _dependencies_in_turn(app: Litestar) -> None:
    """Resolve each handler's dependencies one after the other instead of in a task group.

    Litestar resolves the dependencies that do not need each other (here `db`, `actor`,
    `settings`, `now`, `today`) concurrently: an anyio task group and a task per
    dependency on every request, ~15 % of a signed-in no-op request and ~8 % of a visit
    POST (py-spy, issue 17). They are all cheap and never wait on each other, so a batch of
    one each, in the same batch order (a dependency still comes after what it needs), gives
    the same values without the tasks.
    """
    for route in app.routes:
        for _handler, model in getattr(route, "route_handler_map", {}).values():
            model.dependency_batches = [
                {dependency}
                for batch in model.dependency_batches
                for dependency in sorted(batch, key=lambda d: d.key)
            ]


def create_app(settings: Settings) -> Litestar:
    """Build the Kehu web app for the given settings."""
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)

    view_log = ViewLog(sessionmaker)
    retention = RetentionLoop(sessionmaker)

    # Per worker: mark stopped the imports of dead processes, renew this process's own.
    import_lease = import_jobs.JobLease(sessionmaker)

    async def dispose_engine() -> None:
        await retention.stop()
        await import_lease.stop()
        pdf_worker.shutdown()
        await view_log.flush()
        await engine.dispose()

    app = KehuApp(
        route_handlers=route_handlers(),
        dependencies={
            "db": Provide(provide_db),
            "actor": Provide(provide_actor, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
            "now": Provide(request_now, sync_to_thread=False),
            "today": Provide(request_today, sync_to_thread=False),
        },
        # Outermost first: the session, then the language (a user's choice wins), then CSRF
        # (bound to the session id). Request ids and security headers wrap the whole app.
        middleware=[
            DefineMiddleware(SessionMiddleware, sessionmaker=sessionmaker, settings=settings),
            DefineMiddleware(LocaleMiddleware, settings=settings),
            # Inside the session (the refusal page is in the visitor's language), around CSRF.
            DefineMiddleware(InputCheckMiddleware, max_body=2 * 1024 * 1024),
            DefineMiddleware(CsrfMiddleware, settings=settings),
        ],
        # Every route's declared policy (web/core/access.py); no entry: refused.
        guards=[access_guard],
        # Dynamic HTML: brotli 3 with a 256 KB window. Isolated, quality 5 cost ~0.25 ms on a
        # 24.8 KB customer page; inside a loaded worker (caches shared with everything else)
        # it cost ~0.65 ms, quality 3 ~0.24 ms (counted per call in 2 workers at 16 clients),
        # and in interleaved rounds the page's CPU fell 6.28 -> 6.04 ms (docs/BENCHMARKS.md,
        # "Brotli inside a loaded worker"). The page grows 5.2 -> 6.2 KB; both fit the
        # first TCP flight (10 segments), so a fresh connection on a weak network waits no
        # extra round trip. A visit's ~0.5 KB answer is the same at any quality. gzip 6 else.
        compression_config=CompressionConfig(
            backend="brotli",
            brotli_gzip_fallback=True,
            brotli_quality=3,
            brotli_lgwin=18,
            gzip_compress_level=6,
        ),
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(
                make_environment(auto_reload=settings.debug)
            )
        ),
        exception_handlers={
            HTTPException: http_exception_handler,
            WriteGateTimeout: busy_handler,
            OperationalError: busy_handler,
            Exception: internal_error_handler,
        },
        state=State(
            {
                "settings": settings,
                "engine": engine,
                "sessionmaker": sessionmaker,
                "view_log": view_log,
            }
        ),
        on_startup=[retention.start, import_lease.start],
        on_shutdown=[dispose_engine],
        openapi_config=None,
        logging_config=None,
        debug=False,
        request_max_body_size=2 * 1024 * 1024,
    )
    _dependencies_in_turn(app)
    app.static_assets = StaticAssets(STATIC_DIR)
    app.security_headers = SecurityHeaders(app._litestar, https=settings.is_https)
    return app
