"""Store housekeeping that every replica may run: idempotency keys past their window.

Pruning is idempotent, so replicas need not agree on who does it; once an hour each one
forgets the keys recorded more than ``GATEWAY_IDEMPOTENCY_DAYS`` ago. Usage ingestion
refuses events older than the same window (gateway/usage/events.py), so a repeat of an event
is always either refused or recognised: never counted twice.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from gateway.store.base import Store
from gateway.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class StoreMaintenance:
    def __init__(
        self,
        *,
        store: Store,
        idempotency_days: float,
        interval: float = 3600.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._window = idempotency_days * 86400
        self._interval = interval
        self._clock = clock
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> int:
        pruned = await self._store.prune_keys(older_than=self._clock() - self._window)
        if pruned:
            log.info("forgot %d idempotency keys older than the retention window", pruned)
        return pruned

    async def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="store-maintenance")

    async def stop(self) -> None:
        if self._task is not None:
            await cancel_and_wait([self._task])
            self._task = None

    async def _loop(self) -> None:
        while True:
            try:
                await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the next hour tries again
                log.warning("store maintenance failed: %s", exc)
            await asyncio.sleep(self._interval)
