"""Three ``ops-gateway serve`` processes on one PostgreSQL store and one Redis, behind HAProxy:
live events cross replicas, and killing a replica or the database connections under load
loses nothing that was acknowledged."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import httpx
import pytest
from websockets.asyncio.client import connect

from bench.cluster import Cluster, Replica
from bench.ingest_load import IngestLoad, usage_event
from gateway.sandbox.lago import LagoSandbox
from gateway.store import PostgresStore
from gateway.store.names import USAGE_LEASES as LEASES
from gateway.usage.outbox import MAX_BATCH
from tests.replicas.conftest import StartCluster

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

OVERVIEW = "{ usage { overview(days: 1) { requests billing { backlog } } } }"
SUBSCRIBE = "subscription { usageEvents { id subject } }"


async def admin_token(cluster: Cluster) -> str:
    out = await cluster.cli("token", "create", "--subject", "ops", "--role", "admin")
    return out.strip()


async def gql(url: str, token: str, query: str) -> dict[str, Any]:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{url}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {token}"}
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float, what: str) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"not within {within:g} s: {what}")
        await asyncio.sleep(0.2)


async def post(url: str, token: str, ids: list[str]) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        response = await client.post(
            f"{url}/v1/usage/events",
            json=[usage_event(i) for i in ids],
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(ids)


async def test_a_subscription_on_replica_1_receives_events_posted_through_the_others(
    start_cluster: StartCluster,
) -> None:
    cluster = await start_cluster()
    printed = [r.name for r in cluster.replicas if "ogw_" in r.log.read_text()]
    assert len(printed) == 1, f"one bootstrap admin token for the cluster, printed by {printed}"
    token = await admin_token(cluster)
    r1, r2, r3 = cluster.replicas
    ws_url = r1.url.replace("http://", "ws://") + "/graphql"
    async with connect(ws_url, subprotocols=["graphql-transport-ws"]) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
        )
        assert json.loads(await asyncio.wait_for(ws.recv(), 5))["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
        received: list[str] = []

        async def listen() -> None:
            while True:
                message = json.loads(await ws.recv())
                assert message["type"] in ("next", "ping", "pong"), message
                if message["type"] == "next":
                    assert "errors" not in message["payload"], message
                    received.append(message["payload"]["data"]["usageEvents"]["id"])

        listener = asyncio.create_task(listen())
        # The subscription is live on replica 1 once a probe posted elsewhere comes through.
        probes = 0

        async def probe_arrived() -> bool:
            nonlocal probes
            probes += 1
            await post(r2.url, token, [f"probe-{probes}"])
            await asyncio.sleep(0.1)
            return any(i.startswith("probe-") for i in received)

        await eventually(probe_arrived, within=10, what="a probe event reached replica 1")
        received.clear()
        sent: list[str] = []
        for n in range(30):  # through replicas 2 and 3 directly, and through the balancer
            ids = [f"ev-{n}-{k}" for k in range(5)]
            await post((r2.url, r3.url, cluster.url)[n % 3], token, ids)
            sent += ids

        async def all_arrived() -> bool:
            return set(sent) <= set(received)

        await eventually(all_arrived, within=10, what="every event reached replica 1")
        listener.cancel()
    stray = [i for i in received if not i.startswith("probe-")]
    assert sorted(stray) == sorted(sent), "each event once, none missing, none extra"


async def _outbox_sender(cluster: Cluster, store_url: str) -> Replica | None:
    """The replica holding the Lago outbox lease (its owner names host/pid)."""
    dsn, _, schema = store_url.partition("?search_path=")
    store = PostgresStore(dsn=dsn, schema=schema, pool_size=2, migrate_on_open=False)
    await store.open()
    try:
        lease = await store.get(LEASES, "lago")
    finally:
        await store.close()
    if lease is None:
        return None
    pid = int(lease.data["owner"].split("/")[1])
    return next((r for r in cluster.replicas if r.process and r.process.pid == pid), None)


async def _settled(
    cluster: Cluster, token: str, lago: LagoSandbox, acknowledged: set[str]
) -> dict[str, Any]:
    """The overview once Lago holds every acknowledged event and the rollups caught up (a
    sender killed mid-lease is replaced when its lease expires, 15 s)."""
    overview: dict[str, Any] = {}

    async def settled() -> bool:
        nonlocal overview
        overview = (await gql(cluster.url, token, OVERVIEW))["usage"]["overview"]
        caught_up = overview["requests"] >= len(acknowledged)
        return caught_up and overview["billing"]["backlog"] == 0

    await eventually(settled, within=45, what="Lago and the rollups caught up")
    return overview


async def test_sigkill_of_a_replica_under_load_loses_and_doubles_nothing(
    start_cluster: StartCluster, lago: tuple[LagoSandbox, str]
) -> None:
    sandbox, _ = lago
    cluster = await start_cluster()
    token = await admin_token(cluster)
    async with IngestLoad(cluster.url, token, tag="kill") as load:
        await eventually(
            lambda: _true(len(load.acknowledged) >= 200), within=20, what="the load runs"
        )
        victim = await _outbox_sender(cluster, cluster.env["GATEWAY_STORE"])
        victim = victim or cluster.replicas[1]
        before = len(load.acknowledged)
        cluster.kill(victim)
        await asyncio.sleep(1.0)
        await cluster.start(victim)
        await eventually(
            lambda: _true(len(load.acknowledged) >= before + 400),
            within=30,
            what="the load goes on after the restart",
        )
    overview = await _settled(cluster, token, sandbox, load.acknowledged)
    assert overview["requests"] == len(load.acknowledged), "each acknowledged event counted once"
    assert sandbox.receipts.keys() == load.acknowledged, "Lago holds exactly the acknowledged"
    resent = {i: n for i, n in sandbox.receipts.items() if n > 1}
    print(f"\nSIGKILL of {victim.name}: {len(load.acknowledged)} events acknowledged, "
          f"{load.failed} POSTs failed and were retried: {dict(load.failures)}; "
          f"re-sent to Lago after the kill: {len(resent)}")  # fmt: skip
    # Only a batch the killed sender had in flight can reach Lago twice (same transaction_id,
    # so Lago keeps it once); nothing else is ever re-sent.
    assert len(resent) <= MAX_BATCH, resent
    assert len(sandbox.events) == len(load.acknowledged)
    assert all(body_is_clean(b) for b in load.bodies)


async def test_postgres_connections_terminated_mid_load_recover_without_loss(
    start_cluster: StartCluster, lago: tuple[LagoSandbox, str], postgres_url: str
) -> None:
    sandbox, _ = lago
    cluster = await start_cluster()
    token = await admin_token(cluster)
    conn = await asyncpg.connect(postgres_url)
    terminated = 0
    try:
        async with IngestLoad(cluster.url, token, tag="pgkill", posters=6) as load:
            await eventually(
                lambda: _true(len(load.acknowledged) >= 200), within=20, what="the load runs"
            )
            for _ in range(3):  # every gateway connection, three times over
                terminated += await conn.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND application_name = 'ops-gateway'"
                )
                await asyncio.sleep(0.5)
            before = len(load.acknowledged)
            await eventually(
                lambda: _true(len(load.acknowledged) >= before + 200),
                within=20,
                what="the pools recover",
            )
    finally:
        await conn.close()
    print(f"\nterminated {terminated} PostgreSQL connections: {len(load.acknowledged)} events "
          f"acknowledged; failed POSTs: {dict(load.failures)}")  # fmt: skip
    assert terminated >= 3
    assert set(load.failures) <= {"503 BACKEND_UNAVAILABLE"}, load.failures
    assert all(body_is_clean(b) for b in load.bodies)
    overview = await _settled(cluster, token, sandbox, load.acknowledged)
    assert overview["requests"] == len(load.acknowledged)
    assert sandbox.receipts.keys() == load.acknowledged


def body_is_clean(body: str) -> bool:
    return "Traceback" not in body and ".py" not in body


async def _true(value: bool) -> bool:
    return value
