"""Requests of one subject running at once, per replica (``GATEWAY_MAX_IN_FLIGHT``).

The rate limit lets a burst through (``GATEWAY_RATE_BURST`` at once): run all together,
one subject's burst would hold the event loop for as long as its slowest part, and every
other caller would wait behind it. Past the cap a subject's requests wait their turn
(they are not refused), so other subjects' requests keep interleaving with them.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager


class InFlight:
    def __init__(self, *, limit: int) -> None:
        self.limit = limit
        self._slots: dict[str, tuple[asyncio.Semaphore, list[int]]] = {}

    @asynccontextmanager
    async def slot(self, key: str) -> AsyncIterator[None]:
        """Hold one of ``key``'s slots for the block (no cap when the limit is 0)."""
        if self.limit <= 0:
            yield
            return
        entry = self._slots.get(key)
        if entry is None:
            entry = self._slots[key] = (asyncio.Semaphore(self.limit), [0])
        semaphore, users = entry
        users[0] += 1
        try:
            async with semaphore:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._slots[key]

    def waiting(self, key: str) -> int:
        """``key``'s requests running or waiting now."""
        entry = self._slots.get(key)
        return entry[1][0] if entry else 0
