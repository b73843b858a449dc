"""Signed-in callers are cached, and every access change reaches the cache at once."""

from __future__ import annotations

import asyncio
import time

from tests.plugins.app import Gateway, GatewayFactory

ME = "{ me { subject permissions { key } } }"


async def token_id(gw: Gateway, token: str) -> str:
    return (await gw.data("{ me { tokenId } }", token=token))["me"]["tokenId"]


async def test_a_known_caller_is_served_from_the_cache(gateway: Gateway) -> None:
    token = await gateway.token("viewer", subject="dash")
    cache = gateway.services.signin
    await gateway.data(ME, token=token)
    hits, misses = cache.hits, cache.misses
    for _ in range(20):
        await gateway.data(ME, token=token)
    assert cache.hits - hits == 20 and cache.misses == misses


async def test_a_revoked_token_fails_on_the_very_next_request(gateway: Gateway) -> None:
    token = await gateway.token("viewer", subject="dash")
    await gateway.data(ME, token=token)  # cached
    tid = await token_id(gateway, token)
    await gateway.data(f'mutation {{ revokeApiToken(id: "{tid}") {{ __typename }} }}')
    assert (await gateway.post(ME, token=token)).status_code == 401


async def test_a_grant_or_assignment_shows_on_the_next_request(gateway: Gateway) -> None:
    token, _ = await gateway.services.tokens.create(
        subject="carol", roles=["viewer"], expires_in=60
    )
    before = await gateway.data(ME, token=token)
    assert "access:read" not in {p["key"] for p in before["me"]["permissions"]}
    await gateway.data('mutation { assignRole(subject: "carol", role: "analyst") { __typename } }')
    after = await gateway.data(ME, token=token)
    assert "access:read" in {p["key"] for p in after["me"]["permissions"]}
    await gateway.data(
        'mutation { revokePermission(role: "analyst", resource: ACCESS, action: READ) '
        "{ __typename } }"
    )
    again = await gateway.data(ME, token=token)
    assert "access:read" not in {p["key"] for p in again["me"]["permissions"]}


async def test_a_revocation_on_another_replica_reaches_the_cache(
    live_gateway_factory: GatewayFactory,
) -> None:
    """Two replicas on one SQLite store and no shared pub/sub: the poll finds it."""
    first = await live_gateway_factory()
    second = await live_gateway_factory()
    token = await first.token("viewer", subject="dash")
    await first.data(ME, token=token)  # cached on the first replica
    tid = await token_id(first, token)
    await second.data(f'mutation {{ revokeApiToken(id: "{tid}") {{ __typename }} }}')
    started = time.perf_counter()
    while (await first.post(ME, token=token)).status_code == 200:
        assert time.perf_counter() - started < 1.0, "still accepted after a second"
        await asyncio.sleep(0.02)


async def test_access_changes_judge_the_actor_afresh(live_gateway_factory: GatewayFactory) -> None:
    """A moderator demoted on another replica cannot use the cached grant to change access."""
    first = await live_gateway_factory()
    second = await live_gateway_factory()
    mod, _ = await first.services.tokens.create(subject="mod", roles=["viewer"], expires_in=60)
    await first.data('mutation { assignRole(subject: "mod", role: "moderator") { __typename } }')
    await first.data(ME, token=mod)  # cached as a moderator on the first replica
    await second.data('mutation { unassignRole(subject: "mod", role: "moderator") { __typename } }')
    body = await first.gql(
        'mutation { createRole(input: {name: "sneaky"}) { ... on AccessError { code } } }',
        token=mod,
    )
    # Mutations are judged on the store's view of the caller, not the cached one.
    assert not (body["data"] or {}).get("createRole")
    assert body["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    roles = await second.data("{ access { roles { name } } }")
    assert "sneaky" not in {r["name"] for r in roles["access"]["roles"]}
