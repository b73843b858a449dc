"""A small response cache (ariadne-graphql-proxy style): ``get``/``set`` with a TTL.

:class:`MemoryCache` keeps entries in the process (bounded, LRU); :class:`RedisCache` shares
them across replicas. :func:`open_cache` picks Redis when ``REDIS_URL`` is set. Values are
bytes; keys are built by the caller and must already carry everything that scopes the value
(who asked, what was asked) — see :func:`gateway.backends.brigade.caller.cache_key`.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Protocol

from redis.exceptions import RedisError

from gateway.redisclient import redis_client

log = logging.getLogger(__name__)


class Cache(Protocol):
    async def get(self, key: str) -> bytes | None: ...

    async def set(self, key: str, value: bytes, ttl: float) -> None: ...

    async def close(self) -> None: ...


class MemoryCache:
    """In-process, bounded: the least recently used entry goes first when full."""

    def __init__(
        self, *, max_entries: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.max_entries = max_entries
        self._clock = clock
        self._entries: OrderedDict[str, tuple[float, bytes]] = OrderedDict()

    async def get(self, key: str) -> bytes | None:
        entry = self._entries.get(key)
        if entry is None:
            return None
        expires, value = entry
        if expires <= self._clock():
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return value

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    async def close(self) -> None:
        self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)


class RedisCache:
    """Shared by every replica; Redis expires the keys itself (``PX``)."""

    def __init__(self, *, url: str, prefix: str) -> None:
        self.prefix = prefix
        self._redis = redis_client(url, timeout=2, socket_timeout=2, socket_connect_timeout=2)

    async def get(self, key: str) -> bytes | None:
        try:
            return await self._redis.get(self.prefix + key)
        except RedisError as exc:  # a cache outage costs a backend call, never the query
            log.warning("cache get failed: %s", exc)
            return None

    async def set(self, key: str, value: bytes, ttl: float) -> None:
        try:
            await self._redis.set(self.prefix + key, value, px=max(1, int(ttl * 1000)))
        except RedisError as exc:
            log.warning("cache set failed: %s", exc)

    async def close(self) -> None:
        await self._redis.aclose()


def open_cache(redis_url: str | None, *, prefix: str) -> Cache:
    """Redis when ``redis_url`` is set (keys under ``prefix``), in-process otherwise."""
    if redis_url:
        return RedisCache(url=redis_url, prefix=prefix)
    return MemoryCache()
