"""Ask modelyard's planner and llmfit the same questions; score both against references.

Usage:  .venv/bin/python benchmarks/planner_vs_llmfit/run.py  (from the repo root)

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

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

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
        weight_bytes,
        weight_format,
    )
    from modelyard.plan.weights import require_arch

    catalog = cached_catalog()
    model = find_model(catalog, case.ours)
    eng, fmt = get_engine(engine), weight_format(case.quant)
    kv_dtype = "fp16" if eng.is_gguf else "bf16"
    weights = weight_bytes(model, fmt, eng).total / GIB
    kv = kv_bytes_per_sequence(require_arch(model), context, kv_dtype) / GIB
    dep = deploy(eng, fmt, parse_cluster(catalog, gpu), kv_dtype=kv_dtype, context=context)
    speed = decode(model, dep, 1, 512).tok_s_per_sequence
    return {"weights": weights, "kv": kv, "vram": weights + kv, "tok_s": speed}


def _err(value: float | None, reference: float | None) -> str:
    if value is None or reference is None:
        return "n/a"
    return f"{(value - reference) / reference:+.1%}"


def vram_rows() -> list[list[str]]:
    """VRAM at 8k/32k for every case (GPU-independent for both tools)."""
    rows = []
    for case in CASES:
        for context in (8192, 32768):
            engine = "llamacpp" if case.quant.startswith("gguf") else "vllm"
            mine = ours("h100-sxm", case, context, engine)
            theirs = llmfit("h100-sxm", case, context)
            their_vram = theirs["minimum"]["vram_gb"] if theirs else None
            ref = None
            if case.weights_gib is not None:
                ref = case.weights_gib + mine["kv"]
            rows.append(
                [
                    case.ours,
                    case.kind,
                    case.quant,
                    f"{context // 1024}k",
                    f"{ref:.2f}" if ref else "no measurement",
                    f"{mine['vram']:.2f}",
                    _err(mine["vram"], ref),
                    f"{their_vram:.2f}" if their_vram else "not asked",
                    _err(their_vram, ref),
                ]
            )
    return rows


def kv_rows() -> list[list[str]]:
    """KV-only checks where a measured KV figure exists."""
    rows = []
    for (model_id, context), (gib, dtype, source) in KV_REFERENCES.items():
        case = next(c for c in CASES if c.ours == model_id)
        from modelyard.catalog import cached_catalog, find_model
        from modelyard.plan import GIB, kv_bytes_per_sequence
        from modelyard.plan.weights import require_arch

        arch = require_arch(find_model(cached_catalog(), model_id))
        mine = kv_bytes_per_sequence(arch, context, dtype) / GIB
        plan = llmfit("h100-sxm", case, context) or {}
        alt = {a["kv_quant"]: a["kv_cache_gb"] for a in plan.get("kv_alternatives", [])}
        theirs = alt.get(dtype)
        rows.append(
            [
                model_id,
                f"{context // 1024}k",
                dtype,
                f"{gib:.3f}",
                f"{mine:.3f}",
                _err(mine, gib),
                f"{theirs:.3f}" if theirs else "n/a",
                _err(theirs, gib),
                source,
            ]
        )
    return rows


def speed_rows() -> list[list[str]]:
    """Decode tok/s at batch 1 on both GPUs; measured references where published."""
    rows = []
    for case in CASES:
        for gpu in GPUS:
            ref = (case.tok_s or {}).get(gpu)
            engine = ref[1] if ref else ("llamacpp" if case.quant.startswith("gguf") else "vllm")
            mine = ours(gpu, case, 8192, engine)["tok_s"]
            plan = llmfit(gpu, case, 8192)
            theirs = plan["run_paths"][0]["estimated_tps"] if plan else None
            rows.append(
                [
                    case.ours,
                    case.quant,
                    gpu,
                    engine,
                    f"{ref[0]:g}" if ref else "no measurement",
                    f"{mine:.1f}",
                    _err(mine, ref[0] if ref else None),
                    f"{theirs:.1f}" if theirs else "not asked",
                    _err(theirs, ref[0] if ref else None),
                    ref[2] if ref else "",
                ]
            )
    return rows


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])


def main() -> None:
    ensure_llmfit()
    (HERE / "h100-sxm-datasheet.json").write_text(json.dumps(H100_PROFILE, indent=2))
    print("### VRAM: weights + one sequence's KV (GiB)\n")
    print(
        markdown(
            ["model", "design", "format", "ctx", "reference", "modelyard", "err", "llmfit", "err"],
            vram_rows(),
        )
    )
    print("\n### KV cache alone, where a measurement exists (GiB)\n")
    print(
        markdown(
            [
                "model",
                "ctx",
                "KV dtype",
                "reference",
                "modelyard",
                "err",
                "llmfit",
                "err",
                "source",
            ],
            kv_rows(),
        )
    )
    print("\n### Decode tok/s, batch 1, 8k context\n")
    print(
        markdown(
            [
                "model",
                "format",
                "GPU",
                "engine",
                "reference",
                "modelyard",
                "err",
                "llmfit",
                "err",
                "source",
            ],
            speed_rows(),
        )
    )


if __name__ == "__main__":
    main()
