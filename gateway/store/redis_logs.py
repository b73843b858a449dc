"""The Redis store's append-only logs, mixed into RedisStore.

``log:{stream}`` is a Redis stream with entry id ``{cursor}-0``, ``logseq:{stream}`` the INCR
cursor and ``logkeys:{stream}`` the idempotency keys, a zset scored by the time each was
recorded (untouched by trim; pruned after the retention window by ``prune_keys``).
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from gateway.store.base import JSON, AppendResult, LogEntry
from gateway.store.log_reader import NO_BOUND, LogReader

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.commands.core import AsyncScript

    class _Base:
        redis: Redis
        _append: AsyncScript

        def _key(self, kind: str, name: str) -> str: ...
else:
    _Base = object

# KEYS: stream, cursor seq, key zset. ARGV: ts, then (has_key, key, json) per item.
# Returns one cursor per item, 0 for a duplicate key. ZADD NX both tests and claims the key,
# which also catches a key repeated within the batch. A set of keys from before keys had
# times is turned into a zset first, its keys stamped now (kept a whole window from now).
APPEND = """
if redis.call('TYPE', KEYS[3]).ok == 'set' then
  local old = redis.call('SMEMBERS', KEYS[3])
  redis.call('DEL', KEYS[3])
  for _, member in ipairs(old) do redis.call('ZADD', KEYS[3], ARGV[1], member) end
end
local out = {}
for i = 2, #ARGV, 3 do
  local has_key, key = ARGV[i] == '1', ARGV[i + 1]
  if has_key and redis.call('ZADD', KEYS[3], 'NX', ARGV[1], key) == 0 then
    out[#out + 1] = 0
  else
    local cursor = redis.call('INCR', KEYS[2])
    if has_key then
      redis.call('XADD', KEYS[1], cursor .. '-0', 'd', ARGV[i + 2], 't', ARGV[1], 'k', key)
    else
      redis.call('XADD', KEYS[1], cursor .. '-0', 'd', ARGV[i + 2], 't', ARGV[1])
    end
    out[#out + 1] = cursor
  end
end
return out
"""


def _parse_entry(entry_id: bytes, fields: dict[bytes, bytes]) -> LogEntry:
    key = fields.get(b"k")
    return LogEntry(
        int(entry_id.split(b"-", 1)[0]),
        None if key is None else key.decode(),
        orjson.loads(fields[b"d"]),
        float(fields[b"t"]),
    )


class RedisLogs(LogReader, _Base):
    # -- append-only logs ----------------------------------------------------------------
    async def append(self, stream: str, items: Sequence[tuple[str | None, JSON]]) -> AppendResult:
        if not items:
            return AppendResult()
        now = time.time()
        args: builtins.list[Any] = [repr(now)]
        payloads = []
        for key, data in items:
            payloads.append(orjson.dumps(data))
            args += ["0", "", payloads[-1]] if key is None else ["1", key, payloads[-1]]
        keys = [self._key(k, stream) for k in ("log", "logseq", "logkeys")]
        cursors = await self._append(keys=keys, args=args)
        result = AppendResult()
        for (key, _), payload, cursor in zip(items, payloads, cursors, strict=True):
            if cursor:
                result.entries.append(LogEntry(int(cursor), key, orjson.loads(payload), now))
            elif key is not None:
                result.duplicates.append(key)
        return result

    async def _window(
        self, stream: str, lo: int, hi: int, limit: int, reverse: bool
    ) -> builtins.list[LogEntry]:
        # Cursors start at 1, so "before 1" (or an empty after/before window) is empty.
        if hi <= max(lo, 0) + 1:
            return []
        low = "-" if lo < 1 else f"({lo}-0"
        high = "+" if hi == NO_BOUND else f"({hi}-0"
        name = self._key("log", stream)
        if reverse:
            rows = await self.redis.xrevrange(name, max=high, min=low, count=limit)
        else:
            rows = await self.redis.xrange(name, min=low, max=high, count=limit)
        return [_parse_entry(entry_id, fields) for entry_id, fields in rows]

    async def log_length(self, stream: str) -> int:
        return int(await self.redis.xlen(self._key("log", stream)))

    async def trim(self, stream: str, *, upto: int) -> int:
        if upto < 1:
            return 0
        # MINID drops ids strictly below the threshold; exact (not "~") so counts are true.
        name = self._key("log", stream)
        return int(await self.redis.xtrim(name, minid=f"{upto + 1}-0", approximate=False))

    async def prune_keys(self, *, older_than: float) -> int:
        pruned = 0
        async for name in self.redis.scan_iter(match=self._key("logkeys", "*"), count=500):
            if (await self.redis.type(name)) in (b"set", "set"):
                continue  # an old-style set: converted (and stamped) by its next append
            pruned += int(await self.redis.zremrangebyscore(name, "-inf", f"({older_than}"))
        return pruned
