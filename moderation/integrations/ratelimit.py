"""Request limits per API key: a moving window (the `limits` library), counted in Redis so every instance shares it."""
from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import MovingWindowRateLimiter

log = logging.getLogger(__name__)
WINDOW = 60  # seconds: limits are requests per minute
TIMEOUT = 0.5  # seconds to reach Redis before counting in this process instead


@dataclass(frozen=True)
class Allowance:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the oldest counted request leaves the window (a request is allowed again)


class Limiter:
    """At most `limit` requests per key in any `window` seconds, counted in `uri` (Redis: shared by every
    instance; empty: this process only). While Redis is unreachable each process counts alone: requests are let
    through (a process sees no more than all of them did), yet one process alone past the limit is stopped."""

    def __init__(self, uri: str = "", *, window: int = WINDOW, prefix: str = "moderation") -> None:
        self.uri, self.prefix, self.window = uri, prefix, window
        options = {"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT} if uri else {}
        storage = storage_from_string(uri, key_prefix=f"{prefix}:ratelimit", **options) if uri else MemoryStorage()
        self.shared = MovingWindowRateLimiter(storage)
        self.local = MovingWindowRateLimiter(MemoryStorage())

    def hit(self, key: str, limit: int) -> Allowance:
        item = RateLimitItemPerSecond(limit, self.window)
        try:
            return self._hit(self.shared, item, key)
        except Exception as exc:  # noqa: BLE001 - a Redis outage must not stop comments from arriving
            log.warning("rate limit counted in this process only, Redis unavailable: %s", exc)
            return self._hit(self.local, item, key)

    @staticmethod
    def _hit(strategy: MovingWindowRateLimiter, item: RateLimitItemPerSecond, key: str) -> Allowance:
        allowed = strategy.hit(item, key)
        reset_at, remaining = strategy.get_window_stats(item, key)
        return Allowance(allowed, item.amount, max(0, remaining), max(1, math.ceil(reset_at - time.time())))
