"""Every Redis client of the gateway keeps a bounded pool (gateway/redisclient.py)."""

from __future__ import annotations

import asyncio
import uuid

import pytest
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.redisclient import redis_client


async def _connections_named(url: str, name: str) -> int:
    observer = redis_client(url, timeout=2)
    try:
        clients = await observer.client_list()
    finally:
        await observer.aclose()
    return sum(1 for c in clients if c.get("name") == name)


async def test_a_burst_waits_for_the_bounded_pool(redis_url: str, redis_prefix: str) -> None:
    name = f"pooltest-{uuid.uuid4().hex[:8]}"
    client = redis_client(f"{redis_url}?max_connections=3", timeout=5, client_name=name)
    key = f"{redis_prefix}nothing"
    try:
        # 20 commands that each hold their connection for 0.2 s, all at once.
        burst = asyncio.gather(*(client.blpop([key], timeout=0.2) for _ in range(20)))
        task = asyncio.ensure_future(burst)
        await asyncio.sleep(0.1)
        opened = await _connections_named(redis_url, name)
        answers = await task
    finally:
        await client.aclose()
    assert opened == 3  # not 20
    assert answers == [None] * 20  # every command ran, in turn


async def test_past_the_wait_a_command_fails_as_an_outage(
    redis_url: str, redis_prefix: str
) -> None:
    client = redis_client(f"{redis_url}?max_connections=1", timeout=0.1)
    key = f"{redis_prefix}nothing"
    try:
        held = asyncio.ensure_future(client.blpop([key], timeout=1))
        await asyncio.sleep(0.1)
        with pytest.raises(RedisConnectionError):
            await client.get(key)
        assert await held is None
    finally:
        await client.aclose()
