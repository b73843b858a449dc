"""Hostile volumes (issue 13, part 5) against a served gateway: a thousand idle websockets
and one websocket subscribing thousands of times each get a bounded answer (init timeout,
operation cap and subscribe budget) while a well-behaved client is still served."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.plugins.servers import served_gateway

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
ME = {"query": "{ me { subject } }"}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str, str]]:
    """``(url, a well-behaved token, the attacker's token)``; default limits."""
    roles = {"good": "viewer", "flood": "viewer"}
    with served_gateway(tmp_path_factory.mktemp("hostile"), roles=roles) as gateway:
        yield gateway.url, gateway.tokens["good"], gateway.tokens["flood"]


async def _p99(client: httpx.AsyncClient, token: str, n: int = 60) -> float:
    times = []
    for _ in range(n):
        started = time.perf_counter()
        response = await client.post(
            "/graphql", json=ME, headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 200, response.text
        times.append(time.perf_counter() - started)
    return statistics.quantiles(times, n=100)[98]


async def test_a_thousand_idle_websockets_are_bounded_per_address(
    served: tuple[str, str, str],
) -> None:
    """1,000 websockets from one address that never initialise: 64 are held (each closed
    4408 when its init window ends), the rest refused before the upgrade (403)."""
    url, good, _ = served
    ws_url = url.replace("http://", "ws://") + "/graphql"
    sockets, refused = [], 0
    for _ in range(1000):
        try:
            sockets.append(
                await connect(ws_url, subprotocols=["graphql-transport-ws"], open_timeout=10)
            )
        except InvalidStatus as exc:
            assert exc.response.status_code == 403
            refused += 1
    try:
        assert len(sockets) == 64 and refused == 936, (len(sockets), refused)
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            assert await _p99(client, good, n=20) < 1.0, "others are served meanwhile"
        # No connection_init: each is closed with 4408 once the init window (10 s) ends.
        await asyncio.wait_for(asyncio.gather(*(s.wait_closed() for s in sockets)), timeout=30)
        assert {s.close_code for s in sockets} == {4408}
        # Closed, they no longer count: the address may open websockets again.
        async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as again:
            init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {good}"}}
            await again.send(json.dumps(init))
            assert json.loads(await again.recv())["type"] == "connection_ack"
    finally:
        for s in sockets:
            await s.close()


async def test_one_websocket_subscribing_thousands_of_times_is_bounded(
    served: tuple[str, str, str],
) -> None:
    url, _, bad = served
    ws_url = url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {bad}"}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        for i in range(5000):
            message = {
                "id": str(i),
                "type": "subscribe",
                "payload": {"query": "subscription { usageEvents { id } }"},
            }
            try:
                await ws.send(json.dumps(message))
            except ConnectionClosed:  # closed by the server: the bound held
                break
        errors = 0
        try:
            while True:
                reply = json.loads(await asyncio.wait_for(ws.recv(), 5))
                errors += reply["type"] == "error"
        except (TimeoutError, ConnectionClosed):
            pass  # quiet for 5 s, or closed: every answer has been read
    # Either refused one by one (operation cap, subscribe budget) or the socket closed:
    # never 5,000 live subscriptions.
    assert errors > 0 or ws.close_code in (4429, 4400), (errors, ws.close_code)


async def test_a_burst_from_one_token_is_paced_while_others_are_served(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """64 connections resending at once for 3 s: each 429 is held for about
    GATEWAY_RATE_LIMIT_DELAY (so the flood paces itself) and carries Retry-After; no more
    than the bucket allows gets through; the other subject is answered throughout."""
    env = {"GATEWAY_RATE_PER_SECOND": "10", "GATEWAY_RATE_BURST": "20"}
    roles = {"good": "viewer", "flood": "viewer"}
    with served_gateway(tmp_path_factory.mktemp("burst"), roles=roles, env=env) as gateway:
        url, good, flood = gateway.url, gateway.tokens["good"], gateway.tokens["flood"]
        refused: list[float] = []
        allowed = 0
        stop = time.monotonic() + 3.0

        async def attacker(client: httpx.AsyncClient) -> None:
            nonlocal allowed
            while time.monotonic() < stop:
                started = time.perf_counter()
                response = await client.post("/graphql", json=ME)
                if response.status_code == 429:
                    assert response.headers["Retry-After"]
                    refused.append(time.perf_counter() - started)
                else:
                    assert response.status_code == 200, response.text
                    allowed += 1

        limits = httpx.Limits(max_connections=64)
        headers = {"Authorization": f"Bearer {flood}"}
        async with (
            httpx.AsyncClient(base_url=url, timeout=30, limits=limits, headers=headers) as bad,
            httpx.AsyncClient(base_url=url, timeout=30) as client,
        ):
            flood_task = asyncio.gather(*(attacker(bad) for _ in range(64)))
            await asyncio.sleep(0.5)
            assert await _p99(client, good, n=20) < 1.0, "others are served meanwhile"
            await flood_task
    assert allowed <= 20 + 10 * 4, allowed  # the bucket, refilled for the window
    assert min(refused) > 0.45, "each 429 is held for about the delay (1 s, +-50%)"
    # Held, 64 connections send about 64 requests a second, not thousands.
    assert len(refused) < 64 * 4 / 0.5, len(refused)
