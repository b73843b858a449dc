"""Copying support of the Redis store (``ops-gateway store copy``), mixed into RedisStore."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from gateway.store.base import Catalog, KeyRecord, LogEntry

if TYPE_CHECKING:
    from redis.asyncio import Redis

    class _Base:
        redis: Redis
        prefix: str

        def _key(self, kind: str, name: str) -> str: ...
else:
    _Base = object


class RedisCopying(_Base):
    async def catalog(self) -> Catalog:
        async def names(kind: str) -> builtins.list[str]:
            start = len(self.prefix) + len(kind) + 1
            found = {
                (key.decode() if isinstance(key, bytes) else key)[start:]
                async for key in self.redis.scan_iter(match=self._key(kind, "*"), count=500)
            }
            return sorted(found)

        return Catalog(
            collections=await names("docids"),
            streams=sorted(set(await names("logseq")) | set(await names("log"))),
            namespaces=await names("ctr"),
        )

    async def export_keys(
        self, stream: str, *, offset: int, limit: int
    ) -> builtins.list[KeyRecord]:
        name = self._key("logkeys", stream)
        if (await self.redis.type(name)) in (b"set", "set"):  # from before keys had times
            members = sorted(await self.redis.smembers(name))[offset : offset + limit]
            return [(m.decode(), 0.0) for m in members]
        rows = await self.redis.zrange(name, offset, offset + limit - 1, withscores=True)
        return [(m.decode(), float(score)) for m, score in rows]

    async def restore(
        self, stream: str, entries: Sequence[LogEntry], keys: Sequence[KeyRecord]
    ) -> None:
        log, seq = self._key("log", stream), self._key("logseq", stream)
        async with self.redis.pipeline(transaction=True) as pipe:
            for e in entries:
                fields: dict[str, Any] = {"d": orjson.dumps(e.data), "t": repr(e.ts)}
                if e.key is not None:
                    fields["k"] = e.key
                pipe.xadd(log, fields, id=f"{e.cursor}-0")
            for key, at in keys:
                pipe.zadd(self._key("logkeys", stream), {key: at}, nx=True)
            await pipe.execute()
        top = max((e.cursor for e in entries), default=0)
        current = int(await self.redis.get(seq) or 0)
        if top > current:
            await self.redis.set(seq, top)
