"""The PubSub protocol: fire-and-forget fan-out of JSON messages by channel.

In-process by default; Redis when REDIS_URL is set, so a subscription on one replica receives
what another replica publishes. Delivery is at-most-once and live only: durable streams belong
in the Store's logs.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol, runtime_checkable

Message = dict[str, Any]


@runtime_checkable
class PubSub(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...

    async def publish(self, channel: str, message: Message) -> None: ...

    def subscribe(self, channel: str) -> AbstractAsyncContextManager[AsyncIterator[Message]]:
        """``async with pubsub.subscribe("ch") as messages: async for m in messages: ...``

        The subscription is active when the ``async with`` body starts, so a message published
        after entering is received. Leaving the block unsubscribes.
        """
        ...
