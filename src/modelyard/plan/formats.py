"""Weight and KV-cache storage formats: how many bits each parameter or cached element takes.

Figures come from the formats' block layouts and from llama.cpp's own size table
(research/planner.md §3.1); each carries that basis so the planner can print it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from modelyard.errors import PlanError

Scope = Literal["all", "linear", "experts"]


@dataclass(frozen=True)
class WeightFormat:
    """How a quantization stores a model's weights."""

    key: str
    """Name users type (bf16, fp8, awq, gguf-q4_k_m, ...)."""
    bits: float
    """Bits per parameter of the quantized tensors, scales and zeros included."""
    scope: Scope
    """Which tensors take ``bits``: all; linear layers (embeddings, lm_head, norms, router stay
    BF16); or routed experts only (everything else BF16)."""
    engines: tuple[str, ...]
    """Engines that load this format."""
    basis: str
    """Where ``bits`` comes from."""

    @property
    def is_gguf(self) -> bool:
        return self.key.startswith("gguf-")


_GPU_ENGINES = ("vllm", "sglang", "tgi")
_GGUF_ENGINES = ("llamacpp", "ollama")
_GGUF_TABLE = "llama-quantize size table for Llama-3-8B (tools/quantize/quantize.cpp)"


def _gguf(name: str, bits: float, gib: float) -> WeightFormat:
    basis = f"{bits} bits/weight effective: {_GGUF_TABLE}, {gib} GiB for 8.03B params"
    return WeightFormat(f"gguf-{name}", bits, "all", _GGUF_ENGINES, basis)


FORMATS: dict[str, WeightFormat] = {
    f.key: f
    for f in (
        WeightFormat("bf16", 16, "all", _GPU_ENGINES, "2 bytes per parameter"),
        WeightFormat("fp16", 16, "all", _GPU_ENGINES, "2 bytes per parameter"),
        WeightFormat(
            "fp8",
            8,
            "linear",
            _GPU_ENGINES,
            "1 byte per linear weight, embeddings and lm_head BF16 "
            "(vLLM loads Llama-3.3-70B-FP8 as 67.72 GiB, llm-d)",
        ),
        WeightFormat(
            "int8", 8, "linear", _GPU_ENGINES, "1 byte per linear weight (per-channel scales)"
        ),
        WeightFormat(
            "awq",
            4 + 16 / 128 + 4 / 128,
            "linear",
            _GPU_ENGINES,
            "4-bit, group 128: fp16 scale + 4-bit zero per group = 4.156 bits; embeddings BF16",
        ),
        WeightFormat(
            "gptq",
            4 + 16 / 128 + 4 / 128,
            "linear",
            _GPU_ENGINES,
            "4-bit, group 128: fp16 scale + 4-bit zero per group = 4.156 bits; embeddings BF16",
        ),
        WeightFormat(
            "nf4",
            4 + 32 / 64,
            "linear",
            ("tgi",),
            "bitsandbytes NF4, block 64 with an fp32 absmax (no double quant) = 4.5 bits",
        ),
        WeightFormat(
            "mxfp4",
            4.25,
            "experts",
            (*_GPU_ENGINES, *_GGUF_ENGINES),
            "MXFP4: 32 FP4 values share an 8-bit scale = 4.25 bits; attention and "
            "embeddings BF16 (gpt-oss)",
        ),
        _gguf("q8_0", 8.52, 7.96),
        _gguf("q6_k", 6.57, 6.14),
        _gguf("q5_k_m", 5.70, 5.33),
        _gguf("q4_k_m", 4.90, 4.58),
        _gguf("q4_0", 4.64, 4.34),
        _gguf("q3_k_m", 4.00, 3.74),
        _gguf("q2_k", 3.17, 2.96),
    )
}

QUALITY_ORDER: tuple[str, ...] = (
    "bf16",
    "fp8",
    "int8",
    "gguf-q8_0",
    "gguf-q6_k",
    "gguf-q5_k_m",
    "mxfp4",
    "awq",
    "gptq",
    "gguf-q4_k_m",
    "nf4",
    "gguf-q4_0",
    "gguf-q3_k_m",
    "gguf-q2_k",
)
"""Formats from least to most lossy: the order the planner tries them when auto-picking."""

KV_BYTES: dict[str, float] = {
    "bf16": 2.0,
    "fp16": 2.0,
    "fp8": 1.0,
    "q8_0": 34 / 32,
    "q4_0": 18 / 32,
}
"""Bytes per cached element: llama.cpp q8_0 and q4_0 carry an fp16 scale per 32 values."""


def weight_format(key: str) -> WeightFormat:
    """The format named ``key`` ('Q4_K_M' and 'gguf-q4_k_m' both work)."""
    norm = key.strip().lower().replace("-", "_")
    for candidate in (norm, f"gguf_{norm}"):
        for fmt in FORMATS.values():
            if fmt.key.replace("-", "_") == candidate:
                return fmt
    raise PlanError(f"unknown quantization {key!r}; choose one of {', '.join(FORMATS)}")


def kv_bytes(dtype: str) -> float:
    """Bytes per cached element for a KV dtype name."""
    try:
        return KV_BYTES[dtype.lower()]
    except KeyError:
        raise PlanError(
            f"unknown KV cache dtype {dtype!r}; choose one of {', '.join(KV_BYTES)}"
        ) from None
