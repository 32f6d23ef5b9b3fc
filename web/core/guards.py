"""Guards: who may reach a handler at all (row-level checks live in db queries).

Guards are coroutines on purpose: Litestar runs a plain function guard through
`sync_to_thread`, a thread-pool hop per guard per request that cost more than the rest of
a signed-in no-op request (issue 17, py-spy on /healthz).
"""

from litestar.connection import ASGIConnection
from litestar.exceptions import PermissionDeniedException
from litestar.handlers import BaseRouteHandler

from domain.enums import Role
from domain.users import Actor
from web.core.errors import NotSignedIn


def actor_of(connection: ASGIConnection) -> Actor | None:
    """Return the signed-in user of a connection, or None."""
    state = connection.scope.get("state", {}).get("session")
    return state.actor if state else None


async def require_user(connection: ASGIConnection, _handler: BaseRouteHandler) -> None:
    """Let only signed-in users through; others are sent to sign in."""
    if actor_of(connection) is None:
        raise NotSignedIn()


def require_roles(*roles: Role):
    """Build a guard that lets only the given roles through (after sign-in)."""

    async def guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
        await require_user(connection, handler)
        actor = actor_of(connection)
        if actor is None or actor.role not in roles:
            raise PermissionDeniedException()

    return guard


def current_actor(connection: ASGIConnection) -> Actor:
    """Return the signed-in user (handlers behind require_user only)."""
    actor = actor_of(connection)
    if actor is None:
        raise NotSignedIn()
    return actor
