"""Request-scoped loaders for the objects nested in revenue lists (one class per key shape).

A subscription page's ``customer`` and ``plan`` come from the revenue snapshot when it holds
them (no Lago call at all); a key it does not hold (a customer created since, or no snapshot
yet) costs one ``GET`` per distinct key, a few at a time. Never a whole-list call: the cost
of a page follows the page, not the size of Lago.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
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


class CustomerLoader(DataLoader[str, LagoCustomer | None]):
    """External customer id -> customer (None when Lago has no such customer)."""

    def __init__(self, lago: LagoClient, snapshot: RevenueSnapshot | None) -> None:
        super().__init__()
        self.lago = lago
        self.snapshot = snapshot

    async def batch_load_fn(self, keys: Sequence[str]) -> list[LagoCustomer | None]:
        held = self.snapshot.customers if self.snapshot is not None else {}
        missing = [k for k in keys if k not in held]
        fetched = await _each(missing, self.lago.customer) if missing else {}
        return [held.get(k) or fetched.get(k) for k in keys]


class PlanLoader(DataLoader[str, LagoPlan | None]):
    """Plan code -> plan."""

    def __init__(self, lago: LagoClient, snapshot: RevenueSnapshot | None) -> None:
        super().__init__()
        self.lago = lago
        self.snapshot = snapshot

    async def batch_load_fn(self, keys: Sequence[str]) -> list[LagoPlan | None]:
        held = self.snapshot.plans if self.snapshot is not None else {}
        missing = [k for k in keys if k not in held]
        fetched = await _each(missing, self.lago.plan) if missing else {}
        return [held.get(k) or fetched.get(k) for k in keys]
