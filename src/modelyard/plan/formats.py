"""Weight and KV-cache storage formats: how many bits each parameter or cached element takes.

Figures come from the formats' block layouts and from llama.cpp's own size table
(research/planner.md §3.1); each carries that basis so the planner can print it. A format's
``scope`` and ``bf16_edge_layers`` describe its layout: which tensors it quantizes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from modelyard.errors import PlanError

Scope = Literal["all", "linear", "mlp", "experts"]


@dataclass(frozen=True)
class WeightFormat:
    """How a quantization stores a model's weights."""

    key: str
    """Name users type (bf16, fp8, awq, gguf-q4_k_m, ...)."""
    bits: float
    """Bits per parameter of the quantized tensors, scales and zeros included."""
    scope: Scope
    """Which tensors take ``bits``: all; linear layers (embeddings, lm_head, norms, router stay
    BF16); MLPs and experts only (attention BF16 too); or routed experts only."""
    engines: tuple[str, ...]
    """Engines that load this format."""
    basis: str
    """Where ``bits`` and the layout come from."""
    bf16_edge_layers: int = 0
    """The first and last this-many layers keep their MLPs in BF16 (Meta's FP8 405B)."""
    loss: str = ""
    """What the format costs in quality, as published (empty: lossless)."""
    release_only: bool = False
    """A vendor's own layout: offered only where a release of the model ships it."""

    @property
    def is_gguf(self) -> bool:
        return self.key.startswith("gguf-")


_GPU_ENGINES = ("vllm", "sglang", "tgi")
_GGUF_ENGINES = ("llamacpp", "ollama")
_GGUF_TABLE = "llama-quantize size table for Llama-3-8B (tools/quantize/quantize.cpp)"
_KURTIC = "Kurtic et al., 'Give Me BF16 or Give Me Death?', arXiv 2411.02355 (2024)"
_GGUF_PPL = "llama.cpp quantize table, Llama-3-8B perplexity increase over F16"


def _gguf(name: str, bits: float, gib: float, ppl: str) -> WeightFormat:
    basis = f"{bits} bits/weight effective: {_GGUF_TABLE}, {gib} GiB for 8.03B params"
    return WeightFormat(
        f"gguf-{name}", bits, "all", _GGUF_ENGINES, basis, loss=f"{ppl} ({_GGUF_PPL})"
    )


_FOUR_BIT_BASIS = (
    "4-bit, group 128: fp16 scale + 4-bit zero per group = 4.156 bits; embeddings BF16"
)
_FOUR_BIT_LOSS = f"W4A16 recovers about 98-99% of BF16 accuracy on 8B-405B Llama 3.1 ({_KURTIC})"

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
            "1 byte per linear weight (per-tensor, per-channel or 128x128-block scales), "
            "embeddings and lm_head BF16 (vLLM loads Llama-3.3-70B-FP8 as 67.72 GiB, llm-d)",
            loss=f"W8A8-FP8 recovers over 99% of BF16 accuracy ({_KURTIC})",
        ),
        WeightFormat(
            "fp8-mixed",
            8,
            "mlp",
            _GPU_ENGINES,
            "Meta's FP8 405B layout: MLPs of layers 1-124 in FP8 (row-wise scales); attention, "
            "layers 0 and 125, embeddings and lm_head BF16 (FbgemmFp8Config modules_to_not_"
            "convert, huggingface/huggingface-llama-recipes llama-405B-FP8.py)",
            bf16_edge_layers=1,
            loss=f"W8A8-FP8 recovers over 99% of BF16 accuracy ({_KURTIC})",
            release_only=True,
        ),
        WeightFormat(
            "int8",
            8,
            "linear",
            _GPU_ENGINES,
            "1 byte per linear weight (per-channel scales)",
            loss=f"W8A8-INT8 recovers about 99% of BF16 accuracy when tuned ({_KURTIC})",
        ),
        *(
            WeightFormat(
                key,
                4 + 16 / 128 + 4 / 128,
                "linear",
                _GPU_ENGINES,
                _FOUR_BIT_BASIS,
                loss=_FOUR_BIT_LOSS,
            )
            for key in ("awq", "gptq")
        ),
        WeightFormat(
            "nf4",
            4 + 32 / 64,
            "linear",
            ("tgi",),
            "bitsandbytes NF4, block 64 with an fp32 absmax (no double quant) = 4.5 bits",
            loss="4-bit NormalFloat (QLoRA, arXiv 2305.14314); no serving accuracy study cited",
        ),
        WeightFormat(
            "mxfp4",
            4.25,
            "experts",
            (*_GPU_ENGINES, *_GGUF_ENGINES),
            "MXFP4: 32 FP4 values share an 8-bit scale = 4.25 bits; attention and "
            "embeddings BF16 (gpt-oss)",
            release_only=True,
        ),
        _gguf("q8_0", 8.52, 7.96, "+0.0026 ppl"),
        _gguf("q6_k", 6.57, 6.14, "+0.0217 ppl"),
        _gguf("q5_k_m", 5.70, 5.33, "+0.0569 ppl"),
        _gguf("q4_k_m", 4.90, 4.58, "+0.1754 ppl"),
        _gguf("q4_0", 4.64, 4.34, "+0.4685 ppl"),
        _gguf("q3_k_m", 4.00, 3.74, "+0.6569 ppl"),
        _gguf("q2_k", 3.17, 2.96, "+3.5199 ppl"),
    )
}

QUALITY_ORDER: tuple[str, ...] = (
    "bf16",
    "fp8",
    "fp8-mixed",
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

CATALOG_FORMATS: dict[str, str] = {
    "bf16": "bf16",
    "fp8": "fp8",
    "fp8-mixed": "fp8-mixed",
    "int8": "int8",
    "awq-int4": "awq",
    "gptq-int4": "gptq",
    "bnb-int4": "nf4",
    "mxfp4": "mxfp4",
    "gguf-q4_k_m": "gguf-q4_k_m",
    "gguf-q4_0-qat": "gguf-q4_0",
}
"""Catalog release formats (``quantized[].format``) the planner can size, to its format keys."""


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
