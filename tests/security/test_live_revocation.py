"""Revocation reaches open websockets within a second, on this replica and on others."""

from __future__ import annotations

import asyncio
import time

import pytest
from websockets.asyncio.client import ClientConnection
from websockets.exceptions import ConnectionClosed

from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.oidc import IdP
from tests.plugins.ws import LEGACY_WS, TRANSPORT_WS, refusal, session, subscribe, subscription

AUDIT = "subscription { auditEvents { action target } }"


async def closed_within(ws: ClientConnection, seconds: float) -> tuple[int | None, float]:
    """Wait for the server to close the socket; (close code, seconds it took)."""
    start = time.perf_counter()
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), seconds)
    return ws.close_code, time.perf_counter() - start


async def token_id(gw: Gateway, token: str) -> str:
    return (await gw.data("{ me { tokenId } }", token=token))["me"]["tokenId"]


async def revoke(gw: Gateway, token_id: str) -> None:
    data = await gw.data(
        f'mutation {{ revokeApiToken(id: "{token_id}") {{ __typename }} }}', token=gw.admin_token
    )
    assert data["revokeApiToken"]["__typename"] == "ApiToken"


@pytest.mark.parametrize("protocol", [TRANSPORT_WS, LEGACY_WS])
async def test_revoking_a_token_closes_its_open_subscription(
    live_gateway: Gateway, protocol: str
) -> None:
    analyst = await live_gateway.token("analyst", subject="watcher")
    tid = await token_id(live_gateway, analyst)
    async with subscription(live_gateway, analyst, AUDIT, protocol=protocol) as ws:
        await asyncio.sleep(0.1)  # subscribed and streaming
        await revoke(live_gateway, tid)
        code, took = await closed_within(ws, 3)
    assert code == 4403
    assert took < 1.0, took
    # And the token is refused on the very next HTTP request.
    response = await live_gateway.post("{ me { subject } }", token=analyst)
    assert response.status_code == 401


async def test_unassigning_the_role_a_socket_relies_on_closes_it(live_gateway: Gateway) -> None:
    carol, _ = await live_gateway.services.tokens.create(
        subject="carol", roles=["viewer"], expires_in=600
    )
    await live_gateway.data(
        'mutation { assignRole(subject: "carol", role: "analyst") { __typename } }'
    )
    async with subscription(live_gateway, carol, AUDIT) as ws:
        await asyncio.sleep(0.1)
        await live_gateway.data(
            'mutation { unassignRole(subject: "carol", role: "analyst") { __typename } }'
        )
        code, took = await closed_within(ws, 3)
    assert code == 4403 and took < 1.0, (code, took)


async def test_a_grant_reaches_an_open_socket(live_gateway: Gateway) -> None:
    await live_gateway.data('mutation { createRole(input: {name: "watchers"}) { __typename } }')
    token, _ = await live_gateway.services.tokens.create(
        subject="wanda", roles=["watchers"], expires_in=600
    )
    async with session(live_gateway, token) as ws:
        await subscribe(ws, AUDIT)
        assert (await refusal(ws))[0]["extensions"]["code"] == "FORBIDDEN"
        await live_gateway.data(
            'mutation { grantPermission(role: "watchers", resource: ACCESS, action: READ) '
            "{ __typename } }"
        )
        await asyncio.sleep(0.3)
        await subscribe(ws, AUDIT)  # operation "1" again: the refused one is over
        await live_gateway.data('mutation { createRole(input: {name: "seen"}) { __typename } }')
        deadline = time.perf_counter() + 3
        while time.perf_counter() < deadline:
            message = await asyncio.wait_for(ws.recv(), 3)
            if '"next"' in message:
                assert "seen" in message
                break
        else:
            raise AssertionError("the subscription never delivered after the grant")


async def test_revocation_on_another_replica_closes_the_socket(
    live_gateway_factory: GatewayFactory,
) -> None:
    """Two replicas on one SQLite store, no shared pub/sub: the generation poll finds it."""
    first = await live_gateway_factory()
    second = await live_gateway_factory()
    analyst = await first.token("analyst", subject="watcher")
    tid = await token_id(first, analyst)
    async with subscription(first, analyst, AUDIT) as ws:
        await asyncio.sleep(0.1)
        await revoke(second, tid)
        code, took = await closed_within(ws, 3)
    assert code == 4403 and took < 1.0, (code, took)
    assert (await first.post("{ me { subject } }", token=analyst)).status_code == 401


async def test_an_oidc_socket_is_closed_when_its_jwt_expires(
    live_gateway_factory: GatewayFactory, idp: IdP
) -> None:
    gw = await live_gateway_factory(oidc=idp.settings)
    jwt = idp.token("oidc-user", "analyst", exp=int(time.time()) + 2)
    async with subscription(gw, jwt, AUDIT) as ws:
        code, took = await closed_within(ws, 5)
    assert code == 4403
    assert took < 3.5, took  # expiry (within 2 s) plus at most one poll
