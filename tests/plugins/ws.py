"""A GraphQL websocket client for tests: real websockets to a served gateway (``live_gateway``).

Every read has a timeout, so a message that never comes fails the test instead of hanging it.
``graphql-transport-ws`` unless a test asks for the legacy ``graphql-ws`` protocol.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

from websockets.asyncio.client import ClientConnection, connect

from tests.plugins.app import Gateway

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
T = TypeVar("T")


def ws_url(gw: Gateway) -> str:
    return gw.url.replace("http://", "ws://") + "/graphql"


async def send(ws: ClientConnection, message: dict[str, Any]) -> None:
    await ws.send(json.dumps(message))


async def recv(ws: ClientConnection, wait: float = 5.0) -> dict[str, Any]:
    return json.loads(await asyncio.wait_for(ws.recv(), wait))


async def recv_type(ws: ClientConnection, *types: str, wait: float = 5.0) -> dict[str, Any]:
    """The next message of one of ``types``, skipping the others (pings, "ka" keep-alives)."""
    while True:
        message = await recv(ws, wait)
        if message["type"] in types:
            return message


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def session(
    gw: Gateway, token: str, *, protocol: str = TRANSPORT_WS
) -> AsyncIterator[ClientConnection]:
    """A websocket on ``gw``'s /graphql whose ``connection_init`` carried ``token``; the first
    message back must be the ``connection_ack``."""
    async with connect(ws_url(gw), subprotocols=[protocol]) as ws:
        await send(ws, {"type": "connection_init", "payload": bearer(token)})
        ack = await recv(ws)
        assert ack["type"] == "connection_ack", ack
        yield ws


async def subscribe(
    ws: ClientConnection,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    protocol: str = TRANSPORT_WS,
) -> None:
    """Start operation "1" (``subscribe``, or ``start`` in the legacy protocol)."""
    payload: dict[str, Any] = {"query": query}
    if variables is not None:
        payload["variables"] = variables
    kind = "subscribe" if protocol == TRANSPORT_WS else "start"
    await send(ws, {"id": "1", "type": kind, "payload": payload})


@asynccontextmanager
async def subscription(
    gw: Gateway,
    token: str,
    query: str,
    variables: dict[str, Any] | None = None,
    *,
    protocol: str = TRANSPORT_WS,
) -> AsyncIterator[ClientConnection]:
    """:func:`session` with ``query`` subscribed as operation "1"."""
    async with session(gw, token, protocol=protocol) as ws:
        await subscribe(ws, query, variables, protocol=protocol)
        yield ws


async def next_data(ws: ClientConnection, wait: float = 5.0) -> dict[str, Any]:
    """The ``data`` of the next ``next`` message, which must carry no errors; only
    keep-alives may come before it."""
    while True:
        message = await recv(ws, wait)
        if message["type"] == "next":
            assert "errors" not in message["payload"], message
            return message["payload"]["data"]
        assert message["type"] in ("ping", "pong", "ka"), message


async def collect(ws: ClientConnection, field: str, wait: float = 5.0) -> list[dict[str, Any]]:
    """``field`` of every ``next`` message (none with errors) until the server completes."""
    events: list[dict[str, Any]] = []
    while True:
        message = await recv_type(ws, "next", "error", "complete", wait=wait)
        if message["type"] != "next":
            assert message["type"] == "complete", message
            return events
        assert "errors" not in message["payload"], message
        events.append(message["payload"]["data"][field])


async def refusal(ws: ClientConnection) -> list[dict[str, Any]]:
    """The errors the subscription was refused with: an ``error`` message, or errors in
    a ``next`` one."""
    message = await recv_type(ws, "next", "error")
    return message["payload"] if message["type"] == "error" else message["payload"]["errors"]


async def until_live(
    poke: Callable[[int], Awaitable[object]], read: Callable[[], Awaitable[T]], tries: int = 40
) -> T:
    """What ``read`` returns once the subscription is live, which it is only a moment after
    subscribing: ``poke(i)`` (cause an event), then ``read`` with a short timeout, again."""
    for i in range(tries):
        await poke(i)
        try:
            return await read()
        except TimeoutError:
            continue
    raise AssertionError(f"no event arrived after {tries} tries")
