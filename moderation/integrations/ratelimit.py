"""Request limits per API key: fixed one-minute windows, counted in Redis so every instance shares them."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

log = logging.getLogger(__name__)
WINDOW = 60  # seconds


@dataclass(frozen=True)
class Allowance:
    allowed: bool
    limit: int
    remaining: int
    reset: int  # seconds until the window ends


def _window(now: float) -> tuple[int, int]:
    start = int(now // WINDOW)
    return start, WINDOW - int(now % WINDOW)


class MemoryLimiter:
    """Counts in this process only: right for one process (development), wrong for several."""

    def __init__(self) -> None:
        self._counts: dict[tuple[str, int], int] = {}
        self._lock = threading.Lock()

    def hit(self, key: str, limit: int) -> Allowance:
        window, reset = _window(time.time())
        with self._lock:
            if len(self._counts) > 10_000:  # old windows
                self._counts = {k: v for k, v in self._counts.items() if k[1] == window}
            count = self._counts[(key, window)] = self._counts.get((key, window), 0) + 1
        return Allowance(count <= limit, limit, max(0, limit - count), reset)


class RedisLimiter:
    """INCR and EXPIRE on one key per window, in one round trip; shared by every app instance."""

    def __init__(self, url: str) -> None:
        import redis  # noqa: PLC0415 - only when configured

        self.redis = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def hit(self, key: str, limit: int) -> Allowance:
        window, reset = _window(time.time())
        name = f"moderation:ratelimit:{key}:{window}"
        try:
            pipe = self.redis.pipeline(transaction=True)
            pipe.incr(name)
            pipe.expire(name, WINDOW * 2)
            count = pipe.execute()[0]
        except Exception as exc:  # noqa: BLE001 - a Redis outage must not stop comments from arriving
            log.warning("rate limit not checked, Redis unavailable: %s", exc)
            return Allowance(True, limit, limit, reset)
        return Allowance(count <= limit, limit, max(0, limit - count), reset)


def limiter_for(redis_url: str) -> MemoryLimiter | RedisLimiter:
    return RedisLimiter(redis_url) if redis_url else MemoryLimiter()
