"""Lago's webhooks keep the revenue snapshot fresh; unsigned ones change nothing (issue 11)."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest

from gateway.sandbox.lago import LagoSandbox
from gateway.sandbox.lago_seed import seed_data
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.servers import ServeApp

OVERVIEW = "{ revenue { asOf overview { activeSubscriptions } } }"


async def active(gw: Gateway) -> int:
    return (await gw.data(OVERVIEW))["revenue"]["overview"]["activeSubscriptions"]


async def setup(
    serve_app: ServeApp, factory: GatewayFactory, algo: str = "jwt", **overrides: object
) -> tuple[LagoSandbox, str, Gateway]:
    lago = LagoSandbox(data=seed_data(customers=60))  # its own data: these tests change it
    lago_url = await serve_app(lago)
    gw = await factory(**lago.settings_for(lago_url), **overrides)
    lago.webhooks.add(f"{gw.url}/v1/webhooks/lago", algo)
    await active(gw)  # the snapshot exists
    return lago, lago_url, gw


async def terminate(lago: LagoSandbox, lago_url: str) -> str:
    victim = next(s for s in lago.data.subscriptions if s["status"] == "active")
    async with httpx.AsyncClient(base_url=lago_url) as client:
        response = await client.delete(
            f"/api/v1/subscriptions/{victim['external_id']}",
            headers={"Authorization": f"Bearer {lago.api_key}"},
        )
    assert response.status_code == 200, response.text
    return victim["external_id"]


async def until(check, seconds: float = 3.0) -> float:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    while not await check():
        assert time.perf_counter() - start < seconds, "not within the time allowed"
        await asyncio.sleep(0.02)
    return time.perf_counter() - start


@pytest.mark.parametrize("algo", ["jwt", "hmac"])
async def test_a_termination_shows_within_a_second_of_the_webhook(
    serve_app: ServeApp, live_gateway_factory: GatewayFactory, algo: str
) -> None:
    lago, lago_url, gw = await setup(serve_app, live_gateway_factory, algo)
    before = await active(gw)
    lago.reset_counts()
    await terminate(lago, lago_url)

    async def seen() -> bool:
        return await active(gw) == before - 1

    took = await until(seen)
    assert took < 1.0, took
    assert [d["status"] for d in lago.webhooks.delivered] == [200]
    # Applied from the webhook alone: no listing of Lago happened.
    assert lago.counts["GET /api/v1/subscriptions"] == 0
    as_of = (await gw.data(OVERVIEW))["revenue"]["asOf"]
    assert (
        as_of
        > (await gw.data('{ revenue(asOf: "2000-01-01T00:00:00Z") { asOf } }'))["revenue"]["asOf"]
    )


async def test_an_unsigned_or_forged_webhook_is_refused_and_changes_nothing(
    serve_app: ServeApp, live_gateway_factory: GatewayFactory
) -> None:
    lago, lago_url, gw = await setup(serve_app, live_gateway_factory)
    lago.webhooks.issuer = lago_url  # Lago signs as the server the gateway is pointed at
    before = await gw.data(OVERVIEW)
    victim = next(s for s in lago.data.subscriptions if s["status"] == "active")
    forged = {**victim, "status": "terminated", "terminated_at": "2020-01-01T00:00:00Z"}
    body = (
        '{"webhook_type": "subscription.terminated", "object_type": "subscription", '
        f'"subscription": {json.dumps(forged)}}}'
    )
    attempts = [
        {},  # no signature
        {"X-Lago-Signature": "not-a-jwt"},
        {"X-Lago-Signature": lago.webhooks.sign('{"other": "body"}', "jwt")},  # not this body
        {"X-Lago-Signature": "AAAA", "X-Lago-Signature-Algorithm": "hmac"},
    ]
    for headers in attempts:
        response = await gw.client.post("/v1/webhooks/lago", content=body, headers=headers)
        assert response.status_code == 401, (headers, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    assert await gw.services.store.log_length("lago-webhooks") == 0
    assert await gw.data(OVERVIEW) == before
    # Signed by Lago's key but claiming another server: refused too.
    lago.webhooks.issuer = "https://lago.elsewhere.example"
    other = {"X-Lago-Signature": lago.webhooks.sign(body, "jwt")}
    assert (
        await gw.client.post("/v1/webhooks/lago", content=body, headers=other)
    ).status_code == 401
    lago.webhooks.issuer = lago_url
    # The same body, signed by Lago's key, is taken (once, whatever Lago's retries).
    good = {"X-Lago-Signature": lago.webhooks.sign(body, "jwt"), "X-Lago-Unique-Key": "k1"}
    for duplicate in (False, True):
        response = await gw.client.post("/v1/webhooks/lago", content=body, headers=good)
        assert response.json() == {"received": True, "duplicate": duplicate}
    assert await active(gw) == before["revenue"]["overview"]["activeSubscriptions"] - 1


async def test_a_webhook_reaches_every_replica(
    serve_app: ServeApp, live_gateway_factory: GatewayFactory
) -> None:
    """Two replicas on one store: the one that did not receive it applies it from the log."""
    lago, lago_url, _receiver = await setup(serve_app, live_gateway_factory)
    second = await live_gateway_factory(**lago.settings_for(lago_url))
    before = await active(second)
    await terminate(lago, lago_url)

    async def seen() -> bool:
        return await active(second) == before - 1

    assert await until(seen) < 2.0


@pytest.mark.redis
async def test_replicas_share_one_build_through_redis(
    serve_app: ServeApp,
    live_gateway_factory: GatewayFactory,
    redis_url: str,
    redis_prefix: str,
) -> None:
    lago = LagoSandbox(data=seed_data(customers=60))
    lago_url = await serve_app(lago)
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix}
    first = await live_gateway_factory(**lago.settings_for(lago_url), **shared)
    await active(first)
    listings = lago.counts["GET /api/v1/subscriptions"]
    second = await live_gateway_factory(**lago.settings_for(lago_url), **shared)
    assert await active(second) == await active(first)
    assert lago.counts["GET /api/v1/subscriptions"] == listings  # loaded, not listed again


async def test_a_webhook_invalidates_cached_revenue_answers(
    serve_app: ServeApp, live_gateway_factory: GatewayFactory
) -> None:
    lago, lago_url, gw = await setup(serve_app, live_gateway_factory, response_cache=True)
    query = "{ revenue { overview { activeSubscriptions } } }"
    for expected in ("MISS", "HIT"):
        body = await gw.gql(query)
        assert body["extensions"]["cache"]["status"] == expected
    before = body["data"]["revenue"]["overview"]["activeSubscriptions"]
    await terminate(lago, lago_url)

    async def seen() -> bool:
        now = await gw.gql(query)
        return now["data"]["revenue"]["overview"]["activeSubscriptions"] == before - 1

    assert await until(seen) < 1.0


@pytest.mark.redis
async def test_replicas_share_cached_answers_through_redis(
    serve_app: ServeApp,
    live_gateway_factory: GatewayFactory,
    redis_url: str,
    redis_prefix: str,
) -> None:
    lago = LagoSandbox(data=seed_data(customers=30))
    lago_url = await serve_app(lago)
    shared = {"redis_url": redis_url, "redis_prefix": redis_prefix, "response_cache": True}
    first = await live_gateway_factory(**lago.settings_for(lago_url), **shared)
    second = await live_gateway_factory(**lago.settings_for(lago_url), **shared)
    query = "{ revenue { plans(first: 2) { totalCount } } }"
    assert (await first.gql(query))["extensions"]["cache"]["status"] == "MISS"
    assert (await second.gql(query))["extensions"]["cache"]["status"] == "HIT"
