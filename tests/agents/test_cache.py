"""Results are cached 60 s per caller and query: in-process, or in Redis across replicas."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio as aioredis

from gateway.backends.brigade import BrigadeClient
from gateway.backends.brigade.cache import MemoryCache, RedisCache
from gateway.backends.brigade.caller import Caller
from gateway.sandbox.brigade import BrigadeSandbox
from tests.agents.conftest import AgentsGateway
from tests.plugins.oidc import IdP
from tests.plugins.servers import ServeApp

QUERY = "{ agents { usage { taskCount } tasks(first: 5) { totalCount nodes { id } } } }"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_memory_cache_expires_and_stays_bounded() -> None:
    clock = Clock()
    cache = MemoryCache(max_entries=2, clock=clock)
    await cache.set("a", b"1", ttl=60)
    assert await cache.get("a") == b"1"
    clock.now += 59.9
    assert await cache.get("a") == b"1"
    clock.now += 0.2
    assert await cache.get("a") is None
    for key in "xyz":
        await cache.set(key, key.encode(), ttl=60)
    assert await cache.get("x") is None and await cache.get("z") == b"z"
    assert len(cache) == 2


@pytest.mark.redis
async def test_redis_cache_expires_under_its_prefix(redis_url: str, redis_prefix: str) -> None:
    cache = RedisCache(url=redis_url, prefix=redis_prefix)
    try:
        await cache.set("k", b"v", ttl=0.2)
        assert await cache.get("k") == b"v"
        raw = aioredis.Redis.from_url(redis_url)
        assert await raw.get(f"{redis_prefix}k") == b"v"
        assert 0 < await raw.pttl(f"{redis_prefix}k") <= 200
        await raw.aclose()
        await asyncio.sleep(0.3)
        assert await cache.get("k") is None
    finally:
        await cache.close()


async def test_second_identical_call_is_served_from_the_cache(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox
) -> None:
    gw = await agents_gateway()
    token = await gw.token("viewer", subject="vera")
    first = await gw.gql(QUERY, token=token)
    assert "errors" not in first, first
    assert brigade.total == 2
    second = await gw.gql(QUERY, token=token)
    assert second == first
    assert brigade.total == 2  # no backend call at all
    other_page = await gw.gql("{ agents { tasks(first: 6) { totalCount } } }", token=token)
    assert other_page["data"]["agents"]["tasks"]["totalCount"] == len(brigade.tasks)
    assert brigade.total == 3  # another query is another entry


async def test_a_different_caller_never_reads_another_callers_entry(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox, idp: IdP
) -> None:
    gw = await agents_gateway()
    await gw.gql(QUERY, token=await gw.token("viewer", subject="vera"))
    assert brigade.total == 2
    await gw.gql(QUERY, token=await gw.token("viewer", subject="victor"))
    assert brigade.total == 4  # same query, another caller: Brigade is asked again

    # Two OIDC users: each sees their own data, and the second is not served the first's.
    alice = await gw.gql(QUERY, token=idp.token("alice"))
    bob = await gw.gql(QUERY, token=idp.token("bob"))
    assert brigade.callers["user:alice"] == 2 and brigade.callers["user:bob"] == 2
    assert alice["data"] != bob["data"]
    again = await gw.gql(QUERY, token=idp.token("alice"))
    assert again["data"] == alice["data"]


async def test_failures_are_not_cached(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox
) -> None:
    gw = await agents_gateway()
    brigade.fail("/api/agents/usage", status=503, times=3)  # the call and its two retries
    failed = await gw.gql("{ agents { usage { taskCount } } }")
    assert failed["data"]["agents"]["usage"] is None
    recovered = await gw.gql("{ agents { usage { taskCount } } }")
    assert recovered["data"]["agents"]["usage"]["taskCount"] == len(brigade.tasks)
    assert brigade.counts["GET /api/agents/usage"] == 4


async def test_aliases_in_one_query_make_one_call(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox
) -> None:
    gw = await agents_gateway()
    body = await gw.gql(
        "{ a: agents { usage { taskCount } } b: agents { usage { apiCalls } }"
        " c: agents { tasks(first: 3) { totalCount } } d: agents { tasks(first: 3) { nodes { id } } } }"
    )
    assert "errors" not in body, body
    assert brigade.counts == {"GET /api/agents/usage": 1, "GET /api/tasks/history": 1}


@pytest.mark.redis
async def test_replicas_share_the_redis_cache_but_not_across_callers(
    agents_gateway: AgentsGateway, brigade: BrigadeSandbox, redis_url: str, redis_prefix: str
) -> None:
    one = await agents_gateway(redis_url=redis_url, redis_prefix=redis_prefix)
    two = await agents_gateway(redis_url=redis_url, redis_prefix=redis_prefix)
    token = await one.token("viewer", subject="vera")
    first = await one.gql(QUERY, token=token)
    assert brigade.total == 2
    assert await two.gql(QUERY, token=token) == first  # the other replica reads Redis
    assert brigade.total == 2
    await two.gql(QUERY, token=await two.token("viewer", subject="victor"))
    assert brigade.total == 4

    raw = aioredis.Redis.from_url(redis_url)
    try:
        keys = [k async for k in raw.scan_iter(match=f"{redis_prefix}cache:brigade:*")]
        assert len(keys) == 4
        ttls = [await raw.ttl(k) for k in keys]
        assert all(0 < ttl <= 60 for ttl in ttls)
        stored = b"".join([*keys, *[await raw.get(k) or b"" for k in keys]])
        assert brigade.api_key.encode() not in stored and token.encode() not in stored
    finally:
        await raw.aclose()


async def test_a_redis_outage_costs_backend_calls_not_answers(
    serve_app: ServeApp, brigade: BrigadeSandbox, refused_url: str
) -> None:
    dead_redis = refused_url.replace("http://", "redis://") + "/15"
    client = BrigadeClient(
        base_url=await serve_app(brigade),
        api_key=brigade.api_key,
        cache=RedisCache(url=dead_redis, prefix="x:"),
    )
    caller = Caller(identity="api_token:vera:t1")
    try:
        first = await client.usage(caller)  # the failed get and set are logged, not raised
        second = await client.usage(caller)
    finally:
        await client.aclose()
    assert first == second and first.task_count == len(brigade.tasks)
    assert brigade.counts["GET /api/agents/usage"] == 2  # no cache, so both went to Brigade
