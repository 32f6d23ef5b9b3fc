"""Rate limits for sign-in and enrolment, counted in the database so every process agrees.

What can be guessed or abused is limited per key: an enrolment link, a passkey (credential
id) and a session each get `rate_limit_per_minute` attempts. The client address only gets
a high flood guard (`flood_limit_per_minute`): a whole office, or every user behind a
reverse proxy, shares one address, so a per-address limit tight enough to stop guessing
would lock colleagues out of each other's sign-ins. (Nothing per address is guessable
anyway: enrolment tokens are 256-bit random and sign-in is passkey-only.)
"""

import hashlib
import time
from dataclasses import dataclass

from litestar import Request

from db.engine import session_scope, write_gate
from db.ratelimit import WINDOW_SECONDS, rate_hits_add, rate_hits_purge
from db.sessions import session_purge_expired
from web.core.client_ip import client_ip
from web.core.clock import request_now
from web.core.i18n import gettext as _

# Expired sessions and old counters are swept at most this often per process, by the
# first rate-limited request after the interval (auth traffic is what creates both).
HOUSEKEEPING_SECONDS = 300.0


@dataclass(frozen=True)
class Throttled:
    """A refused request: how long to wait and whether the address (not a key) was over."""

    wait: float
    network: bool

    @property
    def retry_after(self) -> str:
        """The Retry-After header value in whole seconds."""
        return str(max(1, int(self.wait + 0.999)))

    @property
    def message(self) -> str:
        """What to tell the person."""
        if self.network:
            return _("Too many attempts from your network. Wait a minute and try again.")
        return _("Too many attempts. Wait a minute and try again.")


def limit_key(kind: str, value: str | bytes) -> str:
    """A fixed-size counter key; raw tokens and credential ids never reach the table."""
    raw = value.encode() if isinstance(value, str) else value
    return f"{kind}:{hashlib.sha256(raw).hexdigest()[:40]}"


async def throttle(request: Request, **keys: str | bytes | None) -> Throttled | None:
    """Count one attempt for the client address and each given key; None when allowed.

    Keys are named by kind (``link=token``, ``credential=raw_id``, ``session=token``);
    None values are skipped. Every attempt counts, refused ones too, so a flood stays slowed
    for as long as it goes on.
    """
    settings = request.app.state.settings
    limits = {limit_key("ip", client_ip(request)): settings.flood_limit_per_minute}
    for kind, value in keys.items():
        if value:
            limits[limit_key(kind, value)] = settings.rate_limit_per_minute
    now = request_now(request)
    stamp = now.timestamp()
    window = int(stamp // WINDOW_SECONDS)
    async with session_scope(request.app.state.sessionmaker) as db:
        await write_gate(db)
        counts = await rate_hits_add(db, keys=list(limits), window=window)
        if _housekeeping_due(request):
            await rate_hits_purge(db, before_window=window - 1)
            await session_purge_expired(db, now=now)
        await db.commit()
    over = [key for key, limit in limits.items() if counts.get(key, 0) > limit]
    if not over:
        return None
    wait = (window + 1) * WINDOW_SECONDS - stamp
    return Throttled(wait=wait, network=any(k.startswith("ip:") for k in over))


def _housekeeping_due(request: Request) -> bool:
    """Whether this process should sweep expired rows now (and note that it did)."""
    state = request.app.state
    last = state.get("housekeeping_at")
    clock = time.monotonic()
    if last is not None and clock - last < HOUSEKEEPING_SECONDS:
        return False
    state["housekeeping_at"] = clock
    return True
