"""PostgreSQL Store (``GATEWAY_STORE=postgresql://…``): durable and shared by every replica.

One ``asyncpg`` pool per process. Same semantics as the SQLite and Redis stores:

- documents carry a version; a conditional write is one statement (``ON CONFLICT`` /
  ``WHERE version = $n``), so two replicas cannot both win;
- a log append locks its stream's head row for the transaction, so cursors are handed out in
  commit order: a reader never sees cursor *n+1* before *n* (no gap it could skip past), and
  the idempotency keys' primary key makes a repeated key a no-op, within a batch too;
- a guarded counter update takes a transaction-scoped advisory lock on the guard, so two
  replicas never both apply the same range.

A lost connection (a restarted server, ``pg_terminate_backend``) surfaces as
``BACKEND_UNAVAILABLE`` (backend ``store``) for the call in flight; the pool replaces the
connection for the next one.
"""

from __future__ import annotations

import builtins
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

import asyncpg
import orjson

from gateway.errors import BackendUnavailable, BadUserInput, ConflictError
from gateway.store.base import JSON, Document
from gateway.store.postgres_counters import PostgresCounters
from gateway.store.postgres_logs import PostgresLogs
from gateway.store.postgres_schema import migrate

_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.AdminShutdownError,
    # A connection whose server end was terminated while idle in the pool can fail its next
    # use this way ("another operation is in progress") before it notices the close.
    asyncpg.InternalClientError,
    ConnectionError,
    OSError,
    TimeoutError,
)
_DOC = "SELECT id, data, version, updated_at FROM documents WHERE collection = $1"
# Lookups by a list of ids: one primary-key probe per id, whatever the planner believes of
# a table's size ("id = ANY(...)", or a join it may flatten, can become a scan of the whole
# collection while statistics lag behind). OFFSET 0 keeps the LATERAL subquery unflattened.
_DOCS = (
    "SELECT d.id, d.data, d.version, d.updated_at FROM unnest($2::text[]) AS wanted(id)"
    " CROSS JOIN LATERAL (SELECT id, data, version, updated_at FROM documents"
    " WHERE collection = $1 AND id = wanted.id OFFSET 0) AS d"
)


async def _keep_session(conn: asyncpg.Connection) -> None:
    """The pool's reset on release: nothing beyond asyncpg's rollback of an open transaction.
    The store keeps no session state (its locks are transaction-scoped; the migration lock
    is released explicitly), so the default RESET ALL / UNLISTEN round trip after every
    call would only double the store's round trips."""


def _dumps(data: JSON) -> str:
    return orjson.dumps(data).decode()


def _doc(collection: str, row: asyncpg.Record) -> Document:
    return Document(collection, row[0], orjson.loads(row[1]), row[2], row[3])


class PostgresStore(PostgresLogs, PostgresCounters):
    def __init__(
        self,
        *,
        dsn: str,
        pool_size: int = 10,
        schema: str | None = None,
        migrate_on_open: bool = True,
    ) -> None:
        self.dsn = dsn
        self.pool_size = max(2, pool_size)
        self.schema = schema
        """A schema of its own (tests); else the connection's search path (``public``)."""
        self.migrate_on_open = migrate_on_open
        self._pool: asyncpg.Pool | None = None

    # -- plumbing ------------------------------------------------------------------------
    @asynccontextmanager
    async def _conn(self, *, tx: bool = False) -> AsyncIterator[asyncpg.Connection]:
        if self._pool is None:
            raise RuntimeError("PostgresStore is not open: await store.open() first")
        try:
            async with self._pool.acquire() as conn:
                try:
                    if tx:
                        async with conn.transaction():
                            yield conn
                    else:
                        yield conn
                except _LOST:
                    conn.terminate()  # never back into the pool half-broken
                    raise
        except asyncpg.CharacterNotInRepertoireError:
            # A NUL in an id or key: PostgreSQL text cannot hold it (SQLite could).
            raise BadUserInput("text with a NUL character cannot be stored") from None
        except _LOST as exc:
            raise BackendUnavailable(
                f"the store is unavailable ({type(exc).__name__}); retry", backend="store"
            ) from None

    # -- lifecycle -----------------------------------------------------------------------
    async def open(self) -> None:
        if self._pool is not None:
            return
        settings = {"search_path": self.schema} if self.schema else {}
        if "application_name" not in self.dsn:  # named in pg_stat_activity for operators
            settings["application_name"] = "ops-gateway"
        pool = await asyncpg.create_pool(
            self.dsn,
            min_size=1,
            max_size=self.pool_size,
            command_timeout=30,
            server_settings=settings,
            reset=_keep_session,
        )
        try:
            if self.migrate_on_open:
                async with pool.acquire() as conn:
                    await migrate(conn)
        except BaseException:
            await pool.close()
            raise
        self._pool = pool

    async def close(self) -> None:
        if self._pool is not None:
            pool, self._pool = self._pool, None
            await pool.close()

    async def ping(self) -> None:
        async with self._conn() as c:
            await c.fetchval("SELECT 1")

    # -- documents -----------------------------------------------------------------------
    async def get(self, collection: str, id: str) -> Document | None:
        async with self._conn() as c:
            row = await c.fetchrow(f"{_DOC} AND id = $2", collection, id)
        return _doc(collection, row) if row else None

    async def get_many(self, collection: str, ids: Sequence[str]) -> dict[str, Document]:
        if not ids:
            return {}
        async with self._conn() as c:
            rows = await c.fetch(_DOCS, collection, list(ids))
        return {row[0]: _doc(collection, row) for row in rows}

    async def put(
        self, collection: str, id: str, data: JSON, *, expected_version: int | None = None
    ) -> Document:
        payload, now = _dumps(data), time.time()
        async with self._conn() as c:
            if expected_version is None:
                version = await c.fetchval(
                    "INSERT INTO documents VALUES ($1, $2, $3, 1, $4) ON CONFLICT (collection, id)"
                    " DO UPDATE SET data = EXCLUDED.data, version = documents.version + 1,"
                    " updated_at = EXCLUDED.updated_at RETURNING version",
                    collection, id, payload, now,
                )  # fmt: skip
            elif expected_version == 0:
                version = await c.fetchval(
                    "INSERT INTO documents VALUES ($1, $2, $3, 1, $4)"
                    " ON CONFLICT (collection, id) DO NOTHING RETURNING version",
                    collection, id, payload, now,
                )  # fmt: skip
            else:
                version = await c.fetchval(
                    "UPDATE documents SET data = $3, version = version + 1, updated_at = $4"
                    " WHERE collection = $1 AND id = $2 AND version = $5 RETURNING version",
                    collection, id, payload, now, expected_version,
                )  # fmt: skip
        if version is None:
            raise ConflictError(f"{collection}/{id} is not at version {expected_version}")
        return Document(collection, id, orjson.loads(payload), version, now)

    async def delete(
        self, collection: str, id: str, *, expected_version: int | None = None
    ) -> bool:
        async with self._conn(tx=True) as c:
            current = await c.fetchval(
                "SELECT version FROM documents WHERE collection = $1 AND id = $2 FOR UPDATE",
                collection, id,
            ) or 0  # fmt: skip
            if expected_version is not None and expected_version != current:
                raise ConflictError(
                    f"{collection}/{id} is at version {current}, expected {expected_version}"
                )
            if not current:
                return False
            await c.execute(
                "DELETE FROM documents WHERE collection = $1 AND id = $2", collection, id
            )
            return True

    async def list(
        self, collection: str, *, after: str | None = None, limit: int = 100
    ) -> builtins.list[Document]:
        if limit <= 0:
            return []
        async with self._conn() as c:
            rows = await c.fetch(
                f'{_DOC} AND ($2::text IS NULL OR id COLLATE "C" > $2)'
                ' ORDER BY id COLLATE "C" LIMIT $3',
                collection, after, limit,
            )  # fmt: skip
        return [_doc(collection, row) for row in rows]

    async def count(self, collection: str) -> int:
        async with self._conn() as c:
            return await c.fetchval(
                "SELECT count(*) FROM documents WHERE collection = $1", collection
            )

    # -- TTL entries ---------------------------------------------------------------------
    async def set_ttl(self, key: str, value: JSON, ttl_seconds: float) -> None:
        now = time.time()
        async with self._conn() as c:
            if ttl_seconds <= 0:  # already expired, as in Redis: nothing to keep
                await c.execute("DELETE FROM ttl WHERE key = $1", key)
            else:
                await c.execute(
                    "INSERT INTO ttl VALUES ($1, $2, $3) ON CONFLICT (key)"
                    " DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at",
                    key, _dumps(value), now + ttl_seconds,
                )  # fmt: skip

    async def get_ttl(self, key: str) -> JSON | None:
        async with self._conn() as c:
            payload = await c.fetchval(
                "SELECT value FROM ttl WHERE key = $1 AND expires_at > $2", key, time.time()
            )
        return None if payload is None else orjson.loads(payload)

    async def delete_ttl(self, key: str) -> None:
        async with self._conn() as c:
            await c.execute("DELETE FROM ttl WHERE key = $1", key)

    async def purge_expired(self) -> int:
        async with self._conn() as c:
            status = await c.execute("DELETE FROM ttl WHERE expires_at <= $1", time.time())
        return int(status.split()[-1])
