"""A steady ingestion load that behaves like a well-written LLM proxy: every batch is retried
with the same event ids until the gateway acknowledges it, so nothing is ever given up."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx


def usage_event(event_id: str) -> dict[str, Any]:
    return {
        "id": event_id,
        "timestamp": time.time() - 5,
        "subject": "alice",
        "model": "gpt-4o",
        "provider": "openai",
        "prompt_tokens": 1000,
        "completion_tokens": 200,
        "latency_ms": 300,
        "status": "success",
    }


@dataclass
class IngestLoad:
    """``async with IngestLoad(url, token) as load``: posters run until the block ends, then
    finish the batch they hold (retrying it until acknowledged)."""

    url: str
    token: str
    posters: int = 4
    batch: int = 20
    tag: str = "load"
    acknowledged: set[str] = field(default_factory=set)
    failures: Counter[str] = field(default_factory=Counter)
    """Failed attempts by what the client saw: ``"502"``, ``"503 BACKEND_UNAVAILABLE"``, …"""
    bodies: list[str] = field(default_factory=list)
    """The bodies of failed answers, to check that none carries a traceback."""
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    async def __aenter__(self) -> IngestLoad:
        self._client = httpx.AsyncClient(
            base_url=self.url,
            headers={"Authorization": f"Bearer {self.token}"},
            timeout=15,
            limits=httpx.Limits(max_keepalive_connections=0),  # spread over the replicas
        )
        self._tasks = [asyncio.create_task(self._poster()) for _ in range(self.posters)]
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._stop.set()
        try:
            await asyncio.wait_for(asyncio.gather(*self._tasks), 60)
        finally:
            await self._client.aclose()

    @property
    def failed(self) -> int:
        return sum(self.failures.values())

    async def _poster(self) -> None:
        while not self._stop.is_set():
            ids = [f"{self.tag}-{next(self._ids)}" for _ in range(self.batch)]
            await self._post_until_acknowledged([usage_event(i) for i in ids])
            self.acknowledged.update(ids)

    async def _post_until_acknowledged(self, events: list[dict[str, Any]]) -> None:
        while True:
            try:
                response = await self._client.post("/v1/usage/events", json=events)
            except httpx.TransportError as exc:
                self.failures[type(exc).__name__] += 1
            else:
                if response.status_code == 200:
                    body = response.json()
                    assert body["accepted"] + len(body["duplicate_ids"]) == len(events), body
                    return
                code = _code(response)
                self.failures[f"{response.status_code} {code}".strip()] += 1
                self.bodies.append(response.text)
            await asyncio.sleep(0.05)


def _code(response: httpx.Response) -> str:
    try:
        return str(response.json()["errors"][0]["extensions"]["code"])
    except (ValueError, KeyError, IndexError, TypeError):
        return ""
