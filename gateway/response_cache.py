"""Where cached GraphQL answers live: a small protocol, in memory or in Redis (issue 11).

Answers are stored under keys that already include everything they depend on (document,
variables, permission set, subject when private, and each touched domain's *generation*).
Invalidating a domain is therefore one counter increment: every key built afterwards differs,
and the old entries simply age out. With ``REDIS_URL`` set, every replica shares the
answers and the generations.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import Protocol

from redis.exceptions import RedisError

from gateway.redisclient import redis_client


class ResponseCache(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def set(self, key: str, value: bytes, ttl: float) -> None: ...
    async def generations(self, domains: Iterable[str]) -> dict[str, int]: ...
    async def invalidate(self, domain: str) -> None: ...
    async def close(self) -> None: ...


class MemoryResponseCache:
    def __init__(
        self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()
        self._generations: dict[str, int] = {}
        self._max = max_entries
        self._clock = clock

    async def get(self, key: str) -> bytes | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if found[0] <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return found[1]

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max:
            self._entries.popitem(last=False)

    async def generations(self, domains: Iterable[str]) -> dict[str, int]:
        return {d: self._generations.get(d, 0) for d in domains}

    async def invalidate(self, domain: str) -> None:
        self._generations[domain] = self._generations.get(domain, 0) + 1

    async def close(self) -> None:
        self._entries.clear()


class RedisResponseCache:
    """Shared by the replicas. A Redis outage makes every lookup a miss, never an error."""

    def __init__(self, *, url: str, prefix: str) -> None:
        self._redis = redis_client(url, timeout=1, socket_connect_timeout=1, socket_timeout=1)
        self._prefix = f"{prefix}rc:"

    async def get(self, key: str) -> bytes | None:
        try:
            return await self._redis.get(self._prefix + key)
        except (RedisError, OSError):
            return None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        try:
            await self._redis.set(self._prefix + key, value, px=max(1, int(ttl * 1000)))
        except (RedisError, OSError):
            return

    async def generations(self, domains: Iterable[str]) -> dict[str, int]:
        names = list(domains)
        if not names:
            return {}
        try:
            raw = await self._redis.mget([f"{self._prefix}gen:{d}" for d in names])
        except (RedisError, OSError):
            raise CacheUnavailable from None
        return {d: int(v) if v else 0 for d, v in zip(names, raw, strict=True)}

    async def invalidate(self, domain: str) -> None:
        try:
            await self._redis.incr(f"{self._prefix}gen:{domain}")
        except (RedisError, OSError):
            return  # the answers age out within their max-age anyway

    async def close(self) -> None:
        await self._redis.aclose()


class CacheUnavailable(Exception):
    """The shared generations cannot be read: answer without the cache."""


def make_response_cache(redis_url: str | None, *, prefix: str, max_entries: int) -> ResponseCache:
    if redis_url:
        return RedisResponseCache(url=redis_url, prefix=prefix)
    return MemoryResponseCache(max_entries=max_entries)
