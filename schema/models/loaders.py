"""Resolver helpers: the request's loaders for Hub models, the cache scan and the token."""

from __future__ import annotations

from gateway.context import Info
from gateway.models.active import ActiveRecord
from gateway.models.cache import CachedModel
from gateway.models.hub import HubModel
from gateway.models.loaders import ActiveLoader, HubModelLoader, HubTokenLoader, LocalModelsLoader


async def hub_token(info: Info) -> str | None:
    models = info.context.services.models
    return await info.context.loaders.get(HubTokenLoader, models.credentials).load("")


async def hub_model(info: Info, repo_id: str, revision: str | None) -> HubModel:
    """The model's Hub info; raises the gateway error when the Hub fails or lacks it."""
    loader = info.context.loaders.get(
        HubModelLoader, info.context.services.models, await hub_token(info)
    )
    return await loader.load((repo_id, revision))


async def local_models(info: Info) -> list[CachedModel]:
    cache = info.context.services.models.cache
    return await info.context.loaders.get(LocalModelsLoader, cache).load("")


async def local_model(info: Info, repo_id: str) -> CachedModel | None:
    return next((m for m in await local_models(info) if m.repo_id == repo_id), None)


async def active_record(info: Info) -> ActiveRecord | None:
    active = info.context.services.models.active
    return await info.context.loaders.get(ActiveLoader, active).load("")
