"""The soak's clients: a mix of every dashboard page, ingestion batches and mutations over
HTTP, and ``usageEvents`` subscribers on both websocket protocols (bench/soak.py)."""

from __future__ import annotations

import asyncio
import itertools
import json
import random
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
from websockets.asyncio.client import ClientConnection, connect

from bench.stats import percentile

ROOT = Path(__file__).resolve().parent.parent
LIVE_MODEL = "soak-live"
SUBSCRIPTION = f'subscription {{ usageEvents(filter: {{model: "{LIVE_MODEL}"}}) {{ id }} }}'
RECORD = """mutation Record($events: [UsageEventInput!]!) {
  recordUsage(events: $events) { ... on UsageIngestion { accepted } ... on UsageError { code } }
}"""


def dashboard_pages() -> list[str]:
    """The dashboard's pages: the README's "Sandbox mode" queries (a test keeps them valid)."""
    text = (ROOT / "README.md").read_text()
    section = text.split("\n## Sandbox mode\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```graphql\n(.*?)```", section, flags=re.S)


@dataclass
class Tally:
    requests: int = 0
    errors: int = 0
    samples: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    live_sent: set[str] = field(default_factory=set)

    def fail(self, what: str) -> None:
        self.errors += 1
        if len(self.samples) < 5:
            self.samples.append(what[:300])

    def p(self, q: float) -> float:
        return percentile(sorted(self.latencies), q)


def _events(ids: itertools.count[int], tag: str, n: int) -> list[dict[str, Any]]:
    now = time.time()
    return [
        {
            "id": f"{tag}-{next(ids)}",
            "timestamp": now,
            "subject": f"soak-{i % 17}",
            "model": LIVE_MODEL if i == 0 else "gpt-4o",
            "provider": "openai",
            "prompt_tokens": 500 + i,
            "completion_tokens": 100,
        }
        for i in range(n)
    ]


async def client_loop(
    session: aiohttp.ClientSession,
    url: str,
    stop: asyncio.Event,
    tally: Tally,
    *,
    seed: int,
    ids: itertools.count[int],
    tag: str,
) -> None:
    rng = random.Random(seed)
    pages = dashboard_pages()
    while not stop.is_set():
        roll = rng.random()
        if roll < 0.12:
            events = _events(ids, tag, 5)
            kind, path, body = "ingest", "/v1/usage/events", events
        elif roll < 0.17:
            events = _events(ids, f"{tag}m", 1)
            payload = [dict(e) for e in events]
            for e in payload:
                e["timestamp"] = datetime.fromtimestamp(e["timestamp"], UTC).isoformat()
                e["promptTokens"] = e.pop("prompt_tokens")
                e["completionTokens"] = e.pop("completion_tokens")
            kind, path = "mutation", "/graphql"
            body = {"query": RECORD, "variables": {"events": payload}}
        elif roll < 0.22:
            events, kind, path = [], "me", "/graphql"
            body = {"query": "query Me { me { subject roles } }"}
        else:
            events, kind, path = [], "page", "/graphql"
            body = {"query": rng.choice(pages)}
        started = time.perf_counter()
        try:
            async with session.post(url + path, json=body) as response:
                text = await response.text()
                status = response.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            tally.requests += 1
            tally.fail(f"{kind}: {type(exc).__name__}")
            continue
        tally.requests += 1
        tally.latencies.append(time.perf_counter() - started)
        if status != 200 or _failed(kind, text):
            tally.fail(f"{kind} {status}: {_errors_of(text)}")
            continue
        tally.live_sent.update(e["id"] for e in events if e["model"] == LIVE_MODEL)


def _failed(kind: str, text: str) -> bool:
    """A GraphQL error, a mutation's typed error, or an ingestion that did not accept all."""
    try:
        body = json.loads(text)
    except ValueError:
        return True
    if kind == "ingest":
        return not isinstance(body, dict) or body.get("rejected")
    if body.get("errors"):
        return True
    return kind == "mutation" and "code" in (body.get("data") or {}).get("recordUsage", {})


def _errors_of(text: str) -> str:
    """The errors of a GraphQL answer (what a sample should show), else the text."""
    try:
        errors = json.loads(text).get("errors")
    except (ValueError, AttributeError):
        return text
    return json.dumps(errors) if errors else text


@dataclass
class Subscriber:
    protocol: str
    socket: ClientConnection | None = None
    received: list[str] = field(default_factory=list)


async def subscribe(url: str, token: str, protocol: str) -> Subscriber:
    """A socket on ``usageEvents``, acknowledged; ``graphql-ws`` is the legacy protocol."""
    sub = Subscriber(protocol)
    ws = await connect(url.replace("http://", "ws://") + "/graphql", subprotocols=[protocol])
    init = {"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}}
    await ws.send(json.dumps(init))
    while json.loads(await ws.recv())["type"] != "connection_ack":
        pass
    start = "subscribe" if protocol == "graphql-transport-ws" else "start"
    await ws.send(json.dumps({"id": "1", "type": start, "payload": {"query": SUBSCRIPTION}}))
    sub.socket = ws
    return sub


async def listen(sub: Subscriber) -> None:
    assert sub.socket is not None
    async for raw in sub.socket:
        message = json.loads(raw)
        if message.get("type") in ("next", "data"):
            sub.received.append(message["payload"]["data"]["usageEvents"]["id"])
        elif message.get("type") == "ping":
            await sub.socket.send(json.dumps({"type": "pong"}))
