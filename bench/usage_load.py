"""Issue 5's load drivers: sustained ingestion (batches of 100 unique events) and delivery
latency of ``usageEvents`` to many websocket subscribers. Both run on asyncio in the bench
process; bodies are built before the clock starts so the driver costs little per request."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.stats import percentile

BATCH = 100
SUBSCRIPTION = 'subscription { usageEvents(filter: {model: "bench-live"}) { id } }'


def batch_body(tag: str, n: int, size: int = BATCH) -> bytes:
    now = time.time()
    events = [
        {
            "id": f"{tag}-{n}-{i}",
            "timestamp": now,
            "subject": f"user-{i % 50}",
            "model": ("gpt-4o", "claude-3-5-sonnet", "llama-3-70b")[i % 3],
            "provider": ("openai", "anthropic", "together")[i % 3],
            "prompt_tokens": 800 + i,
            "completion_tokens": 200,
            "cached_tokens": 100,
            "latency_ms": 350,
        }
        for i in range(size)
    ]
    return json.dumps(events, separators=(",", ":")).encode()


@dataclass
class IngestResult:
    seconds: float
    events: int = 0
    requests: int = 0
    errors: int = 0
    latencies: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.events / self.seconds

    def p(self, q: float) -> float:
        return percentile(sorted(self.latencies), q)


async def ingest(
    url: str, token: str, *, concurrency: int, warmup: float, duration: float, tag: str
) -> IngestResult:
    """Closed loop: ``concurrency`` posters, each one batch in flight; counts what the gateway
    acknowledged as accepted inside the measured window."""
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    result = IngestResult(seconds=duration)
    start = time.monotonic()
    measure_from, end = start + warmup, start + warmup + duration
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:

        async def poster(worker: int) -> None:
            n = 0
            while True:
                body = batch_body(f"{tag}{worker}", n)
                n += 1
                sent = time.monotonic()
                if sent >= end:
                    return
                response = await client.post("/v1/usage/events", content=body, headers=headers)
                done = time.monotonic()
                if done < measure_from or done > end:
                    continue
                result.requests += 1
                if response.status_code != 200 or response.json()["accepted"] != BATCH:
                    result.errors += 1
                    continue
                result.events += BATCH
                result.latencies.append(done - sent)

        await asyncio.gather(*(poster(w) for w in range(concurrency)))
    return result


@dataclass
class DeliveryResult:
    subscribers: int
    events: int
    latencies: list[float]
    missing: int

    def p(self, q: float) -> float:
        return percentile(self.latencies, q)


async def deliver(
    url: str, token: str, *, subscribers: int, events: int, rate: float
) -> DeliveryResult:
    """Open ``subscribers`` websockets on ``usageEvents``, post ``events`` single-event
    batches at ``rate``/s, and time each event from its POST to each subscriber's receipt."""
    from websockets.asyncio.client import connect

    ws_url = url.replace("http://", "ws://") + "/graphql"
    auth = {"Authorization": f"Bearer {token}"}
    sent_at: dict[str, float] = {}
    received: list[list[tuple[str, float]]] = [[] for _ in range(subscribers)]
    sockets = []
    for _ in range(subscribers):
        ws = await connect(ws_url, subprotocols=["graphql-transport-ws"], max_queue=None)
        await ws.send(json.dumps({"type": "connection_init", "payload": auth}))
        while json.loads(await ws.recv())["type"] != "connection_ack":
            pass
        payload = {"query": SUBSCRIPTION}
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": payload}))
        sockets.append(ws)

    async def listen(i: int) -> None:
        async for raw in sockets[i]:
            message = json.loads(raw)
            if message.get("type") == "next":
                event_id = message["payload"]["data"]["usageEvents"]["id"]
                received[i].append((event_id, time.monotonic()))

    listeners = [asyncio.create_task(listen(i)) for i in range(subscribers)]
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    try:
        async with httpx.AsyncClient(base_url=url, timeout=30) as client:
            await _until_live(client, headers, received)
            for n in range(events):
                body = json.loads(batch_body("live", n, size=1))
                body[0]["model"] = "bench-live"
                event_id = body[0]["id"]
                sent_at[event_id] = time.monotonic()
                response = await client.post("/v1/usage/events", json=body, headers=headers)
                response.raise_for_status()
                await asyncio.sleep(max(0.0, 1 / rate - (time.monotonic() - sent_at[event_id])))
            await asyncio.sleep(2.0)  # stragglers
    finally:
        for task in listeners:
            task.cancel()
        await asyncio.gather(*listeners, return_exceptions=True)
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    latencies = sorted(
        at - sent_at[event_id]
        for per_socket in received
        for event_id, at in per_socket
        if event_id in sent_at
    )
    return DeliveryResult(subscribers, events, latencies, subscribers * events - len(latencies))


async def _until_live(
    client: httpx.AsyncClient, headers: dict[str, str], received: list[list[Any]]
) -> None:
    """Subscriptions go live a moment after subscribing: probe until every socket got one."""
    for n in range(200):
        body = json.loads(batch_body("probe", n, size=1))
        body[0]["model"] = "bench-live"
        (await client.post("/v1/usage/events", json=body, headers=headers)).raise_for_status()
        await asyncio.sleep(0.1)
        if all(received):
            break
    else:
        raise RuntimeError("websocket subscribers never went live")
    await asyncio.sleep(0.5)
    for per_socket in received:
        per_socket.clear()
