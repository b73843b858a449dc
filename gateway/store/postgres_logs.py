"""The PostgreSQL store's append-only logs (and copying them), mixed into PostgresStore.

An append locks its stream's head row for the transaction, so cursors are handed out in
commit order: a reader never sees cursor *n+1* before *n* (no gap it could skip past), and
the idempotency keys' primary key makes a repeated key a no-op, within a batch too.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import TYPE_CHECKING

import asyncpg
import orjson

from gateway.store.base import JSON, AppendResult, Catalog, KeyRecord, LogEntry
from gateway.store.log_reader import LogReader

if TYPE_CHECKING:

    class _Base:
        def _conn(self, *, tx: bool = False) -> AbstractAsyncContextManager[asyncpg.Connection]: ...
else:
    _Base = object


def _dumps(data: JSON) -> str:
    return orjson.dumps(data).decode()


class PostgresLogs(LogReader, _Base):
    # -- append-only logs ----------------------------------------------------------------
    async def append(self, stream: str, items: Sequence[tuple[str | None, JSON]]) -> AppendResult:
        if not items:
            return AppendResult()
        payloads = [(key, _dumps(data)) for key, data in items]
        result, now = AppendResult(), time.time()
        async with self._conn(tx=True) as c:
            # The head row, locked until commit: appenders to one stream take turns, so the
            # cursors become visible in order.
            cursor = await c.fetchval(
                "INSERT INTO log_heads VALUES ($1, 0) ON CONFLICT (stream)"
                " DO UPDATE SET last_cursor = log_heads.last_cursor RETURNING last_cursor",
                stream,
            )
            # Claim every key in one statement: the primary key decides (the planner has no
            # say, so it costs the same at any log size); a key seen before is not returned.
            keys = [key for key, _ in payloads if key is not None]
            fresh: set[str] = set()
            if keys:
                fresh = {
                    r[0]
                    for r in await c.fetch(
                        "INSERT INTO log_keys SELECT $1, k, $3 FROM unnest($2::text[]) AS k"
                        " ON CONFLICT DO NOTHING RETURNING key",
                        stream, keys, now,
                    )
                }  # fmt: skip
            cursors: list[int] = []
            row_keys: list[str | None] = []
            datas: list[str] = []
            for key, payload in payloads:
                if key is not None:
                    if key not in fresh:  # recorded before, or earlier in this batch
                        result.duplicates.append(key)
                        continue
                    fresh.discard(key)
                cursor += 1
                cursors.append(cursor)
                row_keys.append(key)
                datas.append(payload)
                result.entries.append(LogEntry(cursor, key, orjson.loads(payload), now))
            if cursors:
                # One statement (unnest), not one round trip per event.
                await c.execute(
                    "INSERT INTO logs SELECT $1, c, k, d, $5"
                    " FROM unnest($2::bigint[], $3::text[], $4::text[]) AS t(c, k, d)",
                    stream, cursors, row_keys, datas, now,
                )  # fmt: skip
                await c.execute(
                    "UPDATE log_heads SET last_cursor = $2 WHERE stream = $1", stream, cursor
                )
        return result

    async def _window(
        self, stream: str, lo: int, hi: int, limit: int, reverse: bool
    ) -> builtins.list[LogEntry]:
        order = "DESC" if reverse else "ASC"
        async with self._conn() as c:
            rows = await c.fetch(
                "SELECT cursor, key, data, ts FROM logs WHERE stream = $1 AND cursor > $2"
                f" AND cursor < $3 ORDER BY cursor {order} LIMIT $4",
                stream, lo, hi, limit,
            )  # fmt: skip
        return [LogEntry(r[0], r[1], orjson.loads(r[2]), r[3]) for r in rows]

    async def log_length(self, stream: str) -> int:
        async with self._conn() as c:
            return await c.fetchval("SELECT count(*) FROM logs WHERE stream = $1", stream)

    async def trim(self, stream: str, *, upto: int) -> int:
        async with self._conn() as c:
            status = await c.execute(
                "DELETE FROM logs WHERE stream = $1 AND cursor <= $2", stream, upto
            )
        return int(status.split()[-1])

    async def catalog(self) -> Catalog:
        async with self._conn() as c:

            async def names(sql: str) -> builtins.list[str]:
                return [r[0] for r in await c.fetch(sql)]

            return Catalog(
                collections=await names("SELECT DISTINCT collection FROM documents ORDER BY 1"),
                streams=await names(
                    "SELECT stream FROM log_heads UNION SELECT stream FROM logs ORDER BY 1"
                ),
                namespaces=await names("SELECT DISTINCT namespace FROM counters ORDER BY 1"),
            )

    async def export_keys(
        self, stream: str, *, offset: int, limit: int
    ) -> builtins.list[KeyRecord]:
        async with self._conn() as c:
            rows = await c.fetch(
                'SELECT key, at FROM log_keys WHERE stream = $1 ORDER BY key COLLATE "C"'
                " LIMIT $2 OFFSET $3",
                stream, limit, offset,
            )  # fmt: skip
        return [(r[0], r[1]) for r in rows]

    async def restore(
        self, stream: str, entries: Sequence[LogEntry], keys: Sequence[KeyRecord]
    ) -> None:
        top = max((e.cursor for e in entries), default=0)
        async with self._conn(tx=True) as c:
            await c.executemany(
                "INSERT INTO logs VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
                [(stream, e.cursor, e.key, _dumps(e.data), e.ts) for e in entries],
            )
            await c.executemany(
                "INSERT INTO log_keys VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                [(stream, key, at) for key, at in keys],
            )
            await c.execute(
                "INSERT INTO log_heads VALUES ($1, $2) ON CONFLICT (stream) DO UPDATE"
                " SET last_cursor = greatest(log_heads.last_cursor, EXCLUDED.last_cursor)",
                stream, top,
            )  # fmt: skip

    async def prune_keys(self, *, older_than: float) -> int:
        """Forget idempotency keys recorded before ``older_than`` (epoch seconds)."""
        async with self._conn() as c:
            status = await c.execute("DELETE FROM log_keys WHERE at < $1", older_than)
        return int(status.split()[-1])
