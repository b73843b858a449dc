"""The Lago outbox: accepted usage events forwarded to ``POST /api/v1/events/batch``.

The usage log itself is the outbox: delivery progress is a cursor in the counter
``usage:progress/lago``, advanced (guarded, see ``Store.incr_many``) only after Lago accepted
a batch. So an event is never lost (a crash before the advance re-sends the batch), and Lago
sees it once: every event carries ``transaction_id`` = its id, which Lago de-duplicates, so a
re-sent batch changes nothing there. A document lease keeps one sender at a time across
replicas (an optimisation: correctness rests on the cursor and ``transaction_id``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from gateway.backends.lago.events import LagoEvent
from gateway.errors import BackendRejected, ConflictError, GatewayError
from gateway.store import names
from gateway.store.base import LogEntry, Store

log = logging.getLogger(__name__)

METRIC_CODE = "llm_usage"
MAX_BATCH = 100  # Lago's limit per /events/batch call


class EventSender(Protocol):
    """What the outbox needs of ``LagoClient``."""

    @property
    def configured(self) -> bool: ...

    async def send_events(self, events: Sequence[LagoEvent]) -> None: ...


def lago_event(record: Mapping[str, Any], *, code: str) -> LagoEvent:
    """The Lago event of one usage record; the subject is the external subscription id."""
    return LagoEvent(
        transaction_id=record["id"],
        external_subscription_id=record["subject"],
        code=code,
        timestamp=record["timestamp"],
        properties={
            "model": record["model"],
            "provider": record["provider"],
            "prompt_tokens": record["prompt_tokens"],
            "completion_tokens": record["completion_tokens"],
            "cached_tokens": record.get("cached_tokens", 0),
            "total_tokens": record["prompt_tokens"] + record["completion_tokens"],
            "latency_ms": record.get("latency_ms", 0),
            "status": record.get("status", "success"),
        },
    )


def already_delivered(details: Mapping[str, Any], count: int) -> set[int] | None:
    """Indexes Lago refused only because it has their ``transaction_id`` already (a batch
    re-sent after a crash); ``None`` if anything else was wrong (that must not be skipped)."""
    found: set[int] = set()
    for key, errors in details.items():
        if not (key.isdigit() and int(key) < count and isinstance(errors, Mapping)):
            return None
        if set(errors) != {"transaction_id"} or any(
            "already" not in str(e) for e in errors["transaction_id"]
        ):
            return None
        found.add(int(key))
    return found or None


@dataclass(slots=True)
class OutboxState:
    """This process's view of delivery, for ``usage { overview { billing } }``."""

    failures: int = 0
    last_error: str | None = None
    last_attempt_at: float | None = None
    last_delivery_at: float | None = None
    next_attempt_at: float | None = None
    delivered_here: int = 0


class LagoOutbox:
    def __init__(
        self,
        *,
        store: Store,
        client: EventSender | None,
        code: str = METRIC_CODE,
        batch: int = MAX_BATCH,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        lease_seconds: float = 15.0,
    ) -> None:
        self._store = store
        self.client = client
        self.code = code
        self.batch = min(batch, MAX_BATCH)
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.lease_seconds = lease_seconds
        self.state = OutboxState()
        # Host and pid first: an operator reading the lease sees which process sends.
        self._owner = f"{socket.gethostname()}/{os.getpid()}/{uuid.uuid4().hex[:8]}"

    @property
    def configured(self) -> bool:
        return self.client is not None and self.client.configured

    async def cursor(self) -> int:
        return (await self._store.counters(names.USAGE_PROGRESS, ["lago"])).get("lago", 0)

    async def head(self) -> int:
        newest = await self._store.read(names.USAGE_STREAM, limit=1, reverse=True)
        return newest[0].cursor if newest else 0

    async def backlog(self) -> int:
        """Accepted events not yet delivered to Lago (cursors are dense in the log)."""
        return max(0, await self.head() - await self.cursor())

    async def deliver_once(self) -> int:
        """Send the next batch (if this process holds the lease); return how many were sent.
        Raises the client's error when Lago refused or was unreachable."""
        if not self.configured:
            return 0
        cursor = await self.cursor()
        entries = await self._store.read(names.USAGE_STREAM, after=cursor, limit=self.batch)
        if not entries or not await self._lease():
            return 0
        self.state.last_attempt_at = time.time()
        await self._send(entries)
        advanced = await self._store.incr_many(
            {names.USAGE_PROGRESS: {"lago": entries[-1].cursor - cursor}},
            guard=(names.USAGE_PROGRESS, "lago", cursor),
        )
        self.state.failures = 0
        self.state.last_error = None
        self.state.next_attempt_at = None
        self.state.last_delivery_at = time.time()
        if advanced:
            self.state.delivered_here += len(entries)
        return len(entries) if advanced else 0

    async def _send(self, entries: list[LogEntry]) -> None:
        assert self.client is not None
        events = [lago_event(e.data, code=self.code) for e in entries]
        try:
            await self.client.send_events(events)
        except BackendRejected as exc:
            # Events Lago already has are delivered; send the rest. Any other refusal is
            # retried with backoff and shown (billing.lastError): skipping would lose billing.
            known = already_delivered(exc.details, len(events))
            if known is None:
                log.warning("lago refused usage events: %s", exc.details)
                raise
            rest = [ev for i, ev in enumerate(events) if i not in known]
            if rest:
                await self.client.send_events(rest)

    def failed(self, exc: BaseException) -> float:
        """Record a failed attempt; return the delay before the next (capped exponential
        backoff with jitter, so replicas and restarts do not retry in lockstep)."""
        self.state.failures += 1
        cap = min(self.max_backoff, self.backoff * 2 ** (self.state.failures - 1))
        delay = cap / 2 + random.uniform(0, cap / 2)
        message = exc.message if isinstance(exc, GatewayError) else type(exc).__name__
        self.state.last_error = message
        self.state.next_attempt_at = time.time() + delay
        log.warning("lago outbox: delivery failed (%s); retry in %.1fs", message, delay)
        return delay

    async def _lease(self) -> bool:
        """Take or renew the sender lease (a document updated with expected versions)."""
        now = time.time()
        doc = await self._store.get(names.USAGE_LEASES, "lago")
        if doc is not None and doc.data["owner"] != self._owner and doc.data["until"] > now:
            return False
        try:
            await self._store.put(
                names.USAGE_LEASES,
                "lago",
                {"owner": self._owner, "until": now + self.lease_seconds},
                expected_version=doc.version if doc else 0,
            )
        except ConflictError:
            return False
        return True

    async def release(self) -> None:
        doc = await self._store.get(names.USAGE_LEASES, "lago")
        if doc is not None and doc.data["owner"] == self._owner:
            with contextlib.suppress(ConflictError):
                await self._store.delete(names.USAGE_LEASES, "lago", expected_version=doc.version)
