"""Request-scoped loaders for the objects nested in revenue lists (one class per key shape).

A subscription page's ``customer`` and ``plan`` come from the revenue snapshot when it holds
them (no Lago call at all); a key it does not hold (a customer created since, or no snapshot
yet) costs one ``GET`` per distinct key, a few at a time. Never a whole-list call: the cost
of a page follows the page, not the size of Lago.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TypeVar

from aiodataloader import DataLoader

from gateway.backends.lago.client import LagoClient
from gateway.backends.lago.models import LagoCustomer, LagoPlan
from gateway.revenue.snapshot import RevenueSnapshot

T = TypeVar("T")
CONCURRENCY = 8


async def _each(
    keys: Sequence[str], fetch: Callable[[str], Awaitable[T | None]]
) -> dict[str, T | None]:
    slots = asyncio.Semaphore(CONCURRENCY)

    async def one(key: str) -> T | None:
        async with slots:
            return await fetch(key)

    found = await asyncio.gather(*(one(k) for k in keys))
    return dict(zip(keys, found, strict=True))


class _Keyed(DataLoader[str, T | None]):
    """Key -> object: what the snapshot holds, else one ``fetch`` per missing key."""

    def __init__(self, held: Mapping[str, T], fetch: Callable[[str], Awaitable[T | None]]) -> None:
        super().__init__()
        self.held = held
        self.fetch = fetch

    async def batch_load_fn(self, keys: Sequence[str]) -> list[T | None]:
        missing = [k for k in keys if k not in self.held]
        fetched = await _each(missing, self.fetch) if missing else {}
        return [self.held.get(k) or fetched.get(k) for k in keys]


class CustomerLoader(_Keyed[LagoCustomer]):
    """External customer id -> customer (None when Lago has no such customer)."""

    def __init__(self, lago: LagoClient, snapshot: RevenueSnapshot | None) -> None:
        super().__init__(snapshot.customers if snapshot else {}, lago.customer)


class PlanLoader(_Keyed[LagoPlan]):
    """Plan code -> plan."""

    def __init__(self, lago: LagoClient, snapshot: RevenueSnapshot | None) -> None:
        super().__init__(snapshot.plans if snapshot else {}, lago.plan)
