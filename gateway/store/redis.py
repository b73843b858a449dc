"""Redis implementation of the Store protocol, for replicas sharing one store.

Layout (every key under ``prefix``; the type tag before the first ``:`` keeps kinds apart):

- ``doc:{collection}``  hash id -> ``"{version}|{updated_at}|{json}"`` (one HMGET for get_many;
  Lua reads the version without decoding the JSON), ``docids:{collection}`` a zset of ids at
  score 0 so ``list`` pages in byte order, like SQLite's BINARY collation;
- ``log:{stream}`` a Redis stream with entry id ``{cursor}-0``, ``logseq:{stream}`` the INCR
  cursor and ``logkeys:{stream}`` the idempotency keys, a zset scored by the time each was
  recorded (untouched by trim; pruned after the retention window by ``prune_keys``);
- ``ctr:{namespace}`` hash of counters; ``ttl:{key}`` strings with a Redis expiry.

Multi-key updates run as Lua scripts, so each call is atomic. Durability of acknowledged
writes follows the server's persistence settings (``appendonly yes`` for kill -9 safety).
"""

from __future__ import annotations

import builtins
import math
import time
from collections.abc import Mapping, Sequence
from typing import Any

import orjson
from redis.asyncio import Redis

from gateway.errors import ConflictError
from gateway.redisclient import redis_client
from gateway.store.base import JSON, Document
from gateway.store.redis_copy import RedisCopying
from gateway.store.redis_logs import APPEND, RedisLogs

# KEYS: doc hash, id zset. ARGV: id, expected version (-1: any), json, updated_at.
# Returns {ok, version}: ok=0 is a conflict and version the stored one.
_PUT = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local v = cur and tonumber(string.match(cur, '^(%d+)|')) or 0
local expected = tonumber(ARGV[2])
if expected >= 0 and expected ~= v then return {0, v} end
redis.call('HSET', KEYS[1], ARGV[1], (v + 1) .. '|' .. ARGV[4] .. '|' .. ARGV[3])
if v == 0 then redis.call('ZADD', KEYS[2], 0, ARGV[1]) end
return {1, v + 1}
"""
# KEYS and ARGV as _PUT (without json, updated_at). Returns {ok, stored version or 0}.
_DELETE = """
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local v = cur and tonumber(string.match(cur, '^(%d+)|')) or 0
local expected = tonumber(ARGV[2])
if expected >= 0 and expected ~= v then return {0, v} end
if v > 0 then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[1])
end
return {1, v}
"""
# KEYS as _PUT. ARGV: lex start ('-' or '(' .. after), limit. Returns {id, record, ...}.
_LIST = """
local ids = redis.call('ZRANGE', KEYS[2], ARGV[1], '+', 'BYLEX', 'LIMIT', 0, ARGV[2])
local out = {}
for _, id in ipairs(ids) do
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGET', KEYS[1], id)
end
return out
"""
# KEYS: guard hash, then one counter hash per namespace. ARGV: guarded ('1'/'0'), guard
# name, expected value, then per namespace its number of pairs and its (name, delta) pairs.
_INCR_MANY = """
if ARGV[1] == '1' and tonumber(redis.call('HGET', KEYS[1], ARGV[2]) or '0') ~= tonumber(ARGV[3])
then
  return 0
end
local i = 4
for k = 2, #KEYS do
  local n = tonumber(ARGV[i])
  for j = 1, n do
    redis.call('HINCRBY', KEYS[k], ARGV[i + 2 * j - 1], ARGV[i + 2 * j])
  end
  i = i + 1 + 2 * n
end
return 1
"""


def _parse_doc(collection: str, id: str, record: bytes) -> Document:
    version, updated_at, data = record.split(b"|", 2)
    return Document(collection, id, orjson.loads(data), int(version), float(updated_at))


class RedisStore(RedisLogs, RedisCopying):
    """``Store`` on Redis via ``redis.asyncio``; ``prefix`` namespaces every key."""

    def __init__(self, *, url: str, prefix: str = "ogw:") -> None:
        self.url = url
        self.prefix = prefix
        self._redis: Redis | None = None

    @property
    def redis(self) -> Redis:
        if self._redis is None:
            raise RuntimeError("RedisStore is not open: await store.open() first")
        return self._redis

    def _key(self, kind: str, name: str) -> str:
        return f"{self.prefix}{kind}:{name}"

    def _doc_keys(self, collection: str) -> list[str]:
        return [self._key("doc", collection), self._key("docids", collection)]

    # -- lifecycle -----------------------------------------------------------------------
    async def open(self) -> None:
        if self._redis is not None:
            return
        # Bounded waits: a hung Redis turns into errors (and a failing /readyz), not stuck
        # requests; the health check revives pooled connections idle across a Redis restart.
        client = redis_client(
            self.url,
            timeout=10,
            socket_connect_timeout=5,
            socket_timeout=10,
            health_check_interval=30,
        )
        try:
            await client.ping()  # fail at start-up, not on the first request
        except BaseException:
            await client.aclose()
            raise
        self._redis = client
        self._put = client.register_script(_PUT)
        self._delete = client.register_script(_DELETE)
        self._list = client.register_script(_LIST)
        self._append = client.register_script(APPEND)
        self._incr_many = client.register_script(_INCR_MANY)

    async def close(self) -> None:
        if self._redis is not None:
            client, self._redis = self._redis, None
            await client.aclose()

    async def ping(self) -> None:
        await self.redis.ping()

    # -- documents -----------------------------------------------------------------------
    async def get(self, collection: str, id: str) -> Document | None:
        record = await self.redis.hget(self._key("doc", collection), id)
        return None if record is None else _parse_doc(collection, id, record)

    async def get_many(self, collection: str, ids: Sequence[str]) -> dict[str, Document]:
        unique = builtins.list(dict.fromkeys(ids))
        if not unique:
            return {}
        records = await self.redis.hmget(self._key("doc", collection), unique)
        return {
            id: _parse_doc(collection, id, rec)
            for id, rec in zip(unique, records, strict=True)
            if rec is not None
        }

    async def put(
        self, collection: str, id: str, data: JSON, *, expected_version: int | None = None
    ) -> Document:
        payload, now = orjson.dumps(data), time.time()
        expected = -1 if expected_version is None else expected_version
        ok, version = await self._put(
            keys=self._doc_keys(collection), args=[id, expected, payload, repr(now)]
        )
        if not ok:
            raise ConflictError(f"{collection}/{id} is at version {version}, expected {expected}")
        return Document(collection, id, orjson.loads(payload), int(version), now)

    async def delete(
        self, collection: str, id: str, *, expected_version: int | None = None
    ) -> bool:
        expected = -1 if expected_version is None else expected_version
        ok, version = await self._delete(keys=self._doc_keys(collection), args=[id, expected])
        if not ok:
            raise ConflictError(f"{collection}/{id} is at version {version}, expected {expected}")
        return bool(version)

    async def list(
        self, collection: str, *, after: str | None = None, limit: int = 100
    ) -> builtins.list[Document]:
        if limit <= 0:
            return []
        start = "-" if after is None else f"({after}"
        flat = await self._list(keys=self._doc_keys(collection), args=[start, limit])
        return [
            _parse_doc(collection, id.decode(), rec)
            for id, rec in zip(flat[::2], flat[1::2], strict=True)
            if rec is not None
        ]

    async def count(self, collection: str) -> int:
        return int(await self.redis.hlen(self._key("doc", collection)))

    # -- counters ------------------------------------------------------------------------
    async def incr(self, namespace: str, deltas: Mapping[str, int]) -> dict[str, int]:
        if not deltas:
            return {}
        name = self._key("ctr", namespace)
        async with self.redis.pipeline(transaction=True) as pipe:  # MULTI/EXEC: all or none
            for counter, delta in deltas.items():
                pipe.hincrby(name, counter, int(delta))
            values = await pipe.execute()
        return {counter: int(v) for counter, v in zip(deltas, values, strict=True)}

    async def incr_many(
        self,
        deltas: Mapping[str, Mapping[str, int]],
        *,
        guard: tuple[str, str, int] | None = None,
    ) -> bool:
        # One Lua script: the guard check and every HINCRBY happen as one atomic step.
        guard_ns, guard_name, expected = guard if guard is not None else ("", "", 0)
        keys = [self._key("ctr", guard_ns)]
        args: builtins.list[Any] = ["0" if guard is None else "1", guard_name, expected]
        for namespace, named in deltas.items():
            keys.append(self._key("ctr", namespace))
            args.append(len(named))
            for counter, delta in named.items():
                args += [counter, int(delta)]
        return bool(await self._incr_many(keys=keys, args=args))

    async def counters(self, namespace: str, names: Sequence[str] | None = None) -> dict[str, int]:
        name = self._key("ctr", namespace)
        if names is None:
            raw = await self.redis.hgetall(name)
            return {k.decode(): int(v) for k, v in raw.items()}
        unique = builtins.list(dict.fromkeys(names))
        if not unique:
            return {}
        values = await self.redis.hmget(name, unique)
        return {n: int(v) for n, v in zip(unique, values, strict=True) if v is not None}

    # -- TTL entries ---------------------------------------------------------------------
    async def set_ttl(self, key: str, value: JSON, ttl_seconds: float) -> None:
        name = self._key("ttl", key)
        if ttl_seconds <= 0:  # Redis refuses a zero expiry; an expired entry is no entry
            await self.redis.delete(name)
            return
        ms = max(1, math.ceil(ttl_seconds * 1000))
        await self.redis.set(name, orjson.dumps(value), px=ms)

    async def get_ttl(self, key: str) -> JSON | None:
        raw = await self.redis.get(self._key("ttl", key))
        return None if raw is None else orjson.loads(raw)

    async def delete_ttl(self, key: str) -> None:
        await self.redis.delete(self._key("ttl", key))
