"""Stores written before idempotency keys had a time keep their keys for a full window."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
import redis

from gateway.store import RedisStore, SQLiteStore

V1_SCHEMA = """
CREATE TABLE documents (collection TEXT NOT NULL, id TEXT NOT NULL, data TEXT NOT NULL,
    version INTEGER NOT NULL, updated_at REAL NOT NULL, PRIMARY KEY (collection, id))
    WITHOUT ROWID;
CREATE TABLE logs (stream TEXT NOT NULL, cursor INTEGER NOT NULL, key TEXT, data TEXT NOT NULL,
    ts REAL NOT NULL, PRIMARY KEY (stream, cursor)) WITHOUT ROWID;
CREATE TABLE log_keys (stream TEXT NOT NULL, key TEXT NOT NULL, cursor INTEGER NOT NULL,
    PRIMARY KEY (stream, key)) WITHOUT ROWID;
CREATE TABLE log_heads (stream TEXT PRIMARY KEY, last_cursor INTEGER NOT NULL);
INSERT INTO logs VALUES ('usage', 1, 'ev-1', '{}', 1.0);
INSERT INTO log_keys VALUES ('usage', 'ev-1', 1);
INSERT INTO log_heads VALUES ('usage', 1);
PRAGMA user_version = 1;
"""


async def test_a_version_1_sqlite_file_is_upgraded_keeping_its_keys(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as conn:
        conn.executescript(V1_SCHEMA)
    store = SQLiteStore(path=path)
    await store.open()
    try:
        assert await store.prune_keys(older_than=time.time() - 60) == 0  # stamped "now"
        again = await store.append("usage", [("ev-1", {}), ("ev-2", {})])
        assert again.duplicates == ["ev-1"] and [e.cursor for e in again.entries] == [2]
    finally:
        await store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == 2


@pytest.mark.redis
async def test_a_redis_key_set_becomes_a_zset_keeping_its_keys(
    redis_url: str, redis_prefix: str
) -> None:
    client = redis.Redis.from_url(redis_url)
    client.sadd(f"{redis_prefix}logkeys:usage", "ev-1")
    client.close()
    store = RedisStore(url=redis_url, prefix=redis_prefix)
    await store.open()
    try:
        assert await store.prune_keys(older_than=time.time() + 60) == 0  # left for its append
        again = await store.append("usage", [("ev-1", {}), ("ev-2", {})])
        assert again.duplicates == ["ev-1"] and len(again.entries) == 1
        assert await store.prune_keys(older_than=time.time() - 60) == 0
        assert await store.prune_keys(older_than=time.time() + 60) == 2
    finally:
        await store.close()
