"""The client's address for audit events and rate limits."""

from litestar import Request


def client_ip(request: Request) -> str:
    """Return the peer address of the request (no proxy headers are trusted)."""
    return request.client.host if request.client else ""
