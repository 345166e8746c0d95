"""The planner against published figures, with llmfit asked the same questions beside it.

Usage:  .venv/bin/python benchmarks/planner_vs_published/run.py  (from the repo root)

Memory: every llm-d-planner vLLM 0.19.0 startup log of a catalog model (references.py): weights
per GPU, KV pool, KV tokens, maximum concurrency at max_model_len, and whether the run
started. Speed: speed_refs.py (served vLLM TPOT/ITL, llama-bench on GPUs and CPUs) and the
shipped H100 calibrations (speed.py). llmfit (PyPI wheel, installed into
benchmarks/planner_vs_llmfit/.venv as that benchmark does) answers what it can: memory needed
(``minimum.vram_gb``), whether the run fits (``--memory`` = the run's GPUs × 80G, gpu path
feasible and not TooTight) and batch-1 tok/s (``run_paths[gpu|cpu_only].estimated_tps`` with a
profile holding the GPU's or host's bandwidth and FLOPS). It has no tensor parallelism, KV pool
or batch: those rows say "not asked".

Writes results/latest.json (docs/PERFORMANCE.md, "Planner vs published", is rendered from it by
summary.py) and prints every row for a look at the terminal.
"""

from __future__ import annotations

import json
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from memory import MemoryRow, memory_rows
from speed import SpeedRow, evaluate
from speed_refs import CPU, LLAMACPP, VLLM, SpeedRef

from modelyard.catalog import cached_catalog
from modelyard.plan import get_engine

HERE = Path(__file__).resolve().parent
LLMFIT_VENV = HERE.parent / "planner_vs_llmfit" / ".venv"
LLMFIT = LLMFIT_VENV / "bin" / "llmfit"
LLMFIT_VERSION = "1.1.17"
LLMFIT_QUANT = {
    "bf16": "F16",
    "fp16": "F16",
    "fp8": "Q8_0",
    "int8": "Q8_0",
    "gptq": "Q4_K_M",
    "mxfp4": "MXFP4",
    "gguf-q4_0": "Q4_0",
    "gguf-q4_k_m": "Q4_K_M",
}
"""llmfit's nearest quantization name (it has no FP8, INT8 or GPTQ: asked the same bits)."""


def ensure_llmfit() -> bool:
    """llmfit in the sibling benchmark's venv; False (and the llmfit columns empty) if it
    cannot be installed here."""
    if LLMFIT.exists():
        return True
    try:
        subprocess.run([sys.executable, "-m", "venv", str(LLMFIT_VENV)], check=True)
        pip = [str(LLMFIT_VENV / "bin" / "pip"), "install", "-q", f"llmfit=={LLMFIT_VERSION}"]
        subprocess.run(pip, check=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return LLMFIT.exists()


def llmfit(args: list[str]) -> dict[str, Any] | None:
    """llmfit's JSON answer, or None when it does not know the model or format."""
    done = subprocess.run(
        [str(LLMFIT), *args, "--json"], capture_output=True, text=True, timeout=120, check=False
    )
    try:
        data: dict[str, Any] = json.loads(done.stdout)
    except json.JSONDecodeError:
        return None
    return data


def _path(plan: dict[str, Any] | None, name: str) -> dict[str, Any] | None:
    if plan is None:
        return None
    return next((p for p in plan.get("run_paths", []) if p["path"] == name), None)


def llmfit_memory(row: MemoryRow) -> dict[str, Any]:
    """llmfit's memory need and verdict for one vLLM run (the whole of its GPUs, no TP)."""
    run = row.run
    quant = LLMFIT_QUANT.get(run.quant)
    if quant is None:
        return {}
    gpus = run.tp * run.pp
    plan = llmfit(
        [
            "--memory",
            f"{80 * gpus}G",
            "plan",
            run.repo,
            "--context",
            str(run.context),
            "--quant",
            quant,
        ]
    )
    gpu = _path(plan, "gpu")
    if plan is None or gpu is None:
        return {}
    return {
        "vram_gb": plan["minimum"]["vram_gb"],
        "fits": bool(gpu["feasible"]) and gpu["fit_level"] != "TooTight",
        "fit_level": gpu["fit_level"],
    }


def _profile(ref: SpeedRef, folder: Path) -> Path:
    """An llmfit hardware profile with the reference's GPU (or CPU host) figures."""
    if ref.cpu is not None:
        hardware = {  # no GPU fields: llmfit refuses zero bandwidth
            "total_ram_gb": 256.0,
            "ddr_bandwidth_gbps": ref.cpu.bandwidth_gbps,
            "unified_memory": False,
        }
    else:
        gpu = cached_catalog().gpus[ref.gpu]
        hardware = {
            "gpu_memory_bandwidth_gbps": gpu.bandwidth_gbps * ref.tp,
            "gpu_compute_tflops_fp16": (gpu.bf16_tflops or 0.0) * ref.tp,
            "total_ram_gb": 256.0,
            "ddr_bandwidth_gbps": 100.0,
            "unified_memory": False,
        }
    name = re.sub(
        r"[^a-z0-9]+", "-", f"{ref.gpu}-{ref.tp}-{ref.cpu.name if ref.cpu else ''}".lower()
    )
    name = name.strip("-")
    path = folder / f"{name}.json"
    match = {"gpu_name_contains": "none"}  # scored as told, never matched to this machine
    profile = {"schema_version": 1, "name": name, "match": match, "hardware": hardware}
    path.write_text(json.dumps(profile), encoding="utf-8")
    return path


def llmfit_speed(ref: SpeedRef, folder: Path) -> float | None:
    """llmfit's batch-1 tok/s for a decode reference (None: not a question it answers)."""
    quant = LLMFIT_QUANT.get(ref.quant)
    repo = cached_catalog().models[ref.model_id].hf_repo
    if quant is None or repo is None or ref.prefill or ref.batch != 1:
        return None
    args = ["--profile", str(_profile(ref, folder)), "plan", repo, "--context", str(ref.context)]
    path = _path(llmfit([*args, "--quant", quant]), "cpu_only" if ref.cpu else "gpu")
    return float(path["estimated_tps"]) if path and path.get("estimated_tps") else None


def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def memory_summary(rows: list[MemoryRow], theirs: list[dict[str, Any]]) -> dict[str, Any]:
    def errors(name: str) -> list[float]:
        return [abs(e) for r in rows if r.run.ok and (e := r.error(name)) is not None]

    judged = [(r, t) for r, t in zip(rows, theirs, strict=True) if r.verdict != "n/a"]
    return {
        "runs": len(rows),
        "started": sum(r.run.ok for r in rows),
        **{
            name: {
                "median_abs_error": _median(errors(name)),
                "max_abs_error": round(max(errors(name)), 4),
                "within": sum(e <= (0.02 if name == "weights" else 0.05) for e in errors(name)),
                "of": len(errors(name)),
            }
            for name in ("weights", "kv_pool", "kv_tokens", "concurrency")
        },
        "verdicts": {
            "judged": len(judged),
            "wrong": [r.run.log for r, _ in judged if r.verdict == "wrong"],
            "llmfit_wrong": [r.run.log for r, t in judged if t and t["fits"] != r.run.ok],
            "llmfit_not_asked": sum(1 for _, t in judged if not t),
        },
    }


def _memory_json(rows: list[MemoryRow], theirs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {
            "log": r.run.log,
            "model_id": r.run.model_id,
            "quant": r.run.quant,
            "kv_dtype": r.run.kv_dtype,
            "tp": r.run.tp,
            "pp": r.run.pp,
            "context": r.run.context,
            "gpu_util": r.run.gpu_util,
            "started": r.run.ok,
            "error": r.run.error,
            "train": r.run.train,
            "measured": {
                "weights_gib": r.run.weights_gib,
                "kv_pool_gib": r.run.kv_pool_gib,
                "kv_tokens": r.run.kv_tokens,
                "concurrency": r.run.concurrency,
            },
            "planned": {
                "weights_gib": round(r.weights_gib, 3),
                "kv_pool_gib": round(r.kv_pool_gib, 3),
                "kv_tokens": r.kv_tokens,
                "concurrency": round(r.concurrency, 2),
                "fits": r.fits and not r.warnings,
                "warnings": r.warnings,
            },
            "verdict": r.verdict,
            "llmfit": t or None,
        }
        for r, t in zip(rows, theirs, strict=True)
    ]


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{value:+.1%}"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])


def memory_table(rows: list[MemoryRow], theirs: list[dict[str, Any]]) -> str:
    out = []
    for r, t in zip(rows, theirs, strict=True):
        run = r.run
        shape = f"TP{run.tp}" + (f" PP{run.pp}" if run.pp > 1 else "")
        llmfit_fit = "n/a" if not t else ("fits" if t["fits"] else "no")
        out.append(
            [
                run.model_id + (" (fit)" if run.train else ""),
                f"{run.quant}/{run.kv_dtype}",
                shape,
                f"{run.context // 1024}k",
                f"{run.gpu_util:g}",
                _pct(r.error("weights")),
                _pct(r.error("kv_pool")),
                _pct(r.error("concurrency")),
                ("started" if run.ok else "failed") + f" / {r.verdict}",
                llmfit_fit,
            ]
        )
    header = ["model", "weights/KV", "split", "ctx", "gmu", "weights", "KV pool", "sessions",
              "vLLM / planner verdict", "llmfit says"]  # fmt: skip
    return markdown(header, out)


def speed_table(rows: list[SpeedRow], theirs: dict[int, float | None]) -> str:
    out = []
    for i, r in enumerate(rows):
        decode = r.what.startswith("decode")
        mine = 1000 / r.planned_ms * (r.batch if decode else r.context)
        measured = 1000 / r.measured_ms * (r.batch if decode else r.context)
        point = f"b{r.batch}" if decode else f"pp{r.context}"
        llm = theirs.get(i)
        out.append(
            [
                r.model_id,
                r.quant,
                r.hardware,
                r.engine,
                point,
                f"{measured:,.1f}",
                f"{mine:,.1f}",
                _pct(r.error),
                r.role,
                "not asked" if llm is None else f"{llm:,.1f} ({_pct(llm / measured - 1)})",
            ]
        )
    header = ["model", "weights", "hardware", "engine", "point", "published tok/s",
              "modelyard", "err", "role", "llmfit (err)"]  # fmt: skip
    return markdown(header, out)


def main() -> None:
    have_llmfit = ensure_llmfit()
    rows = memory_rows()
    theirs = [llmfit_memory(r) if have_llmfit else {} for r in rows]
    vllm, llamacpp = get_engine("vllm@0.19"), get_engine("llamacpp")
    groups = evaluate(vllm, llamacpp)
    refs = {"vllm": VLLM, "llamacpp_gpu": LLAMACPP, "llamacpp_cpu": CPU}
    speed_llmfit: dict[str, dict[int, float | None]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, group in refs.items():
            speed_llmfit[name] = {
                i: llmfit_speed(ref, Path(tmp)) if have_llmfit else None
                for i, ref in enumerate(group)
            }
    result: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "profiles": {"vllm": vllm.key, "llamacpp": llamacpp.key},
        "llmfit": LLMFIT_VERSION if have_llmfit else None,
        "memory": {
            "summary": memory_summary(rows, theirs),
            "runs": _memory_json(rows, theirs),
        },
        "speed": {
            name: [
                {**asdict(r), "llmfit_tok_s": speed_llmfit.get(name, {}).get(i)}
                for i, r in enumerate(group)
            ]
            for name, group in groups.items()
        },
    }
    (HERE / "results" / "latest.json").write_text(
        json.dumps(result, indent=1) + "\n", encoding="utf-8"
    )
    print(json.dumps(result["memory"]["summary"], indent=1))
    print("\n### Memory: vLLM 0.19.0 startup logs (planned / logged - 1)\n")
    print(memory_table(rows, theirs))
    for name, group in groups.items():
        print(f"\n### Speed: {name}\n")
        print(speed_table(group, speed_llmfit.get(name, {})))


if __name__ == "__main__":
    main()
