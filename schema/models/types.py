"""GraphQL types of the models domain: Hub models, local models, settings, errors."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated, NewType

import strawberry

from gateway.backends.hub.models import HubCategory
from gateway.backends.hub.models import HubModel as HubRecord
from gateway.backends.hub.quantization import Detected, QuantFormat, detect
from gateway.context import Info
from gateway.errors import BackendNotFound
from gateway.models.cache import CachedModel, CachedRevision
from gateway.models.failures import ModelsFailure, ModelsFailureCode
from gateway.models.formats import FormatInfo
from gateway.models.serving import Dtype, Quantization
from gateway.models.serving_store import SettingsView
from schema.models.loaders import hub_model, local_models

if TYPE_CHECKING:
    from gateway.models.credentials import TokenInfo

Bytes = NewType("Bytes", int)
MODELS_SCALARS = {
    Bytes: strawberry.scalar(
        name="Bytes",
        description="A number of bytes (or parameters): may exceed 32 bits, a JSON number.",
        serialize=int,
        parse_value=int,
    )
}
QuantizationFormat = strawberry.enum(QuantFormat, name="QuantizationFormat")
ModelsErrorCode = strawberry.enum(ModelsFailureCode, name="ModelsErrorCode")
ModelDtype = strawberry.enum(Dtype, name="ModelDtype")
ServingQuantization = strawberry.enum(Quantization, name="ServingQuantization")


@strawberry.enum
class ModelSort(Enum):
    DOWNLOADS = "downloads"
    LIKES = "likes"
    TRENDING = "trending_score"
    LAST_MODIFIED = "last_modified"
    CREATED_AT = "created_at"


@strawberry.enum
class TokenSource(Enum):
    API = "api"
    ENV = "env"
    NONE = "none"


def ts(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, tz=UTC)


@strawberry.type
class ModelFile:
    path: str
    size: Bytes | None
    lfs: bool = False


@strawberry.type(description="A weight format or quantization a model offers.")
class DetectedQuantization:
    format: QuantizationFormat  # type: ignore[valid-type]
    variant: str | None = strawberry.field(description="Q4_K_M, 4bit, BF16...")
    bits: float | None = strawberry.field(description="Approximate bits per weight.")
    files: list[str]
    size: Bytes | None

    @classmethod
    def from_detected(cls, d: Detected) -> DetectedQuantization:
        return cls(
            format=d.format,
            variant=d.variant,
            bits=d.bits,
            files=list(d.files),
            size=Bytes(d.size) if d.size is not None else None,
        )


@strawberry.type(description="A model repo on the Hugging Face Hub.")
class HubModel:
    id: str
    author: str | None
    sha: str | None = strawberry.field(description="The commit of the revision asked for.")
    private: bool
    gated: bool = strawberry.field(description="Access must be requested on the Hub.")
    gated_mode: str | None = strawberry.field(description='"auto" or "manual" when gated.')
    disabled: bool
    downloads: int
    likes: int
    library: str | None
    task: str | None = strawberry.field(description="The pipeline tag, e.g. text-generation.")
    tags: list[str]
    license: str | None
    created_at: datetime | None
    last_modified: datetime | None
    parameters: Bytes | None
    context_length: int | None
    size: Bytes | None = strawberry.field(description="All files, when the Hub listed sizes.")
    files: list[ModelFile] | None = strawberry.field(
        description="Null in search results, which do not list sizes."
    )
    _record: strawberry.Private[HubRecord]

    @strawberry.field(description="Weight formats and quantizations found in the repo.")
    def quantizations(self) -> list[DetectedQuantization]:
        return [DetectedQuantization.from_detected(d) for d in self._record.quantizations()]

    @strawberry.field(description="This model in the local cache, if it was downloaded.")
    async def local(self, info: Info) -> LocalModel | None:
        found = next((m for m in await local_models(info) if m.repo_id == self.id), None)
        return LocalModel.build(found) if found else None

    @classmethod
    def build(cls, m: HubRecord, *, with_files: bool = True) -> HubModel:
        files = None
        if m.files is not None and with_files:
            files = [ModelFile(path=f.path, size=_bytes(f.size), lfs=f.lfs) for f in m.files]
        return cls(
            id=m.id,
            author=m.author,
            sha=m.sha,
            private=m.private,
            gated=m.gated is not None,
            gated_mode=m.gated,
            disabled=m.disabled,
            downloads=m.downloads,
            likes=m.likes,
            library=m.library,
            task=m.pipeline_tag,
            tags=list(m.tags),
            license=m.license,
            created_at=m.created_at,
            last_modified=m.last_modified,
            parameters=_bytes(m.parameters),
            context_length=m.context_length,
            size=_bytes(m.total_size),
            files=files,
            _record=m,
        )


def _bytes(value: int | None) -> Bytes | None:
    return None if value is None else Bytes(value)


@strawberry.type
class ModelCategory:
    id: str
    label: str
    kind: str = strawberry.field(description="pipeline_tag (a task), library or license.")
    group: str | None = strawberry.field(description="For tasks: nlp, audio, multimodal...")

    @classmethod
    def build(cls, c: HubCategory) -> ModelCategory:
        return cls(id=c.id, label=c.label, kind=c.kind, group=c.group)


@strawberry.type
class QuantizationInfo:
    format: QuantizationFormat  # type: ignore[valid-type]
    label: str
    description: str
    bits: list[float]
    variants: list[str]
    detection: str = strawberry.field(description="How the gateway recognises it.")

    @classmethod
    def build(cls, f: FormatInfo) -> QuantizationInfo:
        return cls(
            format=f.format,
            label=f.label,
            description=f.description,
            bits=list(f.bits),
            variants=list(f.variants),
            detection=f.detection,
        )


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
        record = await info.context.services.models.active.get()
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
            overridden=[_camel(n) for n in v.overridden],
            version=v.version,
            updated_at=ts(v.updated_at),
            updated_by=v.updated_by,
        )


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


@strawberry.type(description="The model the platform serves.")
class ActiveModel:
    id: str
    commit: str
    refs: list[str]
    activated_at: datetime
    activated_by: str

    @strawberry.field(description="The model in the cache; null if it was removed since.")
    async def model(self, info: Info) -> LocalModel | None:
        found = next((m for m in await local_models(info) if m.repo_id == self.id), None)
        if found is None or all(r.commit != self.commit for r in found.revisions):
            return None
        return LocalModel.build(found)

    @strawberry.field
    async def settings(self, info: Info) -> ModelSettings:
        return ModelSettings.build(await info.context.services.models.serving.view(self.id))


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


@strawberry.type(description="An expected failure of a models mutation.")
class ModelsError:
    field: str | None
    message: str
    code: ModelsErrorCode  # type: ignore[valid-type]

    @classmethod
    def build(cls, failure: ModelsFailure) -> ModelsError:
        field = _camel(failure.field) if failure.field else None
        return cls(field=field, message=failure.message, code=failure.failure)


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
