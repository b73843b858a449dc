"""``UsageService``: ingestion, prices and the background work (rollups, Lago outbox).

Ingestion appends the valid events of a batch to the usage log in ONE atomic, idempotent
``Store.append`` (keys = event ids) and acknowledges only after it returned: that append is
the durability point. Everything else is derived from the log by cursor — rollups (applied
inline before answering, so a query right after sees the batch, and by the background loop
after a crash), live publication, and Lago delivery — so no crash can leave them inconsistent.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from gateway.metrics import Metrics
from gateway.pubsub.base import Message, PubSub
from gateway.store import names
from gateway.store.base import Store
from gateway.tasks import cancel_and_wait
from gateway.usage.analytics import Analytics
from gateway.usage.events import Rejection, parse_batch
from gateway.usage.loaders import fresh_analytics
from gateway.usage.outbox import EventSender, LagoOutbox
from gateway.usage.prices import Price, PriceBook
from gateway.usage.rollups import Projector

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class IngestResult:
    accepted: int
    duplicates: list[str] = field(default_factory=list)
    rejected: list[Rejection] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "accepted": self.accepted,
            "duplicates": len(self.duplicates),
            "duplicate_ids": self.duplicates,
            "rejected": [
                {"index": r.index, "id": r.id, "field": r.field, "reason": r.reason}
                for r in self.rejected
            ],
        }


class UsageService:
    def __init__(
        self,
        *,
        store: Store,
        pubsub: PubSub,
        lago: EventSender | None = None,
        metrics: Metrics | None = None,
        poll_interval: float = 1.0,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        idempotency_days: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.pubsub = pubsub
        self.idempotency_seconds = idempotency_days * 86400
        self.metrics = metrics
        self.clock = clock
        self.poll_interval = poll_interval
        self.prices = PriceBook(store=store)
        self.projector = Projector(store=store, pubsub=pubsub, prices=self.prices)
        self.outbox = LagoOutbox(store=store, client=lago, backoff=backoff, max_backoff=max_backoff)
        self._kick = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []

    # -- live views ------------------------------------------------------------------------
    def live_events(self) -> AbstractAsyncContextManager[AsyncIterator[Message]]:
        """Each batch of accepted events as it is recorded, on any replica:
        ``async with usage.live_events() as batches: async for batch in batches: ...``."""
        return self.pubsub.subscribe(names.USAGE_CHANNEL)

    async def fresh_analytics(self) -> Analytics:
        """Analytics outside a request (a subscription's tick): nothing cached between calls."""
        return await fresh_analytics(self.store, self.prices)

    # -- ingestion -------------------------------------------------------------------------
    async def ingest(self, items: Any) -> IngestResult:
        """Validate the whole batch, store the valid events once each, report the rest.
        Raises :class:`~gateway.usage.events.InvalidBatch` for an unusable batch."""
        now = self.clock()
        events, rejected = parse_batch(items, now=now, oldest=now - self.idempotency_seconds)
        appended = await self.store.append(
            names.USAGE_STREAM, [(ev.id, ev.to_record()) for ev in events]
        )
        result = IngestResult(len(appended.entries), appended.duplicates, rejected)
        if self.metrics is not None:
            self.metrics.usage_events.labels("accepted").inc(result.accepted)
            self.metrics.usage_events.labels("duplicate").inc(len(result.duplicates))
            self.metrics.usage_events.labels("rejected").inc(len(rejected))
        if appended.entries:
            self.projector.remember(appended.entries)
            self._kick.set()
            try:  # durable already; rollups that fail here are caught up in the background
                await self.projector.catch_up(upto=appended.entries[-1].cursor)
            except Exception:
                log.warning("usage rollups lag behind; the background loop retries", exc_info=True)
        return result

    async def set_price(
        self,
        *,
        model: str,
        input: Decimal,
        output: Decimal,
        cached: Decimal | None,
        effective_from: date,
        actor: str,
    ) -> tuple[Price, Price | None]:
        return await self.prices.set(
            model=model,
            input=input,
            output=output,
            cached=input if cached is None else cached,
            effective_from=effective_from,
            actor=actor,
        )

    # -- background work -------------------------------------------------------------------
    async def start(self) -> None:
        """Catch up what a previous run left (after a crash, too) and start the loops."""
        self._tasks = [
            asyncio.create_task(self._rollup_loop(), name="usage-rollups"),
            asyncio.create_task(self._outbox_loop(), name="usage-outbox"),
        ]

    async def stop(self) -> None:
        tasks, self._tasks = self._tasks, []
        await cancel_and_wait(tasks)
        with contextlib.suppress(Exception):
            await self.outbox.release()

    async def _rollup_loop(self) -> None:
        while True:
            try:
                await self.projector.catch_up()
            except Exception:
                log.warning("usage rollups: catch-up failed", exc_info=True)
            await asyncio.sleep(self.poll_interval)

    async def _outbox_loop(self) -> None:
        while True:
            self._kick.clear()  # before looking: a kick from now on wakes the wait below
            delay = self.poll_interval
            try:
                if await self.outbox.deliver_once():
                    delay = 0.0  # more may be waiting: keep going
            except Exception as exc:
                delay = self.outbox.failed(exc)
            await self.refresh_backlog()
            if delay == 0.0:
                continue
            if self.outbox.state.failures:  # backing off: new events must not cut it short
                await asyncio.sleep(delay)
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._kick.wait(), delay)

    async def refresh_backlog(self) -> None:
        if self.metrics is None:
            return
        try:
            self.metrics.usage_backlog.set(await self.outbox.backlog())
        except Exception:
            log.debug("usage backlog unavailable", exc_info=True)
