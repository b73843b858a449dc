"""GraphQL types of the local side of the models domain: the cache, the active model,
serving settings and the Hub settings."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Annotated

import strawberry

from gateway.backends.hub.quantization import detect
from gateway.context import Info
from gateway.errors import BackendNotFound
from gateway.models.active import ActiveRecord
from gateway.models.cache import CachedModel, CachedRevision
from gateway.models.serving_store import SettingsView
from schema.models.loaders import active_record, hub_model, local_model
from schema.models.types import (
    DetectedQuantization,
    HubModel,
    ModelDtype,
    ModelFile,
    ModelsError,
    ServingQuantization,
    TokenSource,
    camel,
)
from schema.scalars import Bytes
from schema.timestamps import ts

if TYPE_CHECKING:
    from gateway.models.credentials import TokenInfo


@strawberry.type
class LocalRevision:
    commit: str
    refs: list[str]
    size: Bytes
    file_count: int
    last_modified: datetime | None
    _revision: strawberry.Private[CachedRevision]

    @strawberry.field
    def files(self) -> list[ModelFile]:
        return [ModelFile(path=p, size=Bytes(s)) for p, s in self._revision.files]


@strawberry.type(description="A model in the local Hugging Face cache (HF_HUB_CACHE).")
class LocalModel:
    id: str
    size: Bytes = strawberry.field(description="Bytes on disk, all revisions.")
    file_count: int
    revisions: list[LocalRevision] = strawberry.field(description="Newest first.")
    last_accessed: datetime | None
    last_modified: datetime | None
    _model: strawberry.Private[CachedModel]

    @strawberry.field(description="Formats found in the default revision's files.")
    async def quantizations(self, info: Info) -> list[DetectedQuantization]:
        rev = self._model.revision()
        if rev is None:
            return []
        config = await info.context.services.models.cache.config(self.id, rev.commit)
        found = detect(repo_id=self.id, files=list(rev.files), config=config)
        return [DetectedQuantization.from_detected(d) for d in found]

    @strawberry.field
    async def active(self, info: Info) -> bool:
        record = await active_record(info)
        return record is not None and record.repo_id == self.id

    @strawberry.field(description="The model on the Hub (null if the Hub does not know it).")
    async def hub(self, info: Info) -> HubModel | None:
        try:
            return HubModel.build(await hub_model(info, self.id, None))
        except BackendNotFound:
            return None

    @classmethod
    def build(cls, m: CachedModel) -> LocalModel:
        revisions = [
            LocalRevision(
                commit=r.commit,
                refs=list(r.refs),
                size=Bytes(r.size),
                file_count=len(r.files),
                last_modified=ts(r.last_modified),
                _revision=r,
            )
            for r in m.revisions
        ]
        return cls(
            id=m.repo_id,
            size=Bytes(m.size),
            file_count=m.nb_files,
            revisions=revisions,
            last_accessed=ts(m.last_accessed),
            last_modified=ts(m.last_modified),
            _model=m,
        )


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
        return cls(
            model_id=v.model_id,
            context_length=e.context_length,
            dtype=e.dtype,
            quantization=e.quantization,
            gpu_memory_fraction=e.gpu_memory_fraction,
            max_concurrent_requests=e.max_concurrent_requests,
            tensor_parallel_size=e.tensor_parallel_size,
            max_batch_tokens=e.max_batch_tokens,
            trust_remote_code=e.trust_remote_code,
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
            endpoint=models.hub.endpoint,
            configured=models.hub.configured,
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
