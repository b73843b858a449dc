"""Live fan-out of JSON messages by channel; :func:`open_pubsub` picks the implementation."""

from __future__ import annotations

from gateway.pubsub.base import Message, PubSub
from gateway.pubsub.memory import MemoryPubSub, Subscription
from gateway.pubsub.redis import RedisPubSub

__all__ = ["MemoryPubSub", "Message", "PubSub", "RedisPubSub", "Subscription", "open_pubsub"]


def open_pubsub(redis_url: str | None, *, prefix: str = "ogw:") -> PubSub:
    """Redis when ``redis_url`` is set (replicas share channels), else in-process.

    Returns the instance unopened: the caller awaits ``open()`` and ``close()``.
    """
    if redis_url:
        return RedisPubSub(url=redis_url, prefix=prefix)
    return MemoryPubSub()
