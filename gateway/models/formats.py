"""The catalogue of weight formats and quantizations the gateway recognises (``quantizations``)."""

from __future__ import annotations

from dataclasses import dataclass

from gateway.backends.hub.quantization import GGUF_TYPES, QuantFormat


@dataclass(frozen=True, slots=True)
class FormatInfo:
    format: QuantFormat
    label: str
    description: str
    bits: tuple[float, ...]
    """Typical bits per weight."""
    variants: tuple[str, ...] = ()
    detection: str = ""


CATALOG: tuple[FormatInfo, ...] = (
    FormatInfo(
        QuantFormat.GGUF,
        "GGUF (llama.cpp)",
        "Single-file weights for llama.cpp and compatible runtimes, quantized per block.",
        tuple(sorted(set(GGUF_TYPES.values()))),
        tuple(GGUF_TYPES),
        "*.gguf files; the quant type (Q4_K_M, IQ2_XS, F16...) from the file name",
    ),
    FormatInfo(
        QuantFormat.AWQ,
        "AWQ",
        "Activation-aware 4-bit weight quantization (vLLM, TGI, transformers).",
        (4.0,),
        ("4bit",),
        "quantization_config.quant_method=awq, quant_config.json, 'awq' tag or name",
    ),
    FormatInfo(
        QuantFormat.GPTQ,
        "GPTQ",
        "Post-training 2-8 bit quantization with calibration data.",
        (2.0, 3.0, 4.0, 8.0),
        ("2bit", "3bit", "4bit", "8bit"),
        "quantization_config.quant_method=gptq, quantize_config.json, 'gptq' tag or name",
    ),
    FormatInfo(
        QuantFormat.FP8,
        "FP8",
        "8-bit floating point weights (E4M3), native on Hopper and newer GPUs.",
        (8.0,),
        ("FP8",),
        "quantization_config.quant_method=fp8, F8_E4M3 tensors, 'fp8' tag or name",
    ),
    FormatInfo(
        QuantFormat.EXL2,
        "EXL2",
        "ExLlamaV2 mixed-precision quantization (2-8 bits per weight).",
        (2.0, 3.0, 4.0, 5.0, 6.0, 8.0),
        (),
        "'exl2' tag or name",
    ),
    FormatInfo(
        QuantFormat.BITSANDBYTES,
        "bitsandbytes",
        "4-bit (NF4) or 8-bit weights, quantized on load or saved pre-quantized.",
        (4.0, 8.0),
        ("4bit", "8bit"),
        "quantization_config load_in_4bit/load_in_8bit, '4-bit'/'8-bit' tags",
    ),
    FormatInfo(
        QuantFormat.MLX,
        "MLX",
        "Apple-silicon weights for the MLX framework, often 4-bit.",
        (4.0, 8.0, 16.0),
        ("4bit", "8bit"),
        "library mlx or 'mlx' tag",
    ),
    FormatInfo(
        QuantFormat.ONNX,
        "ONNX",
        "Exported graphs for ONNX Runtime (fp32, fp16 or int8).",
        (8.0, 16.0, 32.0),
        (),
        "*.onnx files",
    ),
    FormatInfo(
        QuantFormat.SAFETENSORS,
        "safetensors",
        "Unquantized weights in safetensors files; the dtype from the Hub's metadata.",
        (16.0, 32.0),
        ("BF16", "F16", "F32"),
        "*.safetensors without a quantization method",
    ),
    FormatInfo(
        QuantFormat.PYTORCH,
        "PyTorch pickle",
        "Legacy pytorch_model*.bin weights (pickle; prefer safetensors).",
        (16.0, 32.0),
        (),
        "*.bin / *.pt model files when no safetensors exist",
    ),
)
