"""Serving settings: how the platform runs a model (context length, dtype, quantization,
GPU memory, concurrency...), validated field by field and against the model itself.

Stored in the ``models.settings`` collection: ``_defaults`` for every model, one document per
model id for its overrides. A field missing from a model's document inherits the default.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields, replace
from enum import StrEnum
from typing import Any

from gateway.backends.hub.quantization import QuantFormat
from gateway.models.failures import ModelsFailure, ModelsFailureCode

DEFAULTS_ID = "_defaults"


class Dtype(StrEnum):
    AUTO = "auto"
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"
    FLOAT32 = "float32"


class Quantization(StrEnum):
    NONE = "none"
    AWQ = "awq"
    GPTQ = "gptq"
    FP8 = "fp8"
    GGUF = "gguf"
    EXL2 = "exl2"
    BITSANDBYTES_4BIT = "bitsandbytes_4bit"
    BITSANDBYTES_8BIT = "bitsandbytes_8bit"


# Quantizations that need weights quantized ahead of time (the others quantize on load).
_NEEDS_WEIGHTS = {
    Quantization.AWQ: QuantFormat.AWQ,
    Quantization.GPTQ: QuantFormat.GPTQ,
    Quantization.GGUF: QuantFormat.GGUF,
    Quantization.EXL2: QuantFormat.EXL2,
}


@dataclass(frozen=True, slots=True)
class ServingSettings:
    context_length: int | None = None
    """None: the model's own maximum."""
    dtype: Dtype = Dtype.AUTO
    quantization: Quantization = Quantization.NONE
    gpu_memory_fraction: float = 0.9
    max_concurrent_requests: int = 64
    tensor_parallel_size: int = 1
    max_batch_tokens: int | None = None
    trust_remote_code: bool = False

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["dtype"], data["quantization"] = self.dtype.value, self.quantization.value
        return data

    def with_values(self, values: Mapping[str, Any]) -> ServingSettings:
        known = {f.name for f in fields(self)}
        changes = {k: _coerce(k, v) for k, v in values.items() if k in known}
        return replace(self, **changes)


NAMES = tuple(f.name for f in fields(ServingSettings))


def _coerce(name: str, value: Any) -> Any:
    if name == "dtype" and value is not None:
        return Dtype(value)
    if name == "quantization" and value is not None:
        return Quantization(value)
    return value


def _fail(field: str, message: str) -> ModelsFailure:
    return ModelsFailure(ModelsFailureCode.BAD_USER_INPUT, message, field=field)


def check_values(values: Mapping[str, Any]) -> dict[str, Any]:
    """Validate each given field on its own; return the stored form (enums as values)."""
    stored: dict[str, Any] = {}
    for name, value in values.items():
        if name not in NAMES:
            raise _fail(name, f"unknown setting {name!r}")
        if value is None:
            if name in ("context_length", "max_batch_tokens"):
                stored[name] = None
                continue
            raise _fail(name, f"{name} cannot be null")
        stored[name] = _check(name, value)
    return stored


def _check(name: str, value: Any) -> Any:
    if name == "context_length":
        _int_range(name, value, 128, 2_097_152)
    elif name == "max_batch_tokens":
        _int_range(name, value, 128, 16_777_216)
    elif name == "max_concurrent_requests":
        _int_range(name, value, 1, 4096)
    elif name == "tensor_parallel_size":
        _int_range(name, value, 1, 64)
        if value & (value - 1):
            raise _fail(name, "tensor_parallel_size must be a power of two")
    elif name == "gpu_memory_fraction":
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise _fail(name, "gpu_memory_fraction must be a number")
        if not 0.05 <= float(value) <= 1.0:
            raise _fail(name, "gpu_memory_fraction must be between 0.05 and 1.0")
        return round(float(value), 4)
    elif name == "dtype":
        return Dtype(value).value
    elif name == "quantization":
        return Quantization(value).value
    elif name == "trust_remote_code" and not isinstance(value, bool):
        raise _fail(name, "trust_remote_code must be a boolean")
    return value


def _int_range(name: str, value: Any, low: int, high: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _fail(name, f"{name} must be an integer between {low} and {high}")


def check_model(
    settings: ServingSettings, *, max_context: int | None, formats: set[QuantFormat] | None
) -> None:
    """Checks against the model: ``max_context`` and ``formats`` come from its local files
    (None when unknown, then only the generic checks apply)."""
    if (
        settings.context_length is not None
        and max_context is not None
        and settings.context_length > max_context
    ):
        raise _fail(
            "context_length",
            f"context_length {settings.context_length} exceeds the model maximum ({max_context})",
        )
    needed = _NEEDS_WEIGHTS.get(settings.quantization)
    if needed is not None and formats is not None and needed not in formats:
        raise _fail(
            "quantization",
            f"the model has no {needed.value.upper()} weights; pick a quantization it offers "
            f"({', '.join(sorted(f.value for f in formats)) or 'none found'})",
        )
    if (
        settings.max_batch_tokens is not None
        and settings.context_length is not None
        and settings.max_batch_tokens < settings.context_length
    ):
        raise _fail("max_batch_tokens", "max_batch_tokens must be at least context_length")
    if settings.quantization == Quantization.GGUF and settings.dtype == Dtype.FLOAT32:
        raise _fail("dtype", "GGUF weights cannot run as float32; use auto")
