"""Failed authentications per client address (issue 10).

Past its budget an address is refused with 429 for a while — valid credentials or not, or the
limit would still tell a guesser which guess was right. The budget is a token bucket (shared
through Redis when ``REDIS_URL`` is set); the "refused until" mark is kept per process, and
every replica sets its own on the next failure it sees from that address.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from gateway.ratelimit import RateLimiter

MAX_TRACKED = 100_000


class AuthLockout:
    def __init__(
        self, *, limiter: RateLimiter, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._limiter = limiter
        self._clock = clock
        self._until: dict[str, float] = {}

    def refused_for(self, address: str) -> float | None:
        """Seconds the address must still wait, or ``None``."""
        until = self._until.get(address)
        if until is None:
            return None
        left = until - self._clock()
        if left <= 0:
            del self._until[address]
            return None
        return left

    async def failed(self, address: str) -> float | None:
        """Count a failed authentication; seconds to wait if that exhausted the budget."""
        wait = await self._limiter.hit(f"authfail:{address}")
        if wait is None:
            return None
        if len(self._until) >= MAX_TRACKED:  # bounded memory under a spray of addresses
            now = self._clock()
            self._until = {a: u for a, u in self._until.items() if u > now}
        self._until[address] = self._clock() + wait
        return wait

    async def close(self) -> None:
        await self._limiter.close()
