"""The application factory: builds the Litestar app from frozen settings."""

from collections.abc import AsyncIterator

from litestar import Litestar, Request
from litestar.config.compression import CompressionConfig
from litestar.config.csrf import CSRFConfig
from litestar.datastructures import CacheControlHeader, State
from litestar.di import Provide
from litestar.exceptions import HTTPException
from litestar.middleware import DefineMiddleware
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.static_files import create_static_files_router
from litestar.template import TemplateConfig
from sqlmodel.ext.asyncio.session import AsyncSession

from db.engine import make_engine, make_sessionmaker
from domain.users import Actor
from web.errors import http_exception_handler, internal_error_handler
from web.guards import current_actor
from web.routes import route_handlers
from web.sessions import SessionMiddleware
from web.settings import Settings
from web.templating import STATIC_DIR, make_environment


async def provide_db(state: State) -> AsyncIterator[AsyncSession]:
    """Yield a request-scoped database session; handlers commit explicitly."""
    async with state.sessionmaker() as session:
        try:
            yield session
        finally:
            await session.rollback()


def provide_actor(request: Request) -> Actor:
    """Inject the signed-in user (guards have already checked there is one)."""
    return current_actor(request)


def provide_settings(state: State) -> Settings:
    """Inject the app's settings."""
    return state.settings


def create_app(settings: Settings) -> Litestar:
    """Build the Kehu web app for the given settings."""
    engine = make_engine(settings.database_url)
    sessionmaker = make_sessionmaker(engine)

    async def dispose_engine() -> None:
        await engine.dispose()

    static = create_static_files_router(
        path="/static",
        directories=[STATIC_DIR],
        cache_control=CacheControlHeader(max_age=31536000, public=True),
        include_in_schema=False,
    )
    return Litestar(
        route_handlers=[static, *route_handlers()],
        dependencies={
            "db": Provide(provide_db),
            "actor": Provide(provide_actor, sync_to_thread=False),
            "settings": Provide(provide_settings, sync_to_thread=False),
        },
        middleware=[
            DefineMiddleware(SessionMiddleware, sessionmaker=sessionmaker, settings=settings),
        ],
        csrf_config=CSRFConfig(
            secret=settings.secret_key,
            cookie_name="kehu_csrf",
            cookie_secure=settings.secure_cookies,
            cookie_httponly=True,
            cookie_samesite="lax",
        ),
        compression_config=CompressionConfig(backend="brotli", brotli_gzip_fallback=True),
        template_config=TemplateConfig(
            engine=JinjaTemplateEngine.from_environment(make_environment())
        ),
        exception_handlers={
            HTTPException: http_exception_handler,
            Exception: internal_error_handler,
        },
        state=State({"settings": settings, "engine": engine, "sessionmaker": sessionmaker}),
        on_shutdown=[dispose_engine],
        openapi_config=None,
        logging_config=None,
        debug=False,
        request_max_body_size=2 * 1024 * 1024,
    )
