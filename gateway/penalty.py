"""The refused request's 429, held for a moment (``GATEWAY_RATE_LIMIT_DELAY``).

A client that ignores ``Retry-After`` and resends at once would cost a replica a whole
request's work per 429, as fast as its connections allow: a burst from one token would
then starve every other caller of the event loop. Held for the delay, each of its
connections sends at most one request per delay, whatever the client does. At most
``held`` refusals per key wait at once, so memory stays bounded; past that, the 429 goes
at once. Each wait is drawn between half and one and a half times the delay: refusals
that arrived together would otherwise come back together, and so would the flood.
"""

from __future__ import annotations

import asyncio
import random

from gateway.counts import KeyedCount


class Penalty:
    def __init__(self, *, delay: float, held: int) -> None:
        self.delay = delay
        self.held = held
        self._waiting = KeyedCount()

    async def serve(self, key: str) -> None:
        """Wait out the delay before ``key``'s refusal is answered (unless too many wait)."""
        if self.delay <= 0 or self._waiting[key] >= self.held:
            return
        self._waiting.add(key)
        try:
            await asyncio.sleep(self.delay * random.uniform(0.5, 1.5))
        finally:
            self._waiting.remove(key)
