"""Copying support of the SQLite store (``ops-gateway store copy``), mixed into SQLiteStore."""

from __future__ import annotations

import builtins
import sqlite3
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

import orjson

from gateway.store.base import Catalog, KeyRecord, LogEntry
from gateway.store.sqlite_logs import CLAIM_KEY, HEAD, SET_HEAD

T = TypeVar("T")

if TYPE_CHECKING:

    class _Base:
        async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...
        async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T: ...
        async def _all(self, sql: str, args: tuple[Any, ...]) -> builtins.list[Any]: ...
else:
    _Base = object


def _dumps(data: Any) -> str:
    return orjson.dumps(data).decode()


class SQLiteCopying(_Base):
    # -- copying a whole store --------------------------------------------------------
    async def catalog(self) -> Catalog:
        def run(c: sqlite3.Connection) -> Catalog:
            def names(sql: str) -> builtins.list[str]:
                return [r[0] for r in c.execute(sql).fetchall()]

            return Catalog(
                collections=names("SELECT DISTINCT collection FROM documents ORDER BY 1"),
                streams=names(
                    "SELECT stream FROM log_heads UNION SELECT stream FROM logs ORDER BY 1"
                ),
                namespaces=names("SELECT DISTINCT namespace FROM counters ORDER BY 1"),
            )

        return await self._run(run)

    async def export_keys(
        self, stream: str, *, offset: int, limit: int
    ) -> builtins.list[KeyRecord]:
        rows = await self._all(
            "SELECT key, at FROM log_keys WHERE stream = ? ORDER BY key LIMIT ? OFFSET ?",
            (stream, limit, offset),
        )
        return [(r[0], r[1]) for r in rows]

    async def restore(
        self, stream: str, entries: Sequence[LogEntry], keys: Sequence[KeyRecord]
    ) -> None:
        def run(c: sqlite3.Connection) -> None:
            c.executemany(
                "INSERT OR REPLACE INTO logs VALUES (?, ?, ?, ?, ?)",
                [(stream, e.cursor, e.key, _dumps(e.data), e.ts) for e in entries],
            )
            c.executemany(CLAIM_KEY, [(stream, key, 0, at) for key, at in keys])
            top = max((e.cursor for e in entries), default=0)
            row = c.execute(HEAD, (stream,)).fetchone()
            if top > (row[0] if row else 0) or row is None:
                c.execute(SET_HEAD, (stream, max(top, row[0] if row else 0)))

        await self._tx(run)
