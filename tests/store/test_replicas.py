"""Several replicas on one store: appends by all of them, read by a tailing reader, lose
nothing and repeat nothing; conditional writes let exactly one replica win."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from gateway.errors import ConflictError
from gateway.store import PostgresStore, RedisStore, SQLiteStore, Store

REPLICAS = 3
BATCHES = 30


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("redis", marks=pytest.mark.redis),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ]
)
async def replicas(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[list[Store]]:
    """``REPLICAS`` stores (own connections) on one database."""
    make: Callable[[], Store]
    if request.param == "sqlite":
        path = tmp_path / "shared.db"
        make = lambda: SQLiteStore(path=path)  # noqa: E731
    elif request.param == "redis":
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        make = lambda: RedisStore(url=url, prefix=prefix)  # noqa: E731
    else:
        from tests.plugins.stores import _create_schema

        url, schema = (
            request.getfixturevalue("postgres_url"),
            request.getfixturevalue("postgres_schema"),
        )
        await _create_schema(url, schema)
        make = lambda: PostgresStore(dsn=url, schema=schema, pool_size=4)  # noqa: E731
    stores = [make() for _ in range(REPLICAS)]
    for s in stores:
        await s.open()
    try:
        yield stores
    finally:
        for s in stores:
            await s.close()


async def test_concurrent_appends_leave_no_gap_a_reader_skips(replicas: list[Store]) -> None:
    done = asyncio.Event()
    seen: list[int] = []
    keys_seen: list[str] = []

    async def tail(store: Store) -> None:
        cursor = 0
        while True:
            finished = done.is_set()
            for entry in await store.read("events", after=cursor, limit=50):
                assert entry.cursor == cursor + 1, f"gap after {cursor}: {entry.cursor}"
                cursor = entry.cursor
                seen.append(entry.cursor)
                keys_seen.append(entry.key or "")
            if finished:
                return
            await asyncio.sleep(0)

    async def append(store: Store, replica: int) -> None:
        for batch in range(BATCHES):
            items = [(f"r{replica}-b{batch}-{i}", {"n": i}) for i in range(3)]
            # Every replica also repeats a key another one may have written: a duplicate.
            items.append((f"shared-{batch}", {"n": -1}))
            await store.append("events", items)

    reader = asyncio.create_task(tail(replicas[0]))
    await asyncio.gather(*(append(s, i) for i, s in enumerate(replicas)))
    done.set()
    await reader
    expected = REPLICAS * BATCHES * 3 + BATCHES
    assert seen == list(range(1, expected + 1))
    assert len(set(keys_seen)) == expected  # every key once, the shared ones included


async def test_one_replica_wins_a_conditional_write(replicas: list[Store]) -> None:
    await replicas[0].put("jobs", "j1", {"state": "queued"})
    doc = await replicas[0].get("jobs", "j1")
    assert doc is not None

    async def claim(store: Store, who: int) -> int | None:
        try:
            await store.put("jobs", "j1", {"state": "running", "by": who},
                            expected_version=doc.version)  # fmt: skip
        except ConflictError:
            return None
        return who

    winners = [w for w in await asyncio.gather(*(claim(s, i) for i, s in enumerate(replicas)))
               if w is not None]  # fmt: skip
    assert len(winners) == 1
    final = await replicas[1].get("jobs", "j1")
    assert final is not None and final.data["by"] == winners[0]
