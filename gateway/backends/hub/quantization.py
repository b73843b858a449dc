"""Which weight formats and quantizations a model repo offers, from what the Hub tells us.

Evidence, strongest first: the config's ``quantization_config.quant_method``, marker files
(``quant_config.json`` for AWQ, ``quantize_config.json`` for GPTQ), file names (GGUF quant
types such as ``Q4_K_M`` sit in the file name by convention), tags, and the repo name.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class QuantFormat(StrEnum):
    GGUF = "gguf"
    AWQ = "awq"
    GPTQ = "gptq"
    FP8 = "fp8"
    EXL2 = "exl2"
    BITSANDBYTES = "bitsandbytes"
    MLX = "mlx"
    ONNX = "onnx"
    SAFETENSORS = "safetensors"
    PYTORCH = "pytorch"


# llama.cpp quant types and their approximate bits per weight.
GGUF_TYPES: dict[str, float] = {
    "F32": 32.0, "F16": 16.0, "BF16": 16.0, "Q8_0": 8.5, "Q6_K": 6.56,
    "Q5_K_M": 5.69, "Q5_K_S": 5.54, "Q5_1": 6.0, "Q5_0": 5.5,
    "Q4_K_M": 4.85, "Q4_K_S": 4.58, "Q4_1": 5.0, "Q4_0": 4.5,
    "Q3_K_L": 4.27, "Q3_K_M": 3.91, "Q3_K_S": 3.5, "Q2_K": 3.35,
    "IQ4_NL": 4.5, "IQ4_XS": 4.25, "IQ3_M": 3.66, "IQ3_S": 3.44, "IQ3_XS": 3.3,
    "IQ3_XXS": 3.06, "IQ2_M": 2.7, "IQ2_S": 2.5, "IQ2_XS": 2.31, "IQ2_XXS": 2.06,
    "IQ1_M": 1.75, "IQ1_S": 1.56, "TQ2_0": 2.06, "TQ1_0": 1.69,
}  # fmt: skip
_GGUF_TYPE = re.compile(
    r"(?<![A-Za-z0-9])(" + "|".join(sorted(GGUF_TYPES, key=len, reverse=True)) + r"|FP16)"
    r"(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_DTYPE_BITS = {"F64": 64.0, "F32": 32.0, "BF16": 16.0, "F16": 16.0, "F8_E4M3": 8.0, "I8": 8.0}
_NAME_HINTS: tuple[tuple[re.Pattern[str], QuantFormat], ...] = (
    (re.compile(r"(?i)(?<![a-z])awq(?![a-z])"), QuantFormat.AWQ),
    (re.compile(r"(?i)(?<![a-z])gptq(?![a-z])"), QuantFormat.GPTQ),
    (re.compile(r"(?i)(?<![a-z])fp8(?![a-z0-9])"), QuantFormat.FP8),
    (re.compile(r"(?i)(?<![a-z])exl2(?![a-z])"), QuantFormat.EXL2),
    (re.compile(r"(?i)(?<![a-z])(bnb|bitsandbytes)(?![a-z])"), QuantFormat.BITSANDBYTES),
)
_TAGS = {
    "awq": QuantFormat.AWQ,
    "gptq": QuantFormat.GPTQ,
    "fp8": QuantFormat.FP8,
    "exl2": QuantFormat.EXL2,
    "bitsandbytes": QuantFormat.BITSANDBYTES,
    "mlx": QuantFormat.MLX,
    "onnx": QuantFormat.ONNX,
}
# The Hub puts these on AWQ, GPTQ and MLX repos too: bitsandbytes only when nothing else fits.
_WEAK_TAGS = {"4-bit", "8-bit"}
_TORCH_DTYPES = {"bfloat16": "BF16", "float16": "F16", "float32": "F32", "float64": "F64"}
_QUANTIZED = {
    QuantFormat.AWQ,
    QuantFormat.GPTQ,
    QuantFormat.FP8,
    QuantFormat.EXL2,
    QuantFormat.BITSANDBYTES,
    QuantFormat.MLX,
}


@dataclass(frozen=True, slots=True)
class Detected:
    format: QuantFormat
    variant: str | None
    """GGUF quant type (``Q4_K_M``), bit width (``4bit``) or dtype (``BF16``)."""
    bits: float | None
    files: tuple[str, ...]
    size: int | None
    """Bytes of those files, when the Hub reported sizes."""


def detect(
    *,
    repo_id: str,
    files: Sequence[tuple[str, int | None]],
    tags: Iterable[str] = (),
    config: Mapping[str, Any] | None = None,
    library: str | None = None,
    dtypes: Mapping[str, int] | None = None,
) -> list[Detected]:
    """``files`` are ``(path, size)``; ``dtypes`` is the Hub's safetensors parameter count
    per dtype."""
    found: list[Detected] = []
    gguf: dict[str, list[tuple[str, int | None]]] = {}
    for path, size in files:
        if path.lower().endswith(".gguf"):
            match = _GGUF_TYPE.search(path.rsplit("/", 1)[-1])
            variant = match.group(1).upper().replace("FP16", "F16") if match else "unknown"
            gguf.setdefault(variant, []).append((path, size))
    for variant in sorted(gguf, key=lambda v: -GGUF_TYPES.get(v, 0.0)):
        found.append(_entry(QuantFormat.GGUF, variant, GGUF_TYPES.get(variant), gguf[variant]))

    weights = [(p, s) for p, s in files if p.endswith(".safetensors")]
    method, bits = _quant_method(config)
    names = {p.rsplit("/", 1)[-1] for p, _ in files}
    tagset = {t.lower() for t in tags}
    formats: list[QuantFormat] = []
    if method is not None:
        formats.append(method)
    if "quant_config.json" in names:
        formats.append(QuantFormat.AWQ)
    if "quantize_config.json" in names:
        formats.append(QuantFormat.GPTQ)
    formats += [fmt for tag, fmt in _TAGS.items() if tag in tagset]
    formats += [fmt for pattern, fmt in _NAME_HINTS if pattern.search(repo_id)]
    if library == "mlx":
        formats.append(QuantFormat.MLX)
    if not formats and tagset & _WEAK_TAGS:
        formats.append(QuantFormat.BITSANDBYTES)
    seen: set[QuantFormat] = set()
    for fmt in formats:
        if fmt in seen or fmt not in _QUANTIZED:
            continue
        seen.add(fmt)
        variant, fmt_bits = _bits_variant(fmt, bits if fmt == method else None, repo_id)
        found.append(_entry(fmt, variant, fmt_bits, weights))

    if weights and not seen:
        dtype = max(dtypes.items(), key=lambda kv: kv[1])[0] if dtypes else None
        if dtype is None and config:  # a local model: config.json knows the dtype
            dtype = _TORCH_DTYPES.get(str(config.get("torch_dtype") or config.get("dtype")))
        found.append(_entry(QuantFormat.SAFETENSORS, dtype, _DTYPE_BITS.get(dtype or ""), weights))
    onnx = [(p, s) for p, s in files if p.endswith(".onnx")]
    if onnx and QuantFormat.ONNX not in seen:
        found.append(_entry(QuantFormat.ONNX, None, None, onnx))
    torch = [(p, s) for p, s in files if p.endswith((".bin", ".pt", ".pth")) and "model" in p]
    if torch and not weights:
        found.append(_entry(QuantFormat.PYTORCH, None, None, torch))
    return found


def _quant_method(config: Mapping[str, Any] | None) -> tuple[QuantFormat | None, float | None]:
    qc = (config or {}).get("quantization_config")
    if not isinstance(qc, Mapping):
        return None, None
    method = str(qc.get("quant_method") or "").lower()
    bits = qc.get("bits") or qc.get("w_bit")
    if qc.get("load_in_4bit"):
        method, bits = "bitsandbytes", 4
    elif qc.get("load_in_8bit"):
        method, bits = "bitsandbytes", 8
    try:
        fmt = QuantFormat(method)
    except ValueError:
        return None, None
    return fmt, float(bits) if isinstance(bits, int | float) else None


def _bits_variant(
    fmt: QuantFormat, bits: float | None, repo_id: str
) -> tuple[str | None, float | None]:
    if fmt == QuantFormat.FP8:
        return "FP8", 8.0
    if bits is None:
        match = re.search(r"(?i)(?<![0-9])([2-8])[-_]?bit", repo_id)
        bits = float(match.group(1)) if match else (4.0 if fmt != QuantFormat.EXL2 else None)
    return (f"{bits:g}bit" if bits is not None else None), bits


def _entry(
    fmt: QuantFormat, variant: str | None, bits: float | None, files: list[tuple[str, int | None]]
) -> Detected:
    sizes = [s for _, s in files]
    size = sum(s for s in sizes if s is not None) if sizes and None not in sizes else None
    return Detected(fmt, variant, bits, tuple(p for p, _ in files), size)
