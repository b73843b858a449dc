"""Request-scoped loaders: rollup namespaces (batched, de-duplicated) and the price table.

Several usage fields in one query read the same buckets (overview, costs, byModel over one
window); the loader reads each namespace once per request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from aiodataloader import DataLoader

from gateway.store.base import Store
from gateway.usage.analytics import Analytics, reader
from gateway.usage.prices import PriceBook, PriceTable


class RollupLoader(DataLoader[str, dict[str, int]]):
    def __init__(self, store: Store) -> None:
        super().__init__()
        self._fetch = reader(store)

    async def batch_load_fn(self, namespaces: list[str]) -> list[dict[str, int]]:  # type: ignore[override]
        data = await self._fetch(namespaces)
        return [data[ns] for ns in namespaces]

    async def fetch(self, namespaces: Sequence[str]) -> dict[str, dict[str, int]]:
        values = await self.load_many(list(namespaces))
        return dict(zip(namespaces, values, strict=True))


class PriceTableLoader:
    """The price table, read once per request (fresh: a price just set is seen)."""

    def __init__(self, book: PriceBook) -> None:
        self._book = book
        self._task: asyncio.Future[PriceTable] | None = None

    async def load(self) -> PriceTable:
        if self._task is None:
            self._task = asyncio.ensure_future(self._book.table(fresh=True))
        return await self._task


async def fresh_analytics(store: Store, book: PriceBook) -> Analytics:
    """Analytics outside a request (subscriptions tick): nothing cached between ticks."""
    return Analytics(fetch=reader(store), prices=await book.table(fresh=True))
