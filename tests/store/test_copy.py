"""`ops-gateway store copy`: every collection, log (cursors, keys) and counter moves, verified;
a non-empty target is refused unless --force."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gateway.store import open_store
from gateway.store.base import Store
from tests.plugins.stores import _create_schema


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    return subprocess.run(
        [sys.executable, "-m", "gateway.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


async def _fill(store: Store) -> None:
    for i in range(620):  # more than one page
        await store.put("api_tokens", f"t{i:04d}", {"subject": f"s{i}", "roles": ["viewer"]})
    await store.put("roles", "viewer", {"permissions": ["revenue:read"]})
    await store.append("usage", [(f"ev-{i}", {"n": i}) for i in range(700)])
    await store.append("audit", [(None, {"action": "x"}), (None, {"action": "y"})])
    await store.trim("audit", upto=1)  # a trimmed log keeps its next cursor
    await store.incr("usage:progress", {"lago": 640, "rollups": 700})


async def _check(store: Store) -> None:
    assert await store.count("api_tokens") == 620
    assert (await store.get("api_tokens", "t0617")).data["subject"] == "s617"  # type: ignore[union-attr]
    assert await store.log_length("usage") == 700
    tail = await store.read("usage", after=695)
    assert [e.cursor for e in tail] == [696, 697, 698, 699, 700]
    assert [e.data["action"] for e in await store.read("audit")] == ["y"]
    again = await store.append("usage", [("ev-3", {"n": 3}), ("ev-new", {"n": 0})])
    assert again.duplicates == ["ev-3"] and [e.cursor for e in again.entries] == [701]
    assert await store.counters("usage:progress") == {"lago": 640, "rollups": 700}
    nxt = await store.append("audit", [(None, {"action": "z"})])
    assert nxt.entries[0].cursor == 3


@pytest.mark.postgres
async def test_sqlite_to_postgresql_through_the_cli(
    tmp_path: Path, postgres_url: str, postgres_schema: str
) -> None:
    sqlite_url = f"sqlite:///{tmp_path / 'old.db'}"
    source = open_store(sqlite_url)
    await source.open()
    await _fill(source)
    await source.close()
    await _create_schema(postgres_url, postgres_schema)
    pg_url = f"{postgres_url}?search_path={postgres_schema}"
    done = await asyncio.to_thread(_cli, "store", "copy", "--from", sqlite_url, "--to", pg_url)
    assert done.returncode == 0, done.stderr
    assert "copied and verified" in done.stdout and "stream usage: 700 entries" in done.stdout
    target = open_store(pg_url)
    await target.open()
    try:
        await _check(target)
    finally:
        await target.close()
    refused = await asyncio.to_thread(_cli, "store", "copy", "--from", sqlite_url, "--to", pg_url)
    assert refused.returncode == 2 and "not empty" in refused.stderr


@pytest.mark.redis
async def test_sqlite_to_redis(tmp_path: Path, redis_url: str, redis_prefix: str) -> None:
    from gateway.store import RedisStore, SQLiteStore
    from gateway.store.copy import copy_store

    source = SQLiteStore(path=tmp_path / "old.db")
    target = RedisStore(url=redis_url, prefix=redis_prefix)
    await source.open()
    await target.open()
    try:
        await _fill(source)
        report = await copy_store(source, target)
        assert not report.mismatches
        await _check(target)
    finally:
        await source.close()
        await target.close()
