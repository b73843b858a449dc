"""Redis restarted under load (issue 13, part 4): a gateway with ``REDIS_URL`` keeps
answering while Redis is down (rate limits fail open, as the README says; events are durable
in the store), and its live subscriptions resume once Redis is back."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
import redis
from cryptography.fernet import Fernet
from websockets.asyncio.client import connect

from bench.cluster import Cluster
from bench.ingest_load import IngestLoad
from tests.plugins.servers import free_port

pytestmark = [pytest.mark.redis, pytest.mark.slow]
SUBSCRIBE = "subscription { usageEvents { id } }"


class RedisServer:
    """A redis-server of the test's own, on a free port, that the test can kill and restart."""

    def __init__(self, binary: str, workdir: Path) -> None:
        self.binary, self.workdir, self.port = binary, workdir, free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        argv = [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", ""]
        argv += ["--appendonly", "no", "--dir", str(self.workdir)]
        self.process = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        client = redis.Redis.from_url(self.url, socket_connect_timeout=0.2)
        try:
            for _ in range(100):
                try:
                    client.ping()
                    return
                except redis.RedisError:
                    time.sleep(0.05)
        finally:
            client.close()
        raise RuntimeError("redis-server did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(5)


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    binary = shutil.which("redis-server") or shutil.which("redis-server", path="/usr/bin:/usr/sbin")
    if binary is None:
        reason = "redis-server is not installed (apt-get install redis-server)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(reason)
        pytest.skip(reason)
    server = RedisServer(binary, tmp_path)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.kill()


@pytest.fixture
async def gateway(redis_server: RedisServer, tmp_path: Path) -> AsyncIterator[Cluster]:
    env = {
        "GATEWAY_STORE": f"sqlite:///{tmp_path / 'gw.db'}",
        "GATEWAY_DATA_DIR": str(tmp_path / "data"),
        "GATEWAY_SECRET_KEYS": Fernet.generate_key().decode(),
        "REDIS_URL": redis_server.url,
        "GATEWAY_RATE_PER_SECOND": "100000",
        "GATEWAY_RATE_BURST": "100000",
    }
    async with Cluster(env=env, workdir=tmp_path, size=1, balanced=False) as cluster:
        yield cluster


async def test_redis_restarted_under_load(gateway: Cluster, redis_server: RedisServer) -> None:
    server = gateway.replicas[0]
    token = (await gateway.cli("token", "create", "--subject", "r", "--role", "admin")).strip()
    url = server.url.replace("http://", "ws://") + "/graphql"
    received: list[str] = []
    async with connect(url, subprotocols=["graphql-transport-ws"]) as ws:
        init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
        await ws.send(json.dumps(init))
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))

        async def listen() -> None:
            async for raw in ws:
                message = json.loads(raw)
                if message["type"] == "next":
                    received.append(message["payload"]["data"]["usageEvents"]["id"])
                elif message["type"] in ("error", "complete"):
                    received.append(f"ended:{message}")

        listener = asyncio.create_task(listen())
        async with IngestLoad(server.url, token, tag="redis", posters=3, batch=5) as load:
            await _until(lambda: len(received) >= 20, what="live events before the restart")
            redis_server.kill()
            await asyncio.sleep(1.5)
            during = len(load.acknowledged)
            # Queries pass the rate limiter, which fails open while Redis is away (README).
            async with httpx.AsyncClient(base_url=server.url, timeout=10) as client:
                answer = await client.post(
                    "/graphql",
                    json={"query": "{ me { subject } }"},
                    headers={"Authorization": f"Bearer {token}"},
                )
            assert answer.status_code == 200 and answer.json() == {"data": {"me": {"subject": "r"}}}
            await asyncio.sleep(1.0)
            assert len(load.acknowledged) > during, "ingestion goes on while Redis is down"
            redis_server.start()
            resumed_from = len(received)
            await _until(
                lambda: len(received) >= resumed_from + 20,
                within=20,
                what="live events after Redis came back",
            )
        listener.cancel()
    assert not [r for r in received if r.startswith("ended:")], "the subscription stayed open"
    assert not [k for k in load.failures if k.startswith("5")], load.failures
    assert all("Traceback" not in b for b in load.bodies)


async def _until(check: object, *, within: float = 10, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not check():  # type: ignore[operator]
        if loop.time() > deadline:
            raise AssertionError(f"not within {within:g} s: {what}")
        await asyncio.sleep(0.05)
