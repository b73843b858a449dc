"""Request-scoped Lago loaders (DESIGN §8): batch, de-duplicate, share list calls.

:class:`LagoLists` memoises the whole-list calls of one request, so every field that needs
"all subscriptions" or "all customers" shares one listing. :class:`CustomerLoader` (keyed by
external customer id) and :class:`PlanLoader` (keyed by plan code) batch the keys a request
asks for in one tick: a few keys are fetched one by one with bounded concurrency; more keys
than that, or a list the request already holds, are answered from one list call, so a page of
200 subscriptions costs the same calls as a page of 20.

Create them through ``info.context.loaders``: ``loaders.get(LagoLists, client)``, then
``loaders.get(CustomerLoader, lists)``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from aiodataloader import DataLoader

from gateway.backends.lago.client import LagoClient
from gateway.backends.lago.models import LagoCustomer, LagoPlan, LagoSubscription

T = TypeVar("T")


class LagoLists:
    """Whole lists fetched at most once per request, shared by concurrent callers."""

    def __init__(self, client: LagoClient) -> None:
        self.client = client
        self._tasks: dict[str, asyncio.Future[Any]] = {}

    def started(self, name: str) -> bool:
        return name in self._tasks

    async def _once(self, name: str, fetch: Callable[[], Awaitable[T]]) -> T:
        task = self._tasks.get(name)
        if task is None:
            task = self._tasks[name] = asyncio.ensure_future(fetch())
        # Shielded: one cancelled resolver must not cancel the listing others are awaiting.
        return await asyncio.shield(task)

    async def customers(self) -> list[LagoCustomer]:
        return await self._once("customers", self.client.customers)

    async def plans(self) -> list[LagoPlan]:
        return await self._once("plans", self.client.plans)

    async def subscriptions(self) -> list[LagoSubscription]:
        """Every subscription, all statuses, in Lago's order."""
        return await self._once("subscriptions", self.client.subscriptions)

    async def customers_by_id(self) -> dict[str, LagoCustomer]:
        return {c.external_id: c for c in await self.customers()}

    async def plans_by_code(self) -> dict[str, LagoPlan]:
        return {p.code: p for p in await self.plans()}


class _KeyedLoader(DataLoader[str, T | None]):
    """Few keys: one GET each, ``concurrency`` at a time; more, or a list already in hand:
    the whole list once (shared through :class:`LagoLists`)."""

    list_name = ""
    per_key_max = 4
    concurrency = 8

    def __init__(self, lists: LagoLists) -> None:
        super().__init__()
        self.lists = lists

    async def batch_load_fn(self, keys: Sequence[str]) -> list[T | None]:
        if len(keys) > self.per_key_max or self.lists.started(self.list_name):
            found = await self.from_list()
            return [found.get(key) for key in keys]
        slots = asyncio.Semaphore(self.concurrency)

        async def one(key: str) -> T | None:
            async with slots:
                return await self.fetch_one(key)

        return list(await asyncio.gather(*(one(key) for key in keys)))

    async def from_list(self) -> dict[str, T]:
        raise NotImplementedError

    async def fetch_one(self, key: str) -> T | None:
        raise NotImplementedError


class CustomerLoader(_KeyedLoader[LagoCustomer]):
    """External customer id -> customer (None when Lago has no such customer)."""

    list_name = "customers"

    async def from_list(self) -> dict[str, LagoCustomer]:
        return await self.lists.customers_by_id()

    async def fetch_one(self, key: str) -> LagoCustomer | None:
        return await self.lists.client.customer(key)


class PlanLoader(_KeyedLoader[LagoPlan]):
    """Plan code -> plan. Catalogues are small: two codes already justify the list call."""

    list_name = "plans"
    per_key_max = 1

    async def from_list(self) -> dict[str, LagoPlan]:
        return await self.lists.plans_by_code()

    async def fetch_one(self, key: str) -> LagoPlan | None:
        return await self.lists.client.plan(key)
