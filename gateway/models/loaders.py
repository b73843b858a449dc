"""Request-scoped loaders of the models domain: the cache scan, the Hub token and each
model's Hub info are read at most once per request, however many fields need them."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from aiodataloader import DataLoader

from gateway.backends.hub.models import HubModel
from gateway.models.active import ActiveModel, ActiveRecord
from gateway.models.cache import CachedModel, LocalCache
from gateway.models.credentials import HubCredentials

if TYPE_CHECKING:
    from gateway.models.service import ModelsService

ModelKey = tuple[str, str | None]
"""(repo id, revision or None for the default branch)"""


class LocalModelsLoader(DataLoader[str, list[CachedModel]]):
    """Key: always ``""``; value: every model in the cache (one scan per request)."""

    def __init__(self, cache: LocalCache) -> None:
        super().__init__()
        self.cache = cache

    async def batch_load_fn(self, keys: list[str]) -> list[list[CachedModel]]:
        models = await self.cache.scan()
        return [models for _ in keys]


class HubTokenLoader(DataLoader[str, str | None]):
    """Key: always ``""``; value: the token the Hub is called with (decrypted once)."""

    def __init__(self, credentials: HubCredentials) -> None:
        super().__init__()
        self.credentials = credentials

    async def batch_load_fn(self, keys: list[str]) -> list[str | None]:
        token = await self.credentials.token()
        return [token for _ in keys]


class ActiveLoader(DataLoader[str, ActiveRecord | None]):
    """Key: always ``""``; value: the active model (one store read per request)."""

    def __init__(self, active: ActiveModel) -> None:
        super().__init__()
        self.active = active

    async def batch_load_fn(self, keys: list[str]) -> list[ActiveRecord | None]:
        record = await self.active.get()
        return [record for _ in keys]


class HubModelLoader(DataLoader[ModelKey, HubModel]):
    """The Hub has no batch endpoint for model info, so a batch is one call per distinct key,
    run concurrently (the client's thread pool bounds them); de-duplication is the win."""

    def __init__(self, models: ModelsService, token: str | None) -> None:
        super().__init__()
        self.models = models
        self.token = token

    async def batch_load_fn(self, keys: list[ModelKey]) -> list[HubModel | BaseException]:
        calls = (self.models.hub_model(repo, rev, self.token) for repo, rev in keys)
        return list(await asyncio.gather(*calls, return_exceptions=True))  # one failure each
