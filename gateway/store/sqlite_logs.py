"""The SQLite store's append-only logs, mixed into SQLiteStore.

A stream's head row holds its last cursor; the unique ``(stream, key)`` of ``log_keys``
makes a repeated idempotency key a no-op. Every append is one write transaction.
"""

from __future__ import annotations

import builtins
import sqlite3
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from gateway.store.base import JSON, AppendResult, LogEntry
from gateway.store.log_reader import LogReader

T = TypeVar("T")
CLAIM_KEY = "INSERT OR IGNORE INTO log_keys (stream, key, cursor, at) VALUES (?, ?, ?, ?)"
HEAD = "SELECT last_cursor FROM log_heads WHERE stream = ?"
SET_HEAD = "INSERT OR REPLACE INTO log_heads VALUES (?, ?)"

if TYPE_CHECKING:

    class _Base:
        async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...
        async def _all(self, sql: str, args: tuple[Any, ...]) -> builtins.list[Any]: ...
else:
    _Base = object


class SQLiteLogs(LogReader, _Base):
    # -- append-only logs ----------------------------------------------------------------
    async def append(self, stream: str, items: Sequence[tuple[str | None, JSON]]) -> AppendResult:
        if not items:
            return AppendResult()
        payloads = [(key, orjson.dumps(data).decode()) for key, data in items]

        def run(c: sqlite3.Connection) -> AppendResult:
            row = c.execute(HEAD, (stream,)).fetchone()
            cursor, now, result = (row[0] if row else 0), time.time(), AppendResult()
            for key, payload in payloads:
                # INSERT OR IGNORE on the unique (stream, key) tests and claims the key in one
                # step, which also catches a key repeated within this batch.
                if (
                    key is not None
                    and not c.execute(CLAIM_KEY, (stream, key, cursor + 1, now)).rowcount
                ):
                    result.duplicates.append(key)
                    continue
                cursor += 1
                c.execute(
                    "INSERT INTO logs VALUES (?, ?, ?, ?, ?)", (stream, cursor, key, payload, now)
                )
                result.entries.append(LogEntry(cursor, key, orjson.loads(payload), now))
            if result.entries:
                c.execute(SET_HEAD, (stream, cursor))
            return result

        return await self._tx(run)

    async def _window(
        self, stream: str, lo: int, hi: int, limit: int, reverse: bool
    ) -> builtins.list[LogEntry]:
        rows = await self._all(
            "SELECT cursor, key, data, ts FROM logs WHERE stream = ? AND cursor > ?"
            f" AND cursor < ? ORDER BY cursor {'DESC' if reverse else 'ASC'} LIMIT ?",
            (stream, lo, hi, limit),
        )
        return [LogEntry(r[0], r[1], orjson.loads(r[2]), r[3]) for r in rows]

    async def log_length(self, stream: str) -> int:
        return (await self._all("SELECT COUNT(*) FROM logs WHERE stream = ?", (stream,)))[0][0]

    async def trim(self, stream: str, *, upto: int) -> int:
        sql = "DELETE FROM logs WHERE stream = ? AND cursor <= ?"
        return await self._tx(lambda c: c.execute(sql, (stream, upto)).rowcount)

    async def prune_keys(self, *, older_than: float) -> int:
        sql = "DELETE FROM log_keys WHERE at < ?"
        return await self._tx(lambda c: c.execute(sql, (older_than,)).rowcount)
