"""GraphQL types of the models domain: Hub models, formats, errors and enums."""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import TYPE_CHECKING, Annotated

import strawberry

from gateway.backends.hub.models import HubCategory
from gateway.backends.hub.models import HubModel as HubRecord
from gateway.backends.hub.quantization import Detected, QuantFormat
from gateway.context import Info
from gateway.models.failures import ModelsFailure, ModelsFailureCode
from gateway.models.formats import FormatInfo
from gateway.models.serving import Dtype, Quantization
from schema.models.loaders import local_model
from schema.scalars import Bytes

if TYPE_CHECKING:
    from schema.models.local import LocalModel

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
    async def local(
        self, info: Info
    ) -> Annotated[LocalModel, strawberry.lazy("schema.models.local")] | None:
        from schema.models.local import LocalModel

        found = await local_model(info, self.id)
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


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


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


@strawberry.type(description="An expected failure of a models mutation.")
class ModelsError:
    field: str | None
    message: str
    code: ModelsErrorCode  # type: ignore[valid-type]

    @classmethod
    def build(cls, failure: ModelsFailure) -> ModelsError:
        field = camel(failure.field) if failure.field else None
        return cls(field=field, message=failure.message, code=failure.failure)
