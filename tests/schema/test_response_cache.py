"""GATEWAY_RESPONSE_CACHE: hits and misses, keys per permission set, invalidation."""

from __future__ import annotations

import pytest

from gateway.sandbox.lago import LagoSandbox
from gateway.sandbox.lago_seed import seed_data
from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.servers import ServeApp

PLANS = "{ revenue { plans(first: 3) { totalCount } } }"


async def cached(gw: Gateway, query: str, token: str | None = "") -> tuple[dict, str | None]:
    body = await gw.gql(query, token=token)
    assert "errors" not in body, body
    return body["data"], (body.get("extensions") or {}).get("cache", {}).get("status")


@pytest.fixture
async def lago_gw(
    gateway_factory: GatewayFactory, serve_app: ServeApp
) -> tuple[Gateway, LagoSandbox]:
    lago = LagoSandbox(data=seed_data(customers=40))
    gw = await gateway_factory(**lago.settings_for(await serve_app(lago)), response_cache=True)
    return gw, lago


async def test_a_repeated_query_is_answered_from_the_cache(lago_gw) -> None:  # type: ignore[no-untyped-def]
    gw, lago = lago_gw
    first, status = await cached(gw, PLANS)
    assert status == "MISS"
    lago.reset_counts()
    again, status = await cached(gw, PLANS)
    assert (again, status) == (first, "HIT")
    assert lago.total == 0  # nothing executed


async def test_answers_are_never_shared_across_permission_sets(lago_gw) -> None:  # type: ignore[no-untyped-def]
    gw, _ = lago_gw
    await cached(gw, PLANS)
    viewer = await gw.token("viewer", subject="v1")
    _, status = await cached(gw, PLANS, token=viewer)
    assert status == "MISS"  # same document, other permission set
    other_viewer = await gw.token("viewer", subject="v2")
    _, status = await cached(gw, PLANS, token=other_viewer)
    assert status == "HIT"  # same permission set, public data


async def test_uncacheable_fields_and_mutations(lago_gw) -> None:  # type: ignore[no-untyped-def]
    gw, _ = lago_gw
    _, status = await cached(gw, "{ me { subject } revenue { plans { totalCount } } }")
    assert status is None  # `me` has no @cacheControl: the whole operation is not cached
    body = await gw.gql('mutation { createRole(input: {name: "x"}) { __typename } }')
    assert "cache" not in (body.get("extensions") or {})


async def test_a_mutation_invalidates_its_domain(gateway_factory: GatewayFactory) -> None:
    gw = await gateway_factory(response_cache=True)
    query = "{ providers { list(first: 5) { totalCount } } }"
    before, status = await cached(gw, query)
    assert status == "MISS"
    _, status = await cached(gw, query)
    assert status == "HIT"
    created = await gw.data(
        "mutation($i: CreateProviderInput!) { createProvider(input: $i) { __typename } }",
        {"i": {"name": "local", "kind": "OLLAMA", "baseUrl": "http://127.0.0.1:11434"}},
    )
    assert created["createProvider"]["__typename"] == "Provider", created
    after, status = await cached(gw, query)
    assert status == "MISS"
    assert after["providers"]["list"]["totalCount"] == before["providers"]["list"]["totalCount"] + 1


async def test_off_by_default(gateway: Gateway) -> None:
    body = await gateway.gql("{ providers { list { totalCount } } }")
    assert "cache" not in (body.get("extensions") or {})
