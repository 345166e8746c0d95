"""Ask modelyard's planner and llmfit the same questions; score both against references.

Usage:  .venv/bin/python benchmarks/planner_vs_llmfit/run.py [--out FILE]  (from the repo root)

Writes every answer and reference to --out (default results/latest.json); docs/PERFORMANCE.md,
"Planner vs llmfit", is rendered from it by summary.py.

llmfit (PyPI wheel, a Rust binary) is installed into benchmarks/planner_vs_llmfit/.venv on the
first run. The machine has no GPU, so llmfit is told the hardware with --profile: the bundled
`nvidia-rtx-4090` profile, and an H100 SXM profile written here with the datasheet's 3,350 GB/s
(llmfit's own detection on a real H100 picks 2,039 GB/s, research/planner.md §1.5).

Questions: (1) memory to hold the weights plus one sequence's KV at 8k and 32k context, in GiB;
(2) decode tok/s at batch 1. llmfit's answers: `plan --json` minimum.vram_gb (its memory
formula, which adds 0.5 GB of overhead) and run_paths[gpu].estimated_tps. References are
published measurements only; where none exists the row says so.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
VENV = HERE / ".venv"
LLMFIT = VENV / "bin" / "llmfit"
LLMFIT_VERSION = "1.1.17"
H100_PROFILE = {
    "schema_version": 1,
    "name": "h100-sxm-datasheet",
    "match": {"gpu_name_contains": "H100"},
    "hardware": {
        "gpu_memory_bandwidth_gbps": 3350.0,
        "gpu_compute_tflops_fp16": 989.0,
        "total_ram_gb": 256.0,
        "ddr_bandwidth_gbps": 300.0,
        "unified_memory": False,
    },
}

LLMD = "llm-d empirical vLLM table, H100, vLLM v0.11 (research/planner.md §2.6)"
KV_EXACT = "KV per vLLM's page formula, validated to the byte by llm-d (§2.6)"


@dataclass(frozen=True)
class Case:
    """One model: both tools' names for it, the format asked, and what is known for sure."""

    ours: str
    llmfit: str
    kind: str
    quant: str
    llmfit_quant: str
    weights_gib: float | None = None
    """Measured weights as loaded, when published."""
    weights_source: str = ""
    tok_s: dict[str, tuple[float, str, str]] | None = None
    """GPU -> (measured tok/s at batch 1, engine, source)."""


CASES = [
    Case(
        "llama-3.1-8b-instruct",
        "meta-llama/Llama-3.1-8B-Instruct",
        "dense GQA",
        "bf16",
        "F16",
        14.99,
        LLMD,
        {"h100-sxm": (93, "vllm", "Koyeb vLLM BF16 batch 1 (planner.md §3.4)")},
    ),
    Case(
        "llama-3.1-8b-instruct",
        "meta-llama/Llama-3.1-8B-Instruct",
        "dense GQA",
        "gguf-q6_k",
        "Q6_K",
        6.14,
        "llama-quantize size table, Llama-3-8B Q6_K (planner.md §3.1)",
        {
            "rtx-4090": (
                93,
                "llamacpp",
                "llama.cpp Llama-3-8B Q6_K, github.com/dmatora/LLM-inference-speed-"
                "benchmarks/issues/10",
            )
        },
    ),
    Case("qwen3-0.6b", "Qwen/Qwen3-0.6B", "dense GQA, tied", "bf16", "F16", 1.12, LLMD),
    Case("qwen3-32b", "Qwen/Qwen3-32B", "dense GQA", "bf16", "F16", 61.03, LLMD),
    Case(
        "llama-3.3-70b-instruct",
        "meta-llama/Llama-3.3-70B-Instruct",
        "dense GQA",
        "fp8",
        "Q8_0",
        67.72,
        LLMD + " (TP1 attempt; llmfit has no FP8, asked Q8_0)",
    ),
    Case(
        "gpt-oss-20b", "openai/gpt-oss-20b", "MoE + sliding window", "mxfp4", "MXFP4", 13.47, LLMD
    ),
    Case(
        "gpt-oss-120b", "openai/gpt-oss-120b", "MoE + sliding window", "mxfp4", "MXFP4", 64.38, LLMD
    ),
    Case("deepseek-v3", "deepseek-ai/DeepSeek-V3", "MoE + MLA", "fp8", "Q8_0"),
    Case("gemma-3-27b-it", "google/gemma-3-27b-it", "dense + 5:1 sliding window", "bf16", "F16"),
    Case("qwen3-30b-a3b", "Qwen/Qwen3-30B-A3B", "MoE GQA", "bf16", "F16"),
    Case(
        "mixtral-8x7b-instruct-v0.1",
        "mistralai/Mixtral-8x7B-Instruct-v0.1",
        "MoE GQA",
        "bf16",
        "F16",
    ),
]
KV_REFERENCES = {
    ("deepseek-v3", 32768): (
        1166.62 / 1024,
        "q8_0",
        "ik_llama.cpp PR #259 log: 1166.62 MiB q8_0 cache at 32,768 ctx (planner.md §1.5)",
    ),
}
GPUS = {
    "h100-sxm": ["--profile", str(HERE / "h100-sxm-datasheet.json")],
    "rtx-4090": ["--profile", "nvidia-rtx-4090"],
}


def ensure_llmfit() -> None:
    """Install the llmfit wheel into this benchmark's own venv."""
    if LLMFIT.exists():
        return
    subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    pip = [str(VENV / "bin" / "pip"), "install", "-q", f"llmfit=={LLMFIT_VERSION}"]
    subprocess.run(pip, check=True)


def llmfit(gpu: str, case: Case, context: int) -> dict | None:
    """llmfit's plan JSON, or None when it does not know the model or format."""
    cmd = [
        str(LLMFIT),
        *GPUS[gpu],
        "plan",
        case.llmfit,
        "--context",
        str(context),
        "--quant",
        case.llmfit_quant,
        "--json",
    ]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return None


def ours(gpu: str, case: Case, context: int, engine: str) -> dict:
    """modelyard's weights + one-sequence KV (GiB) and batch-1 decode tok/s."""
    from modelyard.catalog import cached_catalog, find_model
    from modelyard.plan import (
        GIB,
        decode,
        deploy,
        get_engine,
        kv_bytes_per_sequence,
        parse_cluster,
        require_arch,
        weight_bytes,
        weight_format,
    )

    catalog = cached_catalog()
    model = find_model(catalog, case.ours)
    eng, fmt = get_engine(engine), weight_format(case.quant)
    kv_dtype = "fp16" if eng.is_gguf else "bf16"
    weights = weight_bytes(model, fmt, eng).total / GIB
    kv = kv_bytes_per_sequence(require_arch(model), context, kv_dtype) / GIB
    dep = deploy(eng, fmt, parse_cluster(catalog, gpu), kv_dtype=kv_dtype, context=context)
    speed = decode(model, dep, 1, 512).tok_s_per_sequence
    return {"weights": weights, "kv": kv, "vram": weights + kv, "tok_s": speed}


def vram_rows() -> list[dict[str, Any]]:
    """VRAM at 8k/32k for every case (GPU-independent for both tools)."""
    rows = []
    for case in CASES:
        for context in (8192, 32768):
            engine = "llamacpp" if case.quant.startswith("gguf") else "vllm"
            mine = ours("h100-sxm", case, context, engine)
            theirs = llmfit("h100-sxm", case, context)
            ref = None if case.weights_gib is None else case.weights_gib + mine["kv"]
            rows.append(
                {
                    "model_id": case.ours,
                    "design": case.kind,
                    "quant": case.quant,
                    "context": context,
                    "reference_gib": ref,
                    "reference_source": case.weights_source,
                    "modelyard_gib": mine["vram"],
                    "llmfit_gib": theirs["minimum"]["vram_gb"] if theirs else None,
                }
            )
    return rows


def kv_rows() -> list[dict[str, Any]]:
    """KV-only checks where a measured KV figure exists."""
    from modelyard.catalog import cached_catalog, find_model
    from modelyard.plan import GIB, kv_bytes_per_sequence, require_arch

    rows = []
    for (model_id, context), (gib, dtype, source) in KV_REFERENCES.items():
        case = next(c for c in CASES if c.ours == model_id)
        arch = require_arch(find_model(cached_catalog(), model_id))
        plan = llmfit("h100-sxm", case, context) or {}
        alt = {a["kv_quant"]: a["kv_cache_gb"] for a in plan.get("kv_alternatives", [])}
        rows.append(
            {
                "model_id": model_id,
                "context": context,
                "kv_dtype": dtype,
                "reference_gib": gib,
                "reference_source": source,
                "modelyard_gib": kv_bytes_per_sequence(arch, context, dtype) / GIB,
                "llmfit_gib": alt.get(dtype),
            }
        )
    return rows


def speed_rows() -> list[dict[str, Any]]:
    """Decode tok/s at batch 1 on both GPUs; measured references where published."""
    rows = []
    for case in CASES:
        for gpu in GPUS:
            ref = (case.tok_s or {}).get(gpu)
            engine = ref[1] if ref else ("llamacpp" if case.quant.startswith("gguf") else "vllm")
            plan = llmfit(gpu, case, 8192)
            rows.append(
                {
                    "model_id": case.ours,
                    "quant": case.quant,
                    "gpu": gpu,
                    "engine": engine,
                    "reference_tok_s": ref[0] if ref else None,
                    "reference_source": ref[2] if ref else "",
                    "modelyard_tok_s": ours(gpu, case, 8192, engine)["tok_s"],
                    "llmfit_tok_s": plan["run_paths"][0]["estimated_tps"] if plan else None,
                }
            )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=HERE / "results" / "latest.json")
    args = parser.parse_args()
    ensure_llmfit()
    (HERE / "h100-sxm-datasheet.json").write_text(json.dumps(H100_PROFILE, indent=2))
    report = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "llmfit": LLMFIT_VERSION,
        "vram": vram_rows(),
        "kv": kv_rows(),
        "decode": speed_rows(),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
