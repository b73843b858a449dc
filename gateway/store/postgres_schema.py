"""The PostgreSQL store's schema, as numbered migrations applied once, under a lock.

Every replica calls :func:`migrate` at start; ``pg_advisory_lock`` makes N replicas starting
together apply each migration exactly once (the others wait, then find nothing to do).
``ops-gateway migrate`` applies them explicitly and ``migrate --check`` reports a database
that is behind. A migration is only ever added, never edited.
"""

from __future__ import annotations

import time

import asyncpg

LOCK_ID = 0x6F67772D6D6967  # "ogw-mig": the advisory lock of the migrations
MIGRATIONS: tuple[tuple[int, str, str], ...] = (
    (
        1,
        "documents, logs, idempotency keys, counters, TTL entries",
        """
        CREATE TABLE documents (
            collection text NOT NULL, id text NOT NULL, data text NOT NULL,
            version bigint NOT NULL, updated_at double precision NOT NULL,
            PRIMARY KEY (collection, id));
        CREATE TABLE log_heads (stream text PRIMARY KEY, last_cursor bigint NOT NULL);
        CREATE TABLE logs (
            stream text NOT NULL, cursor bigint NOT NULL, key text, data text NOT NULL,
            ts double precision NOT NULL, PRIMARY KEY (stream, cursor));
        -- Keys live apart from the entries, so trim() cannot make a key appendable again;
        -- ``at`` lets them be pruned after the retention window.
        CREATE TABLE log_keys (
            stream text NOT NULL, key text NOT NULL, cursor bigint NOT NULL,
            at double precision NOT NULL, PRIMARY KEY (stream, key));
        CREATE INDEX log_keys_at ON log_keys (at);
        CREATE TABLE counters (
            namespace text NOT NULL, name text NOT NULL, value bigint NOT NULL,
            PRIMARY KEY (namespace, name));
        CREATE TABLE ttl (
            key text PRIMARY KEY, value text NOT NULL, expires_at double precision NOT NULL);
        CREATE INDEX ttl_expires_at ON ttl (expires_at);
        """,
    ),
    (
        2,
        "idempotency keys without a cursor (claimed in one statement per append)",
        "ALTER TABLE log_keys DROP COLUMN cursor;",
    ),
)
LATEST = MIGRATIONS[-1][0]

_LEDGER = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY, description text NOT NULL, applied_at double precision NOT NULL)
"""


async def current_version(conn: asyncpg.Connection) -> int:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    return await conn.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")


async def migrate(conn: asyncpg.Connection) -> list[int]:
    """Apply the missing migrations (each in its own transaction); the versions applied."""
    applied: list[int] = []
    await conn.execute("SELECT pg_advisory_lock($1)", LOCK_ID)
    try:
        await conn.execute(_LEDGER)
        done = await current_version(conn)
        for version, description, sql in MIGRATIONS:
            if version <= done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations VALUES ($1, $2, $3)",
                    version,
                    description,
                    time.time(),
                )
            applied.append(version)
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", LOCK_ID)
    return applied
