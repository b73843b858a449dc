"""Store, PubSub and Redis fixtures.

``store`` and ``pubsub`` are parametrised over every implementation, so one test body checks
them all. Redis tests use database 15 (``REDIS_URL`` overrides) and a key prefix unique to the
test, whose keys are deleted afterwards (SCAN + DEL, never FLUSHDB). Without a Redis server
they are skipped, except under ``CI=true`` where a missing server is a failure.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import redis

from gateway.pubsub import MemoryPubSub, PubSub, RedisPubSub
from gateway.store import PostgresStore, RedisStore, SQLiteStore, Store

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/15"
DEFAULT_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/postgres"


def _required(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def postgres_url() -> Iterator[str]:
    """A database of this test session's own, created on the server and dropped after it
    (``POSTGRES_URL`` names the server; by default the local one, trust auth)."""
    import asyncpg

    from bench.stores import admin_sql

    server = os.environ.get("POSTGRES_URL") or DEFAULT_POSTGRES_URL
    name = f"ogw_test_{uuid.uuid4().hex[:10]}"
    try:
        admin_sql(server, f'CREATE DATABASE "{name}"')
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        _required(f"no PostgreSQL server answers at {server} ({exc}); set POSTGRES_URL")
    base, _, _ = server.rpartition("/")
    yield f"{base}/{name}"
    admin_sql(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def postgres_schema(postgres_url: str) -> str:
    """A schema of this test's own in the session database (cheaper than a database)."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture(scope="session")
def redis_url() -> str:
    url = os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL
    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        reason = f"no Redis server answers at {url} ({exc}); set REDIS_URL or start redis-server"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    finally:
        client.close()
    return url


@pytest.fixture
def redis_prefix(redis_url: str) -> Iterator[str]:
    """A key prefix unique to this test; its keys are deleted when the test ends."""
    prefix = f"ogwtest:{uuid.uuid4().hex[:12]}:"
    yield prefix
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(match=f"{prefix}*", count=1000))
        for i in range(0, len(keys), 500):
            client.delete(*keys[i : i + 500])
    finally:
        client.close()


@pytest.fixture
async def sqlite_store(tmp_path: Path) -> AsyncIterator[SQLiteStore]:
    store = SQLiteStore(path=tmp_path / "data" / "store.db")
    await store.open()
    try:
        yield store
    finally:
        await store.close()


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    """Every Store implementation, opened before the test and closed after it."""
    impl: Store
    if request.param == "sqlite":
        impl = SQLiteStore(path=tmp_path / "store.db")
    elif request.param == "postgres":
        schema = request.getfixturevalue("postgres_schema")
        url = request.getfixturevalue("postgres_url")
        await _create_schema(url, schema)
        impl = PostgresStore(dsn=url, schema=schema, pool_size=4)
    else:
        # Asked for only here, so the SQLite half runs (and passes) without a Redis server.
        url = request.getfixturevalue("redis_url")
        impl = RedisStore(url=url, prefix=request.getfixturevalue("redis_prefix"))
    await impl.open()
    try:
        yield impl
    finally:
        await impl.close()


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def pubsub(request: pytest.FixtureRequest) -> AsyncIterator[PubSub]:
    """Every PubSub implementation, opened before the test and closed after it."""
    impl: PubSub
    if request.param == "memory":
        impl = MemoryPubSub()
    else:
        url = request.getfixturevalue("redis_url")
        impl = RedisPubSub(url=url, prefix=request.getfixturevalue("redis_prefix"))
    await impl.open()
    try:
        yield impl
    finally:
        await impl.close()


async def _create_schema(url: str, schema: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f'CREATE SCHEMA "{schema}"')
    finally:
        await conn.close()
