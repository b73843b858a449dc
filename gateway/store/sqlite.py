"""SQLite Store (the default): ONE connection used from ONE worker thread, so our writes are
serialised without lock contention and the event loop never blocks on disk. ``busy_timeout``
covers other processes on the file (``serve --workers N``); writes take ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import asyncio
import builtins
import sqlite3
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import orjson

from gateway.errors import ConflictError
from gateway.store.base import JSON, Document
from gateway.store.sqlite_copy import SQLiteCopying
from gateway.store.sqlite_logs import SQLiteLogs
from gateway.store.sqlite_schema import connect

T = TypeVar("T")
Row = tuple[Any, ...]

_DOCS = "SELECT id, data, version, updated_at FROM documents WHERE collection = ?"
_VERSION = "SELECT version FROM documents WHERE collection = ? AND id = ?"
_PUT = "INSERT OR REPLACE INTO documents VALUES (?, ?, ?, ?, ?)"
_INCR = (
    "INSERT INTO counters VALUES (?, ?, ?) ON CONFLICT (namespace, name)"
    " DO UPDATE SET value = value + excluded.value RETURNING value"
)
_ADD = _INCR.removesuffix(" RETURNING value")
_COUNTER = "SELECT value FROM counters WHERE namespace = ? AND name = ?"
_SET_TTL = "INSERT OR REPLACE INTO ttl VALUES (?, ?, ?)"
_CHUNK = 500  # names per IN (...) query, well below SQLite's bound-parameter limit
_PURGE_EVERY = 256  # set_ttl calls between sweeps of expired TTL rows


def _dumps(data: JSON) -> str:
    return orjson.dumps(data).decode()


def _check_version(c: sqlite3.Connection, collection: str, id: str, expected: int | None) -> int:
    """Return the stored version (0: absent); raise ConflictError if it is not ``expected``."""
    row = c.execute(_VERSION, (collection, id)).fetchone()
    current = row[0] if row else 0
    if expected is not None and expected != current:
        raise ConflictError(f"{collection}/{id} is at version {current}, expected {expected}")
    return current


def _select_in(c: sqlite3.Connection, sql: str, args: Row, names: Sequence[str]) -> list[Row]:
    """``sql`` ending in ``IN`` run over ``names`` in chunks."""
    unique, rows = list(dict.fromkeys(names)), []
    for i in range(0, len(unique), _CHUNK):
        chunk = unique[i : i + _CHUNK]
        rows += c.execute(f"{sql} ({','.join('?' * len(chunk))})", (*args, *chunk)).fetchall()
    return rows


def _doc(collection: str, row: Row) -> Document:
    return Document(collection, row[0], orjson.loads(row[1]), row[2], row[3])


class SQLiteStore(SQLiteLogs, SQLiteCopying):
    """``Store`` on stdlib ``sqlite3`` in WAL mode. ``path`` may be ``":memory:"`` for tests."""

    def __init__(self, *, path: str | Path) -> None:
        self.path = str(path)
        self._conn: sqlite3.Connection | None = None
        self._executor: ThreadPoolExecutor | None = None
        self._ttl_sets = 0

    # -- plumbing ------------------------------------------------------------------------
    async def _run(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        if self._executor is None or self._conn is None:
            raise RuntimeError("SQLiteStore is not open: await store.open() first")
        # If the awaiting task is cancelled the statement still completes in the thread;
        # the write is then applied but unacknowledged, which the protocol allows.
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, self._conn)

    async def _tx(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` in one write transaction: all or nothing."""

        def run(c: sqlite3.Connection) -> T:
            c.execute("BEGIN IMMEDIATE")
            try:
                result = fn(c)
                c.execute("COMMIT")
            except BaseException:
                if c.in_transaction:  # also after a failed COMMIT, or the next BEGIN fails
                    c.execute("ROLLBACK")
                raise
            return result

        return await self._run(run)

    async def _all(self, sql: str, args: Row) -> builtins.list[Row]:
        return await self._run(lambda c: c.execute(sql, args).fetchall())

    # -- lifecycle -----------------------------------------------------------------------
    async def open(self) -> None:
        if self._conn is not None:
            return
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sqlite-store")
        try:  # the connection is created on the worker thread and only ever used there
            loop = asyncio.get_running_loop()
            self._conn = await loop.run_in_executor(executor, connect, self.path)
        except BaseException:
            executor.shutdown(wait=False)
            raise
        self._executor = executor

    async def close(self) -> None:
        if self._conn is None or self._executor is None:
            return
        try:
            await self._run(lambda c: (c.execute("PRAGMA optimize"), c.close()))
        finally:
            self._executor.shutdown(wait=False)  # the close job ran last: the thread is idle
            self._conn = self._executor = None

    async def ping(self) -> None:
        await self._all("SELECT 1", ())

    # -- documents -----------------------------------------------------------------------
    async def get(self, collection: str, id: str) -> Document | None:
        rows = await self._all(f"{_DOCS} AND id = ?", (collection, id))
        return _doc(collection, rows[0]) if rows else None

    async def get_many(self, collection: str, ids: Sequence[str]) -> dict[str, Document]:
        if not ids:
            return {}
        rows = await self._run(lambda c: _select_in(c, f"{_DOCS} AND id IN", (collection,), ids))
        return {row[0]: _doc(collection, row) for row in rows}

    async def put(
        self, collection: str, id: str, data: JSON, *, expected_version: int | None = None
    ) -> Document:
        payload = _dumps(data)

        def run(c: sqlite3.Connection) -> Document:
            version = _check_version(c, collection, id, expected_version) + 1
            now = time.time()
            c.execute(_PUT, (collection, id, payload, version, now))
            return Document(collection, id, orjson.loads(payload), version, now)

        return await self._tx(run)

    async def delete(
        self, collection: str, id: str, *, expected_version: int | None = None
    ) -> bool:
        def run(c: sqlite3.Connection) -> bool:
            if not _check_version(c, collection, id, expected_version):
                return False
            c.execute("DELETE FROM documents WHERE collection = ? AND id = ?", (collection, id))
            return True

        return await self._tx(run)

    async def list(
        self, collection: str, *, after: str | None = None, limit: int = 100
    ) -> builtins.list[Document]:
        if limit <= 0:
            return []
        sql, args = _DOCS, (collection,)
        if after is not None:
            sql, args = f"{sql} AND id > ?", (collection, after)
        rows = await self._all(f"{sql} ORDER BY id LIMIT ?", (*args, limit))
        return [_doc(collection, row) for row in rows]

    async def count(self, collection: str) -> int:
        sql = "SELECT COUNT(*) FROM documents WHERE collection = ?"
        return (await self._all(sql, (collection,)))[0][0]

    # -- counters ------------------------------------------------------------------------
    async def incr(self, namespace: str, deltas: Mapping[str, int]) -> dict[str, int]:
        pairs = [(name, int(delta)) for name, delta in deltas.items()]

        def run(c: sqlite3.Connection) -> dict[str, int]:
            return {n: c.execute(_INCR, (namespace, n, d)).fetchone()[0] for n, d in pairs}

        return await self._tx(run) if pairs else {}

    async def incr_many(
        self,
        deltas: Mapping[str, Mapping[str, int]],
        *,
        guard: tuple[str, str, int] | None = None,
    ) -> bool:
        rows = [(ns, n, int(d)) for ns, named in deltas.items() for n, d in named.items()]

        def run(c: sqlite3.Connection) -> bool:
            if guard is not None:
                row = c.execute(_COUNTER, guard[:2]).fetchone()
                if (row[0] if row else 0) != guard[2]:
                    return False
            c.executemany(_ADD, rows)
            return True

        return await self._tx(run)

    async def counters(self, namespace: str, names: Sequence[str] | None = None) -> dict[str, int]:
        sql = "SELECT name, value FROM counters WHERE namespace = ?"
        if names is None:
            return dict(await self._all(sql, (namespace,)))
        sql += " AND name IN"
        return dict(
            await self._run(lambda c: _select_in(c, sql, (namespace,), names)) if names else []
        )

    # -- TTL entries ---------------------------------------------------------------------
    async def set_ttl(self, key: str, value: JSON, ttl_seconds: float) -> None:
        payload = _dumps(value)
        self._ttl_sets += 1
        sweep = self._ttl_sets % _PURGE_EVERY == 0

        def run(c: sqlite3.Connection) -> None:
            now = time.time()
            if ttl_seconds <= 0:  # already expired, as in Redis: nothing to keep
                c.execute("DELETE FROM ttl WHERE key = ?", (key,))
            else:
                c.execute(_SET_TTL, (key, payload, now + ttl_seconds))
            if sweep:  # expired rows are invisible anyway; this only bounds the table
                c.execute("DELETE FROM ttl WHERE expires_at <= ?", (now,))

        await self._tx(run)

    async def get_ttl(self, key: str) -> JSON | None:
        def run(c: sqlite3.Connection) -> str | None:
            row = c.execute("SELECT value, expires_at FROM ttl WHERE key = ?", (key,)).fetchone()
            if row is not None and row[1] <= time.time():  # expired: purge lazily
                c.execute("DELETE FROM ttl WHERE key = ? AND expires_at <= ?", (key, row[1]))
                return None
            return None if row is None else row[0]

        payload = await self._run(run)
        return None if payload is None else orjson.loads(payload)

    async def delete_ttl(self, key: str) -> None:
        await self._all("DELETE FROM ttl WHERE key = ?", (key,))
