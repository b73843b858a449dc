"""PubSub over Redis, so a subscription on one replica receives what another publishes.

One Redis pub/sub connection per instance, however many local subscribers: a reader task
reads it and fans each message out to the local subscribers' bounded queues (see
``memory.py`` for why a slow subscriber drops its oldest messages). Redis channels are
(un)subscribed on demand: SUBSCRIBE when a channel gets its first local subscriber,
UNSUBSCRIBE when it loses its last. ``subscribe()`` waits for Redis to confirm, so a message
published after the ``async with`` body starts is delivered.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import orjson
from redis.asyncio import Redis
from redis.asyncio.client import PubSub as RedisPubSubConnection
from redis.exceptions import RedisError

from gateway.pubsub.base import Message
from gateway.pubsub.memory import DEFAULT_QUEUE_SIZE, Fanout, Subscription
from gateway.redisclient import redis_client
from gateway.tasks import cancel_and_wait

log = logging.getLogger(__name__)


class RedisPubSub:
    def __init__(
        self,
        *,
        url: str,
        prefix: str = "ogw:",
        queue_size: int = DEFAULT_QUEUE_SIZE,
        subscribe_timeout: float = 5.0,
    ) -> None:
        self.url = url
        self.prefix = f"{prefix}ps:"
        self.subscribe_timeout = subscribe_timeout
        self._fanout = Fanout(queue_size=queue_size)
        self._redis: Redis | None = None
        self._conn: RedisPubSubConnection | None = None
        self._reader: asyncio.Task[None] | None = None
        # Redis confirms SUBSCRIBEs per channel in the order they were sent, so a FIFO of
        # waiters per channel pairs each confirmation with its request, even when a channel
        # is left and re-entered before the first confirmation arrived.
        self._confirms: dict[str, deque[asyncio.Future[None]]] = {}
        self._ready: dict[str, asyncio.Future[None]] = {}

    def _channel(self, channel: str) -> str:
        return self.prefix + channel

    async def open(self) -> None:
        if self._redis is not None:
            return
        # Named, so operators (and tests) can tell this instance's connections apart.
        self._redis = redis_client(
            self.url, timeout=5, client_name=f"{self.prefix}pubsub", socket_connect_timeout=5
        )
        self._conn = self._redis.pubsub()
        try:
            await self._conn.connect()  # the one dedicated connection; fails fast if down
        except BaseException:
            await self.close()
            raise
        self._reader = asyncio.create_task(self._read_loop(self._conn), name="redis-pubsub")

    async def close(self) -> None:
        reader, conn, client = self._reader, self._conn, self._redis
        self._reader = self._conn = self._redis = None
        if reader is not None:
            await cancel_and_wait([reader])
        self._fanout.close()
        for waiters in self._confirms.values():
            for fut in waiters:
                fut.cancel()
        self._confirms.clear()
        self._ready.clear()
        if conn is not None:
            await conn.aclose()
        if client is not None:
            await client.aclose()

    async def publish(self, channel: str, message: Message) -> None:
        if self._redis is None:
            raise RuntimeError("RedisPubSub is not open: await pubsub.open() first")
        await self._redis.publish(self._channel(channel), orjson.dumps(message))

    @asynccontextmanager
    async def subscribe(self, channel: str) -> AsyncIterator[Subscription]:
        conn = self._conn
        if conn is None:
            raise RuntimeError("RedisPubSub is not open: await pubsub.open() first")
        sub, first = self._fanout.add(channel)
        try:
            if first:
                await self._send_subscribe(conn, channel)
            ready = self._ready.get(channel)
            if ready is None:
                raise RuntimeError("RedisPubSub was closed")
            # shield: one subscriber giving up must not cancel the wait of the others.
            async with asyncio.timeout(self.subscribe_timeout):
                await asyncio.shield(ready)
            yield sub
        finally:
            if self._fanout.remove(sub):
                self._ready.pop(channel, None)
                if self._conn is conn:
                    try:
                        await conn.unsubscribe(self._channel(channel))
                    except RedisError as exc:  # harmless: nobody local listens any more
                        log.warning("pubsub: UNSUBSCRIBE %s failed (%s)", channel, exc)

    async def _send_subscribe(self, conn: RedisPubSubConnection, channel: str) -> None:
        ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._ready[channel] = ready
        waiters = self._confirms.setdefault(channel, deque())
        waiters.append(ready)
        try:
            await conn.subscribe(self._channel(channel))
        except BaseException as exc:
            # No confirmation will come for this request: unpair it, so a later SUBSCRIBE's
            # confirmation is not taken by it, and fail whoever else is waiting on it.
            with contextlib.suppress(ValueError):  # close() may have cleared it already
                waiters.remove(ready)
            if not waiters and self._confirms.get(channel) is waiters:
                del self._confirms[channel]
            if not ready.done():
                failure = exc if isinstance(exc, Exception) else RedisError("SUBSCRIBE interrupted")
                ready.set_exception(failure)
                ready.exception()  # mark it retrieved: only the other waiters, if any, care
            raise

    def subscriber_count(self, channel: str) -> int:
        """Local subscribers of ``channel`` on this instance (for metrics and tests)."""
        return self._fanout.count(channel)

    async def _read_loop(self, conn: RedisPubSubConnection) -> None:
        backoff = 0.1
        while True:
            try:
                # redis-py reconnects and re-subscribes its channels on connection errors.
                msg = await conn.get_message(timeout=None)
                backoff = 0.1
            except (RedisError, OSError) as exc:
                log.warning("pubsub: Redis read failed (%s); retrying in %.1fs", exc, backoff)
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, 5.0)
                continue
            if msg is None or msg["channel"] is None:
                continue
            name = msg["channel"].decode()
            if not name.startswith(self.prefix):
                continue
            channel = name[len(self.prefix) :]
            if msg["type"] == "message":
                self._fanout.deliver(channel, msg["data"])
            elif msg["type"] == "subscribe":
                self._confirmed(channel)

    def _confirmed(self, channel: str) -> None:
        waiters = self._confirms.get(channel)
        if not waiters:
            return  # a re-subscription after a reconnect: nobody is waiting
        fut = waiters.popleft()
        if not waiters:
            del self._confirms[channel]
        if not fut.done():
            fut.set_result(None)
