"""Shared bits of the usage tests: events, posting them, and recomputing figures from the log."""

from __future__ import annotations

import asyncio
import random
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx

from gateway.store.base import Store
from gateway.store.names import USAGE_STREAM as STREAM
from gateway.usage.events import UsageEvent
from gateway.usage.prices import PriceTable, money
from gateway.usage.rollups import event_cost

MODELS = [("gpt-4o", "openai"), ("claude-3-5-sonnet", "anthropic"), ("llama-3-70b", "together")]
MODELS += [("mystery-model", "custom")]  # never priced


def event(i: int | str, **overrides: Any) -> dict[str, Any]:
    base = {
        "id": f"ev-{i}",
        "timestamp": time.time() - 60,
        "subject": "alice",
        "model": "gpt-4o",
        "provider": "openai",
        "prompt_tokens": 1000,
        "completion_tokens": 200,
        "cached_tokens": 100,
        "latency_ms": 420,
        "status": "success",
    }
    return {**base, **overrides}


def random_events(n: int, *, seed: int, days: int, prefix: str = "r") -> list[dict[str, Any]]:
    """Events spread over the last ``days`` days (now excluded), several users and models."""
    rng = random.Random(seed)
    now = time.time()
    out = []
    for i in range(n):
        model, provider = rng.choice(MODELS)
        prompt = rng.randint(0, 50_000)
        ev = event(
            f"{prefix}{i}",
            timestamp=now - rng.uniform(120, days * 86400),
            subject=rng.choice(["alice", "bob", "carol", "dave", "erin", "frank"]),
            model=model,
            provider=provider,
            prompt_tokens=prompt,
            completion_tokens=rng.randint(0, 8000),
            cached_tokens=rng.randint(0, prompt),
            latency_ms=rng.randint(50, 9000),
            status=rng.choice(["success"] * 8 + ["error", "timeout"]),
        )
        if rng.random() < 0.3:
            ev["cost"] = str(Decimal(rng.randint(0, 10**7)) / Decimal(10**8))
        out.append(ev)
    return out


async def post_events(
    client: httpx.AsyncClient, events: list[dict[str, Any]], token: str
) -> dict[str, Any]:
    response = await client.post(
        "/v1/usage/events", json=events, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200, response.text
    return response.json()


async def raw_events(store: Store) -> list[UsageEvent]:
    out: list[UsageEvent] = []
    after = 0
    while batch := await store.read(STREAM, after=after, limit=1000):
        out += [UsageEvent.from_record(e.data) for e in batch]
        after = batch[-1].cursor
    return out


@dataclass
class Expected:
    requests: int = 0
    errors: int = 0
    prompt: int = 0
    completion: int = 0
    cached: int = 0
    cost: int = 0
    unpriced: int = 0
    subjects: set[str] = field(default_factory=set)

    def add(self, ev: UsageEvent, table: PriceTable) -> None:
        self.requests += 1
        self.errors += not ev.ok
        self.prompt += ev.prompt_tokens
        self.completion += ev.completion_tokens
        self.cached += ev.cached_tokens
        cost, _ = event_cost(ev, table)
        self.cost += cost or 0
        self.unpriced += cost is None
        self.subjects.add(ev.subject)

    def matches(self, figures: dict[str, Any]) -> None:
        assert figures["requests"] == self.requests
        assert figures["errors"] == self.errors
        assert figures["promptTokens"] == self.prompt
        assert figures["completionTokens"] == self.completion
        assert figures["cachedTokens"] == self.cached
        assert Decimal(figures["cost"]) == money(self.cost)
        assert figures["unpricedRequests"] == self.unpriced


def recompute(
    events: list[UsageEvent], table: PriceTable, start: datetime, end: datetime, key: Any = None
) -> dict[Any, Expected]:
    """Figures straight from raw events in [start, end), grouped by ``key(event)``."""
    out: dict[Any, Expected] = defaultdict(Expected)
    lo, hi = start.timestamp(), end.timestamp()
    for ev in events:
        if lo <= ev.timestamp < hi:
            out[key(ev) if key else None].add(ev, table)
    return out


def parse_dt(value: str) -> datetime:
    return datetime.fromisoformat(value).astimezone(UTC)


async def eventually(check: Callable[[], Awaitable[bool]], *, within: float = 5.0) -> None:
    """Poll ``check`` until it is true (background loops have their own pace)."""
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, "timed out waiting"
        await asyncio.sleep(0.02)
