"""In-process PubSub, and the local fan-out that the Redis implementation reuses.

Each subscriber owns a bounded queue. A slow subscriber (say a WebSocket client on a bad
link) loses its OLDEST messages instead of blocking ``publish`` or growing memory without
bound: the publisher and every other subscriber keep their pace, and a live feed is better
served by recent messages than by old ones. ``Subscription.dropped`` counts the losses.

Messages travel as JSON bytes, as they do through Redis, so both implementations accept the
same messages and each subscriber decodes its own copy (no shared mutable dicts).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson

from gateway.pubsub.base import Message

DEFAULT_QUEUE_SIZE = 1000
_CLOSED = b""  # never a JSON document, so it can mark the end of a subscription


class Subscription:
    """An async iterator of one subscriber's messages; ends when it is unsubscribed."""

    def __init__(self, channel: str, *, queue_size: int) -> None:
        self.channel = channel
        self.dropped = 0
        self._queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=max(1, queue_size))
        self._closed = False

    def __aiter__(self) -> Subscription:
        return self

    async def __anext__(self) -> Message:
        payload = await self._queue.get()
        if payload == _CLOSED:
            self._queue.put_nowait(_CLOSED)  # stay ended for any later __anext__
            raise StopAsyncIteration
        return orjson.loads(payload)

    def deliver(self, payload: bytes) -> None:
        if self._closed:
            return
        if self._queue.full():
            self._queue.get_nowait()
            self.dropped += 1
        self._queue.put_nowait(payload)

    def close(self) -> None:
        if not self._closed:
            self.deliver(_CLOSED)
            self._closed = True


class Fanout:
    """Local subscribers by channel."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self.queue_size = queue_size
        self._channels: dict[str, set[Subscription]] = {}

    def add(self, channel: str) -> tuple[Subscription, bool]:
        """Register a subscriber; also return whether it is the channel's first."""
        sub = Subscription(channel, queue_size=self.queue_size)
        subs = self._channels.setdefault(channel, set())
        subs.add(sub)
        return sub, len(subs) == 1

    def remove(self, sub: Subscription) -> bool:
        """Unregister and end ``sub``; return whether its channel has no subscriber left."""
        sub.close()
        subs = self._channels.get(sub.channel)
        if subs is None:
            return False
        subs.discard(sub)
        if subs:
            return False
        del self._channels[sub.channel]
        return True

    def deliver(self, channel: str, payload: bytes) -> int:
        subs = self._channels.get(channel, ())
        for sub in subs:
            sub.deliver(payload)
        return len(subs)

    def count(self, channel: str) -> int:
        return len(self._channels.get(channel, ()))

    def close(self) -> None:
        """End every subscription (their ``async for`` loops finish)."""
        for subs in self._channels.values():
            for sub in subs:
                sub.close()
        self._channels.clear()


class MemoryPubSub:
    """PubSub within one process: the default when no ``REDIS_URL`` is set."""

    def __init__(self, *, queue_size: int = DEFAULT_QUEUE_SIZE) -> None:
        self._fanout = Fanout(queue_size=queue_size)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self._fanout.close()

    async def publish(self, channel: str, message: Message) -> None:
        self._fanout.deliver(channel, orjson.dumps(message))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        sub, _ = self._fanout.add(channel)
        try:
            yield sub
        finally:
            self._fanout.remove(sub)

    def subscriber_count(self, channel: str) -> int:
        """Local subscribers of ``channel`` (for metrics and tests)."""
        return self._fanout.count(channel)
