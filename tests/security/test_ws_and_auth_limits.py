"""Per-principal websocket caps, rate-limited subscribes and per-address failed sign-ins."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from gateway.settings import Limits
from tests.plugins.app import GatewayFactory
from tests.plugins.ws import bearer, recv, recv_type, send, session, subscribe, ws_url

AUDIT = "subscription { auditEvents { action } }"


async def closed_with(ws, wait: float = 3) -> int | None:  # type: ignore[no-untyped-def]
    with pytest.raises(ConnectionClosed):
        while True:
            await asyncio.wait_for(ws.recv(), wait)
    return ws.close_code


async def test_websockets_per_subject_are_capped(live_gateway_factory: GatewayFactory) -> None:
    gw = await live_gateway_factory(limits=Limits(ws_max_connections=2))
    token = await gw.token("analyst", subject="many")
    async with session(gw, token), session(gw, token):
        async with connect(ws_url(gw), subprotocols=["graphql-transport-ws"]) as third:
            await send(third, {"type": "connection_init", "payload": bearer(token)})
            assert await closed_with(third) == 4429
        # Another subject is not affected.
        async with session(gw, await gw.token("analyst", subject="other")):
            pass
    # Closed sockets free their places.
    async with session(gw, token), session(gw, token):
        pass


async def test_operations_per_connection_are_capped(live_gateway_factory: GatewayFactory) -> None:
    gw = await live_gateway_factory(limits=Limits(ws_max_subscriptions=2))
    async with session(gw, gw.admin_token) as ws:
        for op in ("a", "b", "c"):
            await send(ws, {"id": op, "type": "subscribe", "payload": {"query": AUDIT}})
        error = await recv_type(ws, "error")
        assert error["id"] == "c"
        assert error["payload"][0]["extensions"]["code"] == "RATE_LIMITED"
        # Completing one makes room again.
        await send(ws, {"id": "a", "type": "complete"})
        await asyncio.sleep(0.1)
        await send(ws, {"id": "d", "type": "subscribe", "payload": {"query": AUDIT}})
        await gw.data('mutation { createRole(input: {name: "tick"}) { __typename } }')
        seen = {(await recv_type(ws, "next"))["id"] for _ in range(2)}
        assert seen == {"b", "d"}


async def test_subscribe_messages_draw_on_the_subject_rate_limit(
    live_gateway_factory: GatewayFactory,
) -> None:
    gw = await live_gateway_factory(limits=Limits(rate_per_second=0.01, rate_burst=3))
    token, _ = await gw.services.tokens.create(subject="burst", roles=["analyst"], expires_in=60)
    async with session(gw, token) as ws:
        for i in range(4):
            await send(ws, {"id": str(i), "type": "subscribe", "payload": {"query": AUDIT}})
        error = await recv_type(ws, "error")
        assert error["id"] == "3"
        extensions = error["payload"][0]["extensions"]
        assert extensions["code"] == "RATE_LIMITED" and extensions["retryAfter"] > 0


async def test_failed_sign_ins_per_address_get_429(gateway_factory: GatewayFactory) -> None:
    gw = await gateway_factory(limits=Limits(auth_failures_per_minute=3))
    bad = "ogw_AAAAAAAAAA_" + "x" * 43
    statuses = [(await gw.post("{ me { subject } }", token=bad)).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
    refused = await gw.post("{ me { subject } }", token=gw.admin_token)
    assert refused.status_code == 429  # valid or not: a guesser learns nothing
    assert int(refused.headers["retry-after"]) >= 1
    assert refused.json()["errors"][0]["extensions"]["code"] == "RATE_LIMITED"
    # Requests without any credential are not guesses, and other addresses are unaffected.
    other = httpx.AsyncClient(
        transport=httpx.ASGITransport(app=gw.app, client=("10.0.0.9", 4000)),
        base_url=gw.url,
    )
    async with other:
        ok = await other.post(
            "/graphql",
            json={"query": "{ me { subject } }"},
            headers={"Authorization": f"Bearer {gw.admin_token}"},
        )
        assert ok.status_code == 200 and ok.json()["data"]["me"]["subject"] == "admin"


async def test_failed_websocket_sign_ins_end_with_4429(
    live_gateway_factory: GatewayFactory,
) -> None:
    gw = await live_gateway_factory(limits=Limits(auth_failures_per_minute=2))
    codes = []
    for _ in range(3):
        async with connect(ws_url(gw), subprotocols=["graphql-transport-ws"]) as ws:
            await send(ws, {"type": "connection_init", "payload": bearer("ogw_nope")})
            codes.append(await closed_with(ws))
    assert codes == [4403, 4403, 4429]  # a budget of two failures, then refused


async def test_legacy_protocol_refusals_carry_a_message(
    live_gateway_factory: GatewayFactory,
) -> None:
    gw = await live_gateway_factory(limits=Limits(ws_max_connections=1))
    token = await gw.token("analyst", subject="solo")
    legacy = ["graphql-ws"]
    async with (
        session(gw, token, protocol="graphql-ws"),
        connect(ws_url(gw), subprotocols=legacy) as second,  # type: ignore[arg-type]
    ):
        await send(second, {"type": "connection_init", "payload": bearer(token)})
        error = await recv(second)
        assert error["type"] == "connection_error"
        assert "at most 1" in error["payload"]["message"]
        assert await closed_with(second) == 4429
    async with session(gw, token) as ws:
        await subscribe(ws, AUDIT)
