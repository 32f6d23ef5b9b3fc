"""Sliding-window rate limit per client address for the sign-in and enrolment endpoints.

The counters live in this process's memory (one limiter per app): with several server
processes each enforces its own limit, so the effective limit is N × the setting. That is
enough to stop guessing and flooding from one address; put a proxy limit in front of a
multi-process deployment if a hard global limit is needed.
"""

import threading
from collections import deque

from litestar import Request

from web.core.client_ip import client_ip

WINDOW_SECONDS = 60.0
_MAX_KEYS = 10_000


class RateLimiter:
    """Allow at most `limit` hits per key within any 60-second window."""

    def __init__(self, limit: int):
        """Create a limiter for `limit` hits per minute and key."""
        self.limit = limit
        self._hits: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, now: float) -> float:
        """Count one hit at `now` (seconds); return 0 when allowed, else the seconds to wait."""
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - WINDOW_SECONDS:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1.0, hits[0] + WINDOW_SECONDS - now)
            hits.append(now)
            if len(self._hits) > _MAX_KEYS:
                self._prune(now)
            return 0.0

    def _prune(self, now: float) -> None:
        """Forget keys whose hits are all outside the window."""
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= now - WINDOW_SECONDS]:
            del self._hits[key]


def limiter_of(request: Request) -> RateLimiter:
    """Return the app's limiter, creating it on first use."""
    state = request.app.state
    limiter = state.get("rate_limiter")
    if limiter is None:
        limiter = RateLimiter(state.settings.rate_limit_per_minute)
        state["rate_limiter"] = limiter
    return limiter


def rate_limited(request: Request, now: float, bucket: str = "auth") -> float:
    """Count a hit for the request's client address at `now` (seconds); return seconds to wait."""
    return limiter_of(request).hit(f"{bucket}:{client_ip(request)}", now)
