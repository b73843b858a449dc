"""Token-bucket rate limiters: in-process and shared through Redis."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Callable

import pytest
import redis
import redis.asyncio as aioredis

from gateway.ratelimit import (
    MemoryRateLimiter,
    RateLimiter,
    RedisRateLimiter,
    make_rate_limiter,
)

RATE, BURST = 20.0, 3  # a token every 50 ms


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def limiter(request: pytest.FixtureRequest) -> AsyncIterator[RateLimiter]:
    impl: RateLimiter
    if request.param == "memory":
        impl = MemoryRateLimiter(rate=RATE, burst=BURST)
    else:
        url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
        impl = RedisRateLimiter(url=url, rate=RATE, burst=BURST, prefix=prefix)
    try:
        yield impl
    finally:
        await impl.close()


async def test_burst_then_limited_then_refilled(limiter: RateLimiter) -> None:
    assert isinstance(limiter, RateLimiter)
    assert [await limiter.hit("user") for _ in range(BURST)] == [None] * BURST
    wait = await limiter.hit("user")
    assert wait is not None and 0 < wait <= 1 / RATE + 0.01  # about one token's time
    assert await limiter.hit("someone-else") is None  # buckets are per key

    await asyncio.sleep(wait + 0.02)
    assert await limiter.hit("user") is None  # one token came back...
    again = await limiter.hit("user")
    assert again is not None and again > 0  # ...and only one


async def test_retry_after_grows_while_hammered(limiter: RateLimiter) -> None:
    for _ in range(BURST):
        await limiter.hit("k")
    waits = [await limiter.hit("k") for _ in range(3)]
    assert all(w is not None for w in waits)
    # Refused hits take no token, so the wait only shrinks as time passes; never negative.
    assert all(w is not None and 0 < w <= 1 / RATE + 0.01 for w in waits)


async def test_memory_limiter_refills_at_rate_with_an_injected_clock() -> None:
    now = [100.0]
    clock: Callable[[], float] = lambda: now[0]  # noqa: E731
    lim = MemoryRateLimiter(rate=2.0, burst=4, clock=clock)

    async def hits(n: int, key: str = "k") -> list[float | None]:
        return [await lim.hit(key) for _ in range(n)]

    assert await hits(4) == [None] * 4
    assert await hits(1) == [pytest.approx(0.5)]
    now[0] += 0.25  # half a token
    assert await hits(1) == [pytest.approx(0.25)]
    now[0] += 0.5  # 0.5 + 0.5 s x 2/s = 1.5 tokens now
    assert await hits(2) == [None, pytest.approx(0.25)]
    now[0] += 3600  # refills to the burst, never beyond
    assert (await hits(5))[:4] == [None] * 4


async def test_memory_limiter_forgets_refilled_buckets() -> None:
    now = [0.0]
    lim = MemoryRateLimiter(rate=10.0, burst=5, clock=lambda: now[0])
    for i in range(100):
        await lim.hit(f"client-{i}")
    assert lim.tracked_keys == 100
    now[0] += 1.0  # every bucket is full again: the same as never seen
    for _ in range(MemoryRateLimiter.SWEEP_EVERY):
        await lim.hit("busy")
    assert lim.tracked_keys == 1  # memory is bounded by the recently active keys
    assert [await lim.hit(f"client-{i}") for i in range(3)] == [None] * 3


@pytest.mark.redis
async def test_redis_replicas_share_one_bucket(redis_url: str, redis_prefix: str) -> None:
    client = aioredis.Redis.from_url(redis_url)
    one = RedisRateLimiter(client=client, rate=1.0, burst=4, prefix=redis_prefix)
    two = RedisRateLimiter(url=redis_url, rate=1.0, burst=4, prefix=redis_prefix)
    try:
        assert [await one.hit("tenant"), await two.hit("tenant")] == [None, None]
        assert [await two.hit("tenant"), await one.hit("tenant")] == [None, None]
        assert (await one.hit("tenant") or 0) > 0.5  # the four were shared
        assert (await two.hit("tenant") or 0) > 0.5
        ttl = await client.pttl(f"{redis_prefix}rl:tenant")
        assert 0 < ttl <= 5000  # an idle bucket expires once it would be full again
        await one.close()  # does not close a client it was given
        assert await client.ping()
    finally:
        await two.close()
        await client.aclose()


async def test_redis_limiter_fails_open_when_redis_is_down(refused_redis_url: str) -> None:
    lenient = RedisRateLimiter(url=refused_redis_url, rate=1, burst=1)
    strict = RedisRateLimiter(url=refused_redis_url, rate=1, burst=1, fail_open=False)
    try:
        async with asyncio.timeout(10):
            assert [await lenient.hit("k") for _ in range(3)] == [None] * 3
            with pytest.raises(redis.exceptions.ConnectionError):
                await strict.hit("k")
    finally:
        await lenient.close()
        await strict.close()


@pytest.fixture
def refused_redis_url() -> str:
    """A redis:// URL where nothing listens (a port bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_factory_and_validation() -> None:
    assert isinstance(make_rate_limiter(None, 5, 10), MemoryRateLimiter)
    red = make_rate_limiter("redis://127.0.0.1:6379/15", 5, 10, prefix="x:")
    assert isinstance(red, RedisRateLimiter) and red.prefix == "x:rl:"
    asyncio.run(red.close())
    with pytest.raises(ValueError, match="rate"):
        MemoryRateLimiter(rate=0, burst=1)
    with pytest.raises(ValueError, match="exactly one"):
        RedisRateLimiter(rate=1, burst=1)
