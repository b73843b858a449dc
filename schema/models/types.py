"""GraphQL types of the models domain: files, formats, categories, errors and enums.

Hub and cached models are in repos.py."""

from __future__ import annotations

from enum import Enum

import strawberry

from gateway.models.failures import ModelsFailure, ModelsFailureCode
from gateway.models.formats import FormatInfo
from gateway.models.hub import Detected, HubCategory, QuantFormat
from gateway.models.serving import Dtype, Quantization
from schema.failure import Failure
from schema.mirror import mirror
from schema.scalars import Bytes

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
        return mirror(
            cls, d, files=list(d.files), size=Bytes(d.size) if d.size is not None else None
        )


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


@strawberry.type
class ModelCategory:
    id: str
    label: str
    kind: str = strawberry.field(description="pipeline_tag (a task), library or license.")
    group: str | None = strawberry.field(description="For tasks: nlp, audio, multimodal...")

    @classmethod
    def build(cls, c: HubCategory) -> ModelCategory:
        return mirror(cls, c)


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
        return mirror(cls, f, bits=list(f.bits), variants=list(f.variants))


@strawberry.type(description="An expected failure of a models mutation.")
class ModelsError(Failure[ModelsErrorCode]):  # type: ignore[valid-type]
    @classmethod
    def build(cls, failure: ModelsFailure) -> ModelsError:
        field = camel(failure.field) if failure.field else None
        return cls(field=field, message=failure.message, code=failure.failure)
