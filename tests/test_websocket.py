"""WebSocket transport: auth in connection_init, both protocols, and cross-replica delivery."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from tests.plugins.app import Gateway, GatewayFactory

AUDIT = "subscription { auditEvents { actor action target after } }"


def ws_url(gw: Gateway) -> str:
    return gw.url.replace("http://", "ws://") + "/graphql"


async def recv(ws: ClientConnection, wait: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), wait))


async def recv_type(ws: ClientConnection, *types: str) -> dict[str, Any]:
    while True:  # skip keep-alive pings and "ka" frames
        message = await recv(ws)
        if message["type"] in types:
            return message


async def close_code(ws: ClientConnection) -> int | None:
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), 5)
    assert ws.close_code is not None
    return ws.close_code


async def create_role(gw: Gateway, name: str) -> None:
    body = await gw.gql(f'mutation {{ createRole(input: {{name: "{name}"}}) {{ __typename }} }}')
    assert body["data"]["createRole"]["__typename"] == "Role", body


async def subscribe_transport_ws(gw: Gateway, token: str) -> ClientConnection:
    ws = await connect(ws_url(gw), subprotocols=["graphql-transport-ws"])
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    )
    assert (await recv_type(ws, "connection_ack"))["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": AUDIT}}))
    return ws


async def first_event(
    ws: ClientConnection, gw: Gateway, prefix: str, kind: str = "next"
) -> tuple[dict[str, Any], list[str]]:
    """Create roles until the subscription (live a moment after subscribing) sees one."""
    made: list[str] = []
    for i in range(40):
        made.append(f"{prefix}-{i}")
        await create_role(gw, made[-1])
        try:
            while True:
                message = json.loads(await asyncio.wait_for(ws.recv(), 0.25))
                if message["type"] == kind:
                    return message, made
        except TimeoutError:
            continue
    raise AssertionError("no event arrived")


@pytest.mark.parametrize(
    "payload",
    [None, {}, {"Authorization": "Bearer ogw_bad_token"}, {"Authorization": "Basic eA=="}],
)
async def test_transport_ws_without_a_valid_token_is_closed_4403(
    live_gateway: Gateway, payload: dict | None
) -> None:
    async with connect(ws_url(live_gateway), subprotocols=["graphql-transport-ws"]) as ws:
        message: dict[str, Any] = {"type": "connection_init"}
        if payload is not None:
            message["payload"] = payload
        await ws.send(json.dumps(message))
        assert await close_code(ws) == 4403


async def test_transport_ws_subscribe_before_init_is_closed_4401(live_gateway: Gateway) -> None:
    async with connect(ws_url(live_gateway), subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": AUDIT}}))
        assert await close_code(ws) == 4401


async def test_legacy_graphql_ws_without_a_valid_token_is_closed_4403(
    live_gateway: Gateway,
) -> None:
    async with connect(ws_url(live_gateway), subprotocols=["graphql-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": "Bearer nope"}})
        )
        assert (await recv(ws))["type"] == "connection_error"
        assert await close_code(ws) == 4403


async def test_transport_ws_subscription_receives_audit_events(live_gateway: Gateway) -> None:
    ws = await subscribe_transport_ws(live_gateway, live_gateway.admin_token)
    async with ws:
        event, made = await first_event(ws, live_gateway, "ws-role")
        assert event["id"] == "1"
        assert event["payload"]["data"]["auditEvents"]["action"] == "createRole"
        assert event["payload"]["data"]["auditEvents"]["target"] in made
        # After the first, every event arrives, in order.
        await create_role(live_gateway, "ws-role-next")
        event = await recv_type(ws, "next")
        assert event["payload"]["data"]["auditEvents"]["target"] == "ws-role-next"


async def test_legacy_graphql_ws_subscription(live_gateway: Gateway) -> None:
    async with connect(ws_url(live_gateway), subprotocols=["graphql-ws"]) as ws:
        auth = {"Authorization": f"Bearer {live_gateway.admin_token}"}
        await ws.send(json.dumps({"type": "connection_init", "payload": auth}))
        assert (await recv_type(ws, "connection_ack"))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "start", "payload": {"query": AUDIT}}))
        event, made = await first_event(ws, live_gateway, "legacy-role", kind="data")
        assert event["payload"]["data"]["auditEvents"]["target"] in made


async def test_viewer_cannot_subscribe_to_audit_events(live_gateway: Gateway) -> None:
    viewer = await live_gateway.token("viewer")
    async with connect(ws_url(live_gateway), subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {viewer}"}}
            )
        )
        await recv_type(ws, "connection_ack")
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": AUDIT}}))
        message = await recv_type(ws, "next", "error")
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == "FORBIDDEN"


@pytest.mark.redis
async def test_subscription_on_one_replica_receives_events_from_another(
    live_gateway_factory: GatewayFactory, redis_url: str, redis_prefix: str
) -> None:
    first = await live_gateway_factory(redis_url=redis_url, redis_prefix=redis_prefix)
    second = await live_gateway_factory(redis_url=redis_url, redis_prefix=redis_prefix)
    ws = await subscribe_transport_ws(first, first.admin_token)
    async with ws:
        event, made = await first_event(ws, second, "made-on-second")
        assert event["payload"]["data"]["auditEvents"]["target"] in made
        assert event["payload"]["data"]["auditEvents"]["actor"] == "admin"
