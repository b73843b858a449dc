"""One suite for every PubSub implementation (the ``pubsub`` fixture runs it on each)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import redis.asyncio as aioredis

from gateway.pubsub import MemoryPubSub, PubSub, RedisPubSub, open_pubsub

KINDS = ["memory", pytest.param("redis", marks=pytest.mark.redis)]


async def take(messages: AsyncIterator[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    async with asyncio.timeout(5):
        async for message in messages:
            out.append(message)
            if len(out) == n:
                break
    return out


async def redis_numsub(pubsub: PubSub, channel: str) -> int | None:
    """Subscribers Redis itself counts on ``channel`` (None for in-process pub/sub)."""
    if not isinstance(pubsub, RedisPubSub):
        return None
    client = aioredis.Redis.from_url(pubsub.url)
    try:
        [(_, count)] = await client.pubsub_numsub(pubsub.prefix + channel)
        return int(count)
    finally:
        await client.aclose()


def make(kind: str, request: pytest.FixtureRequest, **options: Any) -> PubSub:
    if kind == "memory":
        return MemoryPubSub(**options)
    url, prefix = request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")
    return RedisPubSub(url=url, prefix=prefix, **options)


async def test_implements_protocol(pubsub: PubSub) -> None:
    assert isinstance(pubsub, PubSub)


async def test_fan_out_to_every_subscriber(pubsub: PubSub) -> None:
    async with (
        pubsub.subscribe("ch") as a,
        pubsub.subscribe("ch") as b,
        pubsub.subscribe("ch") as c,
    ):
        # Active on entry: published right away, without any sleep, and still received.
        for i in range(3):
            await pubsub.publish("ch", {"i": i, "text": "héllo"})
        expected = [{"i": i, "text": "héllo"} for i in range(3)]
        assert await take(a, 3) == expected
        assert await take(b, 3) == expected
        assert await take(c, 3) == expected


async def test_channels_are_isolated(pubsub: PubSub) -> None:
    async with pubsub.subscribe("a") as a, pubsub.subscribe("b") as b:
        await pubsub.publish("a", {"for": "a"})
        await pubsub.publish("b", {"for": "b"})
        await pubsub.publish("c", {"for": "nobody"})
        assert await take(b, 1) == [{"for": "b"}]  # the message on "a" did not reach "b"
        assert await take(a, 1) == [{"for": "a"}]
        await pubsub.publish("a", {"n": 2})
        assert await take(a, 1) == [{"n": 2}]  # nor "c"'s message reach "a"


async def test_order_is_preserved(pubsub: PubSub) -> None:
    async with pubsub.subscribe("seq") as messages:
        for i in range(300):
            await pubsub.publish("seq", {"i": i})
        assert [m["i"] for m in await take(messages, 300)] == list(range(300))


async def test_leaving_the_block_unsubscribes(pubsub: PubSub) -> None:
    assert isinstance(pubsub, MemoryPubSub | RedisPubSub)
    async with pubsub.subscribe("ch") as first:
        async with pubsub.subscribe("ch"):
            assert pubsub.subscriber_count("ch") == 2
            assert await redis_numsub(pubsub, "ch") in (None, 1)  # one connection for both
        assert pubsub.subscriber_count("ch") == 1
        await pubsub.publish("ch", {"still": "here"})
        assert await take(first, 1) == [{"still": "here"}]
    assert pubsub.subscriber_count("ch") == 0
    assert await redis_numsub(pubsub, "ch") in (None, 0)
    assert [m async for m in first] == []  # a left subscription's iterator has ended
    await pubsub.publish("ch", {"to": "nobody"})  # fine with no subscriber

    async with pubsub.subscribe("ch") as again:  # and the channel can be joined again
        await pubsub.publish("ch", {"back": True})
        assert await take(again, 1) == [{"back": True}]


async def test_subscribers_get_independent_copies(pubsub: PubSub) -> None:
    async with pubsub.subscribe("ch") as a, pubsub.subscribe("ch") as b:
        await pubsub.publish("ch", {"items": [1]})
        [got_a] = await take(a, 1)
        got_a["items"].append(2)
        assert await take(b, 1) == [{"items": [1]}]


@pytest.mark.parametrize("kind", KINDS)
async def test_slow_subscriber_drops_oldest_without_blocking(
    kind: str, request: pytest.FixtureRequest
) -> None:
    pubsub = make(kind, request, queue_size=5)
    await pubsub.open()
    try:
        async with pubsub.subscribe("ch") as slow, pubsub.subscribe("ch") as fast:
            fast_seen = []
            for i in range(20):  # lockstep with the fast reader; nobody reads the slow one
                await pubsub.publish("ch", {"i": i})
                fast_seen += [m["i"] for m in await take(fast, 1)]
            assert fast_seen == list(range(20))
            # Everything is delivered by now: the slow one kept the newest five.
            assert [m["i"] for m in await take(slow, 5)] == [15, 16, 17, 18, 19]
            assert slow.dropped == 15 and fast.dropped == 0  # type: ignore[attr-defined]
    finally:
        await pubsub.close()


@pytest.mark.parametrize("kind", KINDS)
async def test_close_ends_active_subscriptions(kind: str, request: pytest.FixtureRequest) -> None:
    pubsub = make(kind, request)
    await pubsub.open()
    received: list[dict[str, Any]] = []

    async def consume() -> None:
        async with pubsub.subscribe("ch") as messages:
            async for message in messages:
                received.append(message)

    task = asyncio.create_task(consume())
    async with asyncio.timeout(5):
        while not received:  # keep publishing until the consumer is subscribed and reading
            await pubsub.publish("ch", {"hello": 1})
            await asyncio.sleep(0.01)
    await pubsub.close()
    await asyncio.wait_for(task, 5)  # the async for ended instead of hanging
    await pubsub.close()  # idempotent


@pytest.mark.redis
async def test_two_redis_replicas_share_channels(redis_url: str, redis_prefix: str) -> None:
    one = RedisPubSub(url=redis_url, prefix=redis_prefix)
    two = RedisPubSub(url=redis_url, prefix=redis_prefix)
    await one.open()
    await two.open()
    try:
        async with one.subscribe("events") as on_one, two.subscribe("events") as on_two:
            await one.publish("events", {"from": "one"})
            await two.publish("events", {"from": "two"})
            assert await take(on_two, 2) == [{"from": "one"}, {"from": "two"}]
            assert await take(on_one, 2) == [{"from": "one"}, {"from": "two"}]
        other = RedisPubSub(url=redis_url, prefix=redis_prefix + "other:")
        await other.open()
        try:  # another prefix is another namespace
            async with other.subscribe("events") as isolated, two.subscribe("events") as seen:
                await one.publish("events", {"n": 1})
                await other.publish("events", {"n": 2})
                assert await take(seen, 1) == [{"n": 1}]
                assert await take(isolated, 1) == [{"n": 2}]
        finally:
            await other.close()
    finally:
        await one.close()
        await two.close()


def test_open_pubsub_picks_the_implementation() -> None:
    assert isinstance(open_pubsub(None), MemoryPubSub)
    assert isinstance(open_pubsub(""), MemoryPubSub)
    chosen = open_pubsub("redis://127.0.0.1:6379/15")
    assert isinstance(chosen, RedisPubSub) and chosen.url == "redis://127.0.0.1:6379/15"


@pytest.mark.redis
async def test_redis_subscriptions_survive_a_dropped_connection(
    redis_url: str, redis_prefix: str
) -> None:
    pubsub = RedisPubSub(url=redis_url, prefix=redis_prefix)
    await pubsub.open()
    admin = aioredis.Redis.from_url(redis_url)
    try:
        async with pubsub.subscribe("ch") as messages:
            await pubsub.publish("ch", {"n": 1})
            assert await take(messages, 1) == [{"n": 1}]
            ours = [
                c["id"]
                for c in await admin.client_list()
                if c.get("name") == f"{pubsub.prefix}pubsub" and int(c.get("sub", 0)) > 0
            ]
            assert len(ours) == 1  # one pub/sub connection per instance
            await admin.client_kill_filter(_id=ours[0])
            # Redis drops the subscription with the connection; the reader reconnects and
            # subscribes again. Publish until a message gets through.
            async with asyncio.timeout(5):
                while True:
                    await pubsub.publish("ch", {"n": 2})
                    try:
                        async with asyncio.timeout(0.1):
                            assert await take(messages, 1) == [{"n": 2}]
                        break
                    except TimeoutError:
                        continue
    finally:
        await admin.aclose()
        await pubsub.close()
