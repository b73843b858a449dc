"""Live usage over websockets: events from another replica (shared Redis), and the ticker."""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.ws import next_data, subscription, until_live
from tests.usage.helpers import event, post_events

EVENTS = """subscription($filter: UsageEventFilter) { usageEvents(filter: $filter) {
  id subject model provider promptTokens totalTokens status cost costSource reportedCost } }"""
TICKER = "subscription { usageTicker(intervalSeconds: 1) { requests totalTokens activeUsers } }"
PRICE = """mutation { setModelPrice(input: {model: "gpt-4o", inputPerMillion: "2",
  outputPerMillion: "8", cachedPerMillion: "1", effectiveFrom: "2020-01-01"}) { __typename } }"""


@pytest.mark.redis
async def test_subscriber_on_a_second_replica_receives_ingested_events(
    live_gateway_factory: GatewayFactory, redis_url: str, redis_prefix: str
) -> None:
    shared = {"store_url": redis_url, "redis_url": redis_url, "redis_prefix": redis_prefix}
    first = await live_gateway_factory(**shared)
    second = await live_gateway_factory(**shared)
    assert (await first.gql(PRICE))["data"]["setModelPrice"]["__typename"] == "ModelPrice"
    token = await first.token("developer")
    viewer = await second.token("viewer")
    async with subscription(second, viewer, EVENTS, {"filter": {"provider": "openai"}}) as ws:

        async def probe(i: int) -> None:
            await post_events(first.client, [event(f"probe-{i}")], token)

        seen = (await until_live(probe, lambda: next_data(ws, 0.25)))["usageEvents"]
        assert seen["id"].startswith("ev-probe-")
        while True:  # drain probes still on their way
            try:
                await next_data(ws, 0.3)
            except TimeoutError:
                break
        batch = [event(i, model="llama-3", provider="together") if i % 3 == 0 else event(i)
                 for i in range(30)]  # fmt: skip
        batch.append(event("reported", model="mystery", provider="custom", cost="0.0125"))
        result = await post_events(first.client, batch, token)
        assert result["accepted"] == 31
        received = [(await next_data(ws))["usageEvents"] for _ in range(20)]
        assert [e["id"] for e in received] == [f"ev-{i}" for i in range(30) if i % 3]
        assert received[0]["provider"] == "openai" and received[0]["totalTokens"] == 1200
        # 900 uncached x 2 + 100 cached x 1 + 200 x 8, per million
        assert (received[0]["cost"], received[0]["costSource"]) == ("0.0035", "PRICE")
        with pytest.raises(TimeoutError):  # the filtered-out events never come
            await next_data(ws, 0.5)


async def test_unpriced_events_stream_with_a_null_cost(live_gateway: Gateway) -> None:
    token = await live_gateway.token("developer")
    viewer = await live_gateway.token("viewer")
    async with subscription(live_gateway, viewer, EVENTS, {"filter": {"model": "mystery"}}) as ws:

        async def probe(i: int) -> None:
            await post_events(live_gateway.client, [event(f"m{i}", model="mystery")], token)

        first = (await until_live(probe, lambda: next_data(ws, 0.25)))["usageEvents"]
        assert (first["cost"], first["costSource"], first["reportedCost"]) == (None, None, None)
        await post_events(live_gateway.client, [event("r", model="mystery", cost=0.5)], token)
        while (got := (await next_data(ws))["usageEvents"])["id"] != "ev-r":
            pass
        assert (got["cost"], got["costSource"], got["reportedCost"]) == ("0.5", "REPORTED", "0.5")


async def test_ticker_streams_the_running_overview(live_gateway: Gateway) -> None:
    viewer = await live_gateway.token("viewer")
    async with subscription(live_gateway, viewer, TICKER, {}) as ws:
        first = (await next_data(ws))["usageTicker"]
        token = await live_gateway.token("developer")
        await post_events(live_gateway.client, [event(i, subject=f"u{i}") for i in range(7)], token)
        for _ in range(3):
            tick = (await next_data(ws, 3))["usageTicker"]
            if tick["requests"] == first["requests"] + 7:
                break
        assert tick == {
            "requests": first["requests"] + 7,
            "totalTokens": first["totalTokens"] + 7 * 1200,
            "activeUsers": first["activeUsers"] + 7,
        }


async def test_a_long_lived_subscription_does_not_grow_with_its_events(
    live_gateway: Gateway,
) -> None:
    """graphql-core shares one memo of collected sub-fields between a subscription's
    per-event executors, keyed by lists made anew for each event: unchecked it grew about
    1 kB per delivered event for the subscription's life (the soak's RSS). Memory traced
    between the 300th and the 1,500th event stays flat."""
    token = await live_gateway.token("developer")
    viewer = await live_gateway.token("viewer")
    query = "subscription { usageEvents { id subject model promptTokens cost } }"
    async with subscription(live_gateway, viewer, query, {}) as ws:

        async def probe(i: int) -> None:
            await post_events(live_gateway.client, [event(f"p{i}")], token)

        await until_live(probe, lambda: next_data(ws, 0.25))
        while True:  # drain probes still on their way
            try:
                await next_data(ws, 0.3)
            except TimeoutError:
                break

        async def deliver(start: int, count: int) -> None:
            for first in range(start, start + count, 50):
                batch = [event(f"m{i}") for i in range(first, first + 50)]
                await post_events(live_gateway.client, batch, token)
                for _ in batch:
                    await next_data(ws)

        tracemalloc.start()
        try:
            await deliver(0, 300)
            gc.collect()
            before = tracemalloc.get_traced_memory()[0]
            await deliver(300, 1200)
            gc.collect()
            grown = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
    assert grown < 400_000, f"{grown:,} bytes more after 1,200 events"
