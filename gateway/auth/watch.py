"""The access generation, known in memory, so the hot path needs no store round trip.

It moves at once for this process's own changes (:class:`~gateway.auth.changes.AccessChanges`
tells it), within milliseconds for other replicas' through pub/sub, and within ``interval``
seconds through a poll of the store's counter (the safety net: pub/sub is at-most-once, and
replicas on SQLite without Redis share no pub/sub at all). Whoever caches something that
depends on access (the role graph, signed-in principals, open websockets) compares the
generation it saw with :attr:`AccessWatch.generation`, or subscribes to hear of changes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

from gateway.auth.changes import AccessChanges
from gateway.pubsub.base import PubSub
from gateway.store import names
from gateway.tasks import cancel_and_wait

log = logging.getLogger(__name__)

Listener = Callable[[int], Awaitable[None]]


class AccessWatch:
    def __init__(self, *, changes: AccessChanges, pubsub: PubSub, interval: float = 0.5) -> None:
        self._changes = changes
        self._pubsub = pubsub
        self._interval = interval
        self.generation = 0
        self._listeners: list[Listener] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._signal = asyncio.Event()
        changes.watch = self

    def subscribe(self, listener: Listener) -> None:
        """``await listener(generation)`` after every change (from the watch's own task)."""
        self._listeners.append(listener)

    def seen(self, generation: int) -> None:
        """A generation this process knows of (its own bump, or a message)."""
        if generation > self.generation:
            self.generation = generation
            self._signal.set()

    async def start(self) -> None:
        self.generation = await self._changes.generation()
        self._tasks = [
            asyncio.create_task(self._listen(), name="access-watch-listener"),
            asyncio.create_task(self._poll(), name="access-watch-poll"),
        ]

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []

    async def _listen(self) -> None:
        while True:
            try:
                async with self._pubsub.subscribe(names.ACCESS_CHANGES_CHANNEL) as messages:
                    async for message in messages:
                        generation = message.get("generation")
                        if isinstance(generation, int):
                            self.seen(generation)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # pub/sub down: the poll still sees every change
                log.warning("access change listener: %s; retrying", exc)
            await asyncio.sleep(self._interval)

    async def _poll(self) -> None:
        notified = self.generation
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._signal.wait(), self._interval)
            self._signal.clear()
            try:
                self.seen(await self._changes.generation())
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # store unreachable: keep what we know
                log.warning("access generation poll: %s", exc)
            if self.generation != notified:
                notified = self.generation
                for listener in list(self._listeners):
                    try:
                        await listener(notified)
                    except asyncio.CancelledError:
                        raise
                    except Exception:
                        log.exception("access change listener failed")
