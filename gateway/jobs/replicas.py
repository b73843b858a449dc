"""How job runners on several replicas see each other: liveness entries and a control channel.

Each runner refreshes a TTL entry in the Store every ``heartbeat`` seconds; a job whose owner
has no entry any more belongs to a runner that is gone. A cancel for a job running elsewhere
is published on ``jobs:control`` and acted on by its owner.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from gateway.pubsub.base import PubSub
from gateway.store import names
from gateway.store.base import Store
from gateway.tasks import cancel_and_wait

log = logging.getLogger("gateway.jobs")


def liveness_key(instance: str) -> str:
    return f"{names.JOBS}:runner:{instance}"


class Replicas:
    def __init__(
        self,
        *,
        store: Store,
        pubsub: PubSub,
        instance: str,
        heartbeat: float,
        ttl: float,
        clock: Callable[[], float],
        on_cancel: Callable[[str], None],
        sweep: Callable[[], Awaitable[int]],
    ) -> None:
        self.instance = instance
        self._store = store
        self._pubsub = pubsub
        self._heartbeat = heartbeat
        self._ttl = ttl
        self._clock = clock
        self._on_cancel = on_cancel
        self._sweep = sweep
        self._tasks: list[asyncio.Task[None]] = []

    async def start(self) -> None:
        await self.beat()
        subscribed = asyncio.Event()
        self._tasks = [
            asyncio.create_task(self._listen(subscribed), name="jobs-control"),
            asyncio.create_task(self._beat_loop(), name="jobs-heartbeat"),
        ]
        await asyncio.wait_for(subscribed.wait(), 10)

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks, within=2)
        self._tasks = []
        with contextlib.suppress(Exception):  # the store may already be failing: best effort
            await self._store.delete_ttl(liveness_key(self.instance))

    async def beat(self) -> None:
        entry = {"instance": self.instance, "at": self._clock()}
        await self._store.set_ttl(liveness_key(self.instance), entry, self._ttl)

    async def alive(self, instance: str) -> bool:
        if instance == self.instance:
            return True
        return await self._store.get_ttl(liveness_key(instance)) is not None

    async def request_cancel(self, job_id: str) -> None:
        await self._pubsub.publish(names.JOBS_CONTROL_CHANNEL, {"op": "cancel", "id": job_id})

    async def _beat_loop(self) -> None:
        beats = 0
        while True:
            await asyncio.sleep(self._heartbeat)
            beats += 1
            try:
                await self.beat()
                if beats % 3 == 0:  # a crashed replica's jobs surface within ~ttl + 3 beats
                    await self._sweep()
            except Exception as exc:  # keep beating: the store may come back
                log.warning("jobs heartbeat failed: %s", exc)

    async def _listen(self, subscribed: asyncio.Event) -> None:
        while True:
            try:
                async with self._pubsub.subscribe(names.JOBS_CONTROL_CHANNEL) as messages:
                    subscribed.set()
                    async for message in messages:
                        if message.get("op") == "cancel":
                            self._on_cancel(str(message.get("id")))
                    return  # the pub/sub closed: the app is stopping
            except Exception as exc:
                log.warning("jobs control channel failed (%s); resubscribing", exc)
                subscribed.set()
                await asyncio.sleep(1.0)
