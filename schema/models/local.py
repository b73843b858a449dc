"""GraphQL types of the local side of the models domain: the active model, serving settings
and the Hub settings (cached models are in repos.py, next to the Hub's)."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from gateway.context import Info
from gateway.models.active import ActiveRecord
from gateway.models.serving_store import SettingsView
from schema.mirror import mirror
from schema.models.loaders import local_model
from schema.models.repos import LocalModel
from schema.models.types import (
    ModelDtype,
    ModelsError,
    ServingQuantization,
    TokenSource,
    camel,
)
from schema.scalars import Bytes
from schema.timestamps import ts

if TYPE_CHECKING:
    from gateway.models.credentials import TokenInfo


@strawberry.type(description="How the platform serves a model (or, without modelId, defaults).")
class ModelSettings:
    model_id: str | None
    context_length: int | None = strawberry.field(description="Null: the model's maximum.")
    dtype: ModelDtype  # type: ignore[valid-type]
    quantization: ServingQuantization  # type: ignore[valid-type]
    gpu_memory_fraction: float
    max_concurrent_requests: int
    tensor_parallel_size: int
    max_batch_tokens: int | None
    trust_remote_code: bool
    overridden: list[str] = strawberry.field(description="Fields set here, not inherited.")
    version: int
    updated_at: datetime | None
    updated_by: str | None

    @classmethod
    def build(cls, v: SettingsView) -> ModelSettings:
        e = v.effective
        return mirror(
            cls,
            e,
            model_id=v.model_id,
            overridden=[camel(n) for n in v.overridden],
            version=v.version,
            updated_at=ts(v.updated_at),
            updated_by=v.updated_by,
        )


@strawberry.type(description="The model the platform serves.")
class ActiveModel:
    id: str
    commit: str
    refs: list[str]
    activated_at: datetime
    activated_by: str

    @strawberry.field(description="The model in the cache; null if it was removed since.")
    async def model(self, info: Info) -> LocalModel | None:
        found = await local_model(info, self.id)
        if found is None or all(r.commit != self.commit for r in found.revisions):
            return None
        return LocalModel.build(found)

    @strawberry.field
    async def settings(self, info: Info) -> ModelSettings:
        return ModelSettings.build(await info.context.services.models.serving.view(self.id))

    @classmethod
    def build(cls, r: ActiveRecord) -> ActiveModel:
        return cls(
            id=r.repo_id,
            commit=r.commit,
            refs=list(r.refs),
            activated_at=ts(r.activated_at),  # type: ignore[arg-type]
            activated_by=r.activated_by,
        )


@strawberry.type
class HubSettings:
    endpoint: str
    configured: bool = strawberry.field(description="HF_ENDPOINT is set (else the public Hub).")
    cache_dir: str
    free_bytes: Bytes = strawberry.field(description="Free disk space where the cache lives.")
    upload_root: str = strawberry.field(description="uploadModel folders are relative to it.")
    token_source: TokenSource
    token_hint: str | None = strawberry.field(description="The token's last characters only.")
    token_updated_at: datetime | None
    token_updated_by: str | None

    @classmethod
    def build(cls, info: Info, token: TokenInfo) -> HubSettings:
        models = info.context.services.models
        return cls(
            endpoint=models.hub_endpoint,
            configured=models.hub_configured,
            cache_dir=str(models.cache.root),
            free_bytes=Bytes(models.cache.free_bytes()),
            upload_root=str(models.uploads.root),
            token_source=TokenSource(token.source),
            token_hint=token.hint,
            token_updated_at=ts(token.updated_at),
            token_updated_by=token.updated_by,
        )


@strawberry.type
class DeletedModel:
    id: str
    commits: list[str]
    freed_bytes: Bytes


ActivateModelResult = Annotated[ActiveModel | ModelsError, strawberry.union("ActivateModelResult")]
DeleteModelResult = Annotated[DeletedModel | ModelsError, strawberry.union("DeleteModelResult")]
UpdateModelSettingsResult = Annotated[
    ModelSettings | ModelsError, strawberry.union("UpdateModelSettingsResult")
]
SetHubTokenResult = Annotated[HubSettings | ModelsError, strawberry.union("SetHubTokenResult")]
