"""Published measurements the planner is held to, each with its source and engine version.

vLLM startup figures come from data/llmd_v019.json (extract_llmd.py); this module maps those
runs to catalog models and formats, names which runs the engine profile was fitted on, and
lists the decode-speed references (current vLLM and llama.cpp) with their sources.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
LLMD = json.loads((HERE / "data" / "llmd_v019.json").read_text(encoding="utf-8"))

CATALOG: dict[str, tuple[str, str]] = {
    "meta-llama/Llama-3.1-8B-Instruct": ("llama-3.1-8b-instruct", "bf16"),
    "RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w4a16": ("llama-3.1-8b-instruct", "gptq"),
    "RedHatAI/Meta-Llama-3.1-8B-Instruct-quantized.w8a8": ("llama-3.1-8b-instruct", "int8"),
    "Qwen/Qwen2.5-7B-Instruct": ("qwen2.5-7b-instruct", "bf16"),
    "RedHatAI/Qwen2.5-7B-Instruct-fp8-dynamic": ("qwen2.5-7b-instruct", "fp8"),
    "RedHatAI/Qwen2.5-7B-Instruct-quantized.w8a8": ("qwen2.5-7b-instruct", "int8"),
    "Qwen/Qwen3-8B": ("qwen3-8b", "bf16"),
    "Qwen/Qwen3-30B-A3B": ("qwen3-30b-a3b", "bf16"),
    "microsoft/phi-4": ("phi-4", "bf16"),
    "mistralai/Mistral-Small-3.1-24B-Instruct-2503": (
        "mistral-small-3.1-24b-instruct-2503",
        "bf16",
    ),
    "RedHatAI/Mistral-Small-3.1-24B-Instruct-2503-quantized.w8a8": (
        "mistral-small-3.1-24b-instruct-2503",
        "int8",
    ),
    "mistralai/Mixtral-8x7B-Instruct-v0.1": ("mixtral-8x7b-instruct-v0.1", "bf16"),
    "meta-llama/Llama-4-Scout-17B-16E-Instruct": ("llama-4-scout-17b-16e-instruct", "bf16"),
    "openai/gpt-oss-20b": ("gpt-oss-20b", "mxfp4"),
    "Qwen/Qwen2.5-72B-Instruct": ("qwen2.5-72b-instruct", "bf16"),
    # Kimi-Dev-72B is a fine-tune of Qwen2.5-72B with the same config.json shape
    "moonshotai/Kimi-Dev-72B": ("qwen2.5-72b-instruct", "bf16"),
    "RedHatAI/Llama-3.3-70B-Instruct-fp8-dynamic": ("llama-3.3-70b-instruct", "fp8"),
    "redhatai/Llama-3.3-70B-Instruct-quantized.w8a8": ("llama-3.3-70b-instruct", "int8"),
    "google/gemma-2-27b-it": ("gemma-2-27b-it", "bf16"),
    "google/gemma-3-27b-it": ("gemma-3-27b-it", "bf16"),
}
"""vLLM runs of models the catalog holds: HF repo -> (catalog id, planner format)."""

TRAIN_MODELS = (
    "meta-llama/Llama-3.1-8B-Instruct",
    "Qwen/Qwen2.5-7B-Instruct",
    "mistralai/Mixtral-8x7B-Instruct-v0.1",
    "google/gemma-2-27b-it",
    "mistralai/Mistral-Small-3.1-24B-Instruct-2503",
)
"""Runs the vLLM 0.19 memory factors are fitted on (dense small and large vocab, MoE at TP2,
multimodal); every other run is held out."""


@dataclass(frozen=True)
class VllmRun:
    """One vLLM 0.19.0 startup, as the planner is asked about it."""

    log: str
    repo: str
    model_id: str
    quant: str
    kv_dtype: str
    tp: int
    pp: int
    context: int
    gpu_util: float
    ok: bool
    error: str | None
    weights_gib: float | None
    """'Model loading took' (per GPU; the first pipeline stage for PP)."""
    activation_gib: float | None
    non_torch_gib: float | None
    kv_pool_gib: float | None
    kv_tokens: float | None
    concurrency: float | None

    @property
    def train(self) -> bool:
        return self.repo in TRAIN_MODELS


def _quant(repo: str, row: dict[str, Any]) -> str:
    base = CATALOG[repo][1]
    if row["quantization"] == "fp8":
        return "fp8"
    return "fp16" if base == "bf16" and row["dtype"] == "float16" else base


def _wanted(row: dict[str, Any]) -> bool:
    """A run of a catalog model, in a format the planner sizes, on one replica."""
    return row["model"] in CATALOG and row["dtype"] != "float32" and "dp2" not in row["log"]


def vllm_runs() -> list[VllmRun]:
    """Every llm-d v0.19 run of a catalog model in a format the planner sizes."""
    return [
        VllmRun(
            log=row["log"],
            repo=row["model"],
            model_id=CATALOG[row["model"]][0],
            quant=_quant(row["model"], row),
            kv_dtype="fp8" if row["kv_cache_dtype"] == "fp8" else "bf16",
            tp=row["tp"],
            pp=row["pp"],
            context=row["max_model_len"],
            gpu_util=row["gpu_memory_utilization"],
            ok=row["status"] == "ok",
            error=row.get("error"),
            weights_gib=row["weight_memory_gib"],
            activation_gib=row["activation_memory_gib"],
            non_torch_gib=row["non_torch_forward_gib"],
            kv_pool_gib=row["kv_cache_memory_gib"],
            kv_tokens=row["kv_cache_tokens"],
            concurrency=row["max_concurrency"],
        )
        for row in LLMD["runs"]
        if _wanted(row)
    ]
