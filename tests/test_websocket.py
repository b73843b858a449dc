"""WebSocket transport: auth in connection_init, both protocols, and cross-replica delivery."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.plugins.app import Gateway, GatewayFactory
from tests.plugins.ws import (
    LEGACY_WS,
    TRANSPORT_WS,
    bearer,
    recv,
    recv_type,
    refusal,
    send,
    subscribe,
    subscription,
    until_live,
    ws_url,
)

AUDIT = "subscription { auditEvents { actor action target after } }"


async def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code is not None
    return ws.close_code


async def create_role(gw: Gateway, name: str) -> None:
    body = await gw.gql(f'mutation {{ createRole(input: {{name: "{name}"}}) {{ __typename }} }}')
    assert body["data"]["createRole"]["__typename"] == "Role", body


async def first_event(
    ws: ClientConnection, gw: Gateway, prefix: str, kind: str = "next"
) -> tuple[dict[str, Any], list[str]]:
    """Create roles until the subscription sees one."""
    made: list[str] = []

    async def poke(i: int) -> None:
        made.append(f"{prefix}-{i}")
        await create_role(gw, made[-1])

    return await until_live(poke, lambda: recv_type(ws, kind, wait=0.25)), made


@pytest.mark.parametrize(
    "payload",
    [None, {}, {"Authorization": "Bearer ogw_bad_token"}, {"Authorization": "Basic eA=="}],
)
async def test_transport_ws_without_a_valid_token_is_closed_4403(
    live_gateway: Gateway, payload: dict | None
) -> None:
    async with connect(ws_url(live_gateway), subprotocols=[TRANSPORT_WS]) as ws:
        message: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            message["payload"] = payload
        await send(ws, message)
        assert await close_code(ws) == 4403


async def test_transport_ws_subscribe_before_init_is_closed_4401(live_gateway: Gateway) -> None:
    async with connect(ws_url(live_gateway), subprotocols=[TRANSPORT_WS]) as ws:
        await subscribe(ws, AUDIT)
        assert await close_code(ws) == 4401


async def test_legacy_graphql_ws_without_a_valid_token_is_closed_4403(
    live_gateway: Gateway,
) -> None:
    async with connect(ws_url(live_gateway), subprotocols=[LEGACY_WS]) as ws:
        await send(ws, {"type": "connection_init", "payload": bearer("nope")})
        assert (await recv(ws))["type"] == "connection_error"
        assert await close_code(ws) == 4403


async def test_transport_ws_subscription_receives_audit_events(live_gateway: Gateway) -> None:
    async with subscription(live_gateway, live_gateway.admin_token, AUDIT) as ws:
        event, made = await first_event(ws, live_gateway, "ws-role")
        assert event["id"] == "1"
        assert event["payload"]["data"]["auditEvents"]["action"] == "createRole"
        assert event["payload"]["data"]["auditEvents"]["target"] in made
        # After the first, every event arrives, in order.
        await create_role(live_gateway, "ws-role-next")
        event = await recv_type(ws, "next")
        assert event["payload"]["data"]["auditEvents"]["target"] == "ws-role-next"


async def test_legacy_graphql_ws_subscription(live_gateway: Gateway) -> None:
    token = live_gateway.admin_token
    async with subscription(live_gateway, token, AUDIT, protocol=LEGACY_WS) as ws:
        event, made = await first_event(ws, live_gateway, "legacy-role", kind="data")
        assert event["payload"]["data"]["auditEvents"]["target"] in made


async def test_viewer_cannot_subscribe_to_audit_events(live_gateway: Gateway) -> None:
    async with subscription(live_gateway, await live_gateway.token("viewer"), AUDIT) as ws:
        errors = await refusal(ws)
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.redis
async def test_subscription_on_one_replica_receives_events_from_another(
    live_gateway_factory: GatewayFactory, redis_url: str, redis_prefix: str
) -> None:
    first = await live_gateway_factory(redis_url=redis_url, redis_prefix=redis_prefix)
    second = await live_gateway_factory(redis_url=redis_url, redis_prefix=redis_prefix)
    async with subscription(first, first.admin_token, AUDIT) as ws:
        event, made = await first_event(ws, second, "made-on-second")
        assert event["payload"]["data"]["auditEvents"]["target"] in made
        assert event["payload"]["data"]["auditEvents"]["actor"] == "admin"
