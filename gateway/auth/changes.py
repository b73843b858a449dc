"""One signal for "who may do what has changed": tokens revoked, roles, grants, assignments.

The truth is a store counter (the *generation*): every replica compares it with what it last
saw, so a change made on one replica (or by the CLI, which has no pub/sub) is seen by all of
them on their next request. A pub/sub message goes out as well, so open websockets re-check
their authorization at once instead of on the next poll.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from gateway.pubsub.base import PubSub
from gateway.store import names
from gateway.store.base import Store

if TYPE_CHECKING:
    from gateway.auth.watch import AccessWatch

log = logging.getLogger(__name__)

NAME = "generation"


class AccessChanges:
    def __init__(self, *, store: Store, pubsub: PubSub | None = None) -> None:
        self._store = store
        self._pubsub = pubsub
        self.watch: AccessWatch | None = None
        """Set by the watch: this process's own changes reach it at once."""

    def known(self) -> int | None:
        """The generation as this process knows it without asking the store (None: no
        watch running, ask the store)."""
        return self.watch.generation if self.watch is not None else None

    async def generation(self) -> int:
        counters = await self._store.counters(names.ACCESS_COUNTERS, [NAME])
        return counters.get(NAME, 0)

    async def bump(self, reason: str) -> int:
        """Record a change; returns the new generation."""
        counters = await self._store.incr(names.ACCESS_COUNTERS, {NAME: 1})
        generation = counters[NAME]
        if self.watch is not None:
            self.watch.seen(generation)
        if self._pubsub is not None:
            try:
                await self._pubsub.publish(
                    names.ACCESS_CHANGES_CHANNEL, {"generation": generation, "reason": reason}
                )
            except Exception as exc:  # the counter is the truth; the poll catches up
                log.warning("access change not published (%s); replicas see it on poll", exc)
        return generation
