"""The client's address for audit events and rate limits, behind trusted proxies only."""

import ipaddress
from functools import lru_cache

from litestar import Request

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=16)
def _networks(trusted: tuple[str, ...]) -> tuple[IPNetwork, ...]:
    """Parse the trusted proxy networks once per setting."""
    return tuple(ipaddress.ip_network(t, strict=False) for t in trusted)


def _is_trusted(address: str, networks: tuple[IPNetwork, ...]) -> bool:
    """Whether an address lies in one of the trusted networks."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(peer: str, forwarded_for: list[str], trusted: tuple[str, ...]) -> str:
    """Return the client address a request came from.

    `X-Forwarded-For` is believed only when the peer is a trusted proxy, and only as far
    as the chain stays trusted: reading right to left, the first address that is not a
    trusted proxy is the client (anything left of it was written by the client itself).
    """
    networks = _networks(trusted)
    if not networks or not _is_trusted(peer, networks):
        return peer
    hops = [h.strip() for value in forwarded_for for h in value.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _is_trusted(hop, networks):
            try:
                return str(ipaddress.ip_address(hop))
            except ValueError:
                return peer  # garbage in the header: fall back to the proxy itself
    return hops[0] if hops else peer


def client_ip(request: Request) -> str:
    """Return the client address of a request (proxy headers only from trusted proxies)."""
    peer = request.client.host if request.client else ""
    settings = request.app.state.get("settings")
    trusted = settings.trusted_proxies if settings is not None else ()
    if not trusted:
        return peer
    return client_address(peer, request.headers.getall("x-forwarded-for", []), trusted)
