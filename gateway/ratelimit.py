"""Token-bucket rate limiting per key (a token, a user, a client address).

Each key has a bucket of ``burst`` tokens refilled at ``rate`` tokens per second; a hit takes
one token. In-process by default; with Redis the bucket lives in Redis and is updated by one
Lua script timed by the Redis server's clock, so every replica draws from the same bucket
and replica clock skew does not matter.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from redis.asyncio import Redis
from redis.exceptions import RedisError

from gateway.redisclient import redis_client

log = logging.getLogger(__name__)


@runtime_checkable
class RateLimiter(Protocol):
    async def hit(self, key: str) -> float | None:
        """Take a token: ``None`` if allowed, else seconds until a token is available."""
        ...

    async def close(self) -> None: ...


def _check(rate: float, burst: int) -> None:
    if rate <= 0 or burst < 1:
        raise ValueError(f"rate must be > 0 and burst >= 1 (got rate={rate}, burst={burst})")


class MemoryRateLimiter:
    """Buckets in a dict; ``clock`` is injectable so tests need not sleep."""

    SWEEP_EVERY = 4096  # hits between sweeps of full (hence forgettable) buckets

    def __init__(
        self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        _check(rate, burst)
        self.rate, self.burst, self._clock = rate, burst, clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, updated at)
        self._hits = 0

    async def hit(self, key: str) -> float | None:
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + max(0.0, now - at) * self.rate)
        self._hits += 1
        if self._hits % self.SWEEP_EVERY == 0:
            self._sweep(now)
        if tokens >= 1.0:
            self._buckets[key] = (tokens - 1.0, now)
            return None
        self._buckets[key] = (tokens, now)
        return (1.0 - tokens) / self.rate

    def _sweep(self, now: float) -> None:
        # A bucket that has refilled completely is the same as no bucket: forget it, so
        # memory stays bounded by the keys active within the last burst/rate seconds.
        full_after = self.burst / self.rate
        self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < full_after}

    @property
    def tracked_keys(self) -> int:
        """Buckets held in memory (for metrics and tests)."""
        return len(self._buckets)

    async def close(self) -> None:
        self._buckets.clear()


# KEYS: bucket hash. ARGV: rate, burst. Returns the wait in seconds as a string ("-1": allowed);
# a Lua number would be truncated to an integer reply.
_HIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2])
local state = redis.call('HMGET', KEYS[1], 'tokens', 'at')
local tokens, at = tonumber(state[1]), tonumber(state[2])
if tokens == nil or at == nil then tokens, at = burst, now end
tokens = math.min(burst, tokens + math.max(0, now - at) * rate)
local wait = -1
if tokens >= 1 then tokens = tokens - 1 else wait = math.max((1 - tokens) / rate, 0.000001) end
local fmt = '%.6f'
redis.call('HSET', KEYS[1], 'tokens', string.format(fmt, tokens), 'at', string.format(fmt, now))
redis.call('PEXPIRE', KEYS[1], math.ceil(burst / rate * 1000) + 1000)
return string.format(fmt, wait)
"""


class RedisRateLimiter:
    """Buckets shared by every replica through Redis (pass ``url`` or a ``client``).

    ``fail_open``: while Redis is unreachable, allow every hit (with a warning) rather than
    fail every request; limiting protects the gateway, it should not become its outage.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        url: str | None = None,
        client: Redis | None = None,
        prefix: str = "ogw:",
        fail_open: bool = True,
    ) -> None:
        _check(rate, burst)
        if (url is None) == (client is None):
            raise ValueError("pass exactly one of url= or client=")
        self.rate, self.burst = rate, burst
        self.prefix = f"{prefix}rl:"
        self.fail_open = fail_open
        self._owns_client = client is None
        self._redis = client or redis_client(
            url or "", timeout=2, socket_connect_timeout=2, socket_timeout=2
        )
        self._script = self._redis.register_script(_HIT)
        self._warned_at = -float("inf")

    async def hit(self, key: str) -> float | None:
        try:
            raw = await self._script(keys=[self.prefix + key], args=[repr(self.rate), self.burst])
        except (RedisError, OSError) as exc:
            if not self.fail_open:
                raise
            if time.monotonic() - self._warned_at > 10:  # one line per 10 s, not per request
                self._warned_at = time.monotonic()
                log.warning("rate limiter: Redis unavailable (%s); allowing requests", exc)
            return None
        wait = float(raw)
        return None if wait < 0 else wait

    async def close(self) -> None:
        if self._owns_client:  # a client passed in belongs to whoever made it
            await self._redis.aclose()


def make_rate_limiter(
    redis_url: str | None, rate: float, burst: int, *, prefix: str = "ogw:"
) -> RateLimiter:
    """Redis-backed when ``redis_url`` is set (replicas share buckets), else in-process."""
    if redis_url:
        return RedisRateLimiter(url=redis_url, rate=rate, burst=burst, prefix=prefix)
    return MemoryRateLimiter(rate=rate, burst=burst)
