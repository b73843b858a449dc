"""Request-scoped loaders for provider records and their last tests (one store call per
request for any number of ``provider(id)`` fields or ``lastTest`` fields in a list)."""

from __future__ import annotations

from typing import Any

from aiodataloader import DataLoader

from gateway.providers.records import ProviderRecord
from gateway.store import names
from gateway.store.base import Store


class ProviderLoader(DataLoader[str, ProviderRecord | None]):
    """Key: a provider id."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    async def batch_load_fn(self, keys: list[str]) -> list[ProviderRecord | None]:
        docs = await self.store.get_many(names.PROVIDERS, keys)
        return [ProviderRecord.from_document(docs[k]) if k in docs else None for k in keys]


class ProviderTestLoader(DataLoader[str, dict[str, Any] | None]):
    """Key: a provider id; value: the stored last-test document, if any."""

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store

    async def batch_load_fn(self, keys: list[str]) -> list[dict[str, Any] | None]:
        docs = await self.store.get_many(names.PROVIDER_TESTS, keys)
        return [docs[k].data if k in docs else None for k in keys]
