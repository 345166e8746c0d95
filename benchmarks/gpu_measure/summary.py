"""GPU measurements: `yard measure` on a GPU against the planner and llmfit (report.py's file)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfdoc import Section, error, load, num, pct, table

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
COMMAND = """bash benchmarks/gpu_measure/wheels.sh     # the .whl folder the GPU session carries
bash benchmarks/gpu_measure/run_all.sh    # on the GPU (device tool); JSON files land in $OUT
cp $OUT/*.json src/modelyard/plan/data/calibrations/
.venv/bin/python benchmarks/gpu_measure/report.py"""
Model = dict[str, Any]


def _name(m: Model) -> str:
    return m["model_id"] + (f" ({m['layers']}/{m['model_layers']} layers)" if m["layers"] else "")


def _memory(m: Model) -> list[object]:
    measured, planned = m["weights_measured_gib"], m["weights_planned_gib"]
    return [_name(m), num(measured, 2), num(planned, 2), pct(error(planned, measured)),
            num(m["with_kv_measured_gib"], 2), num(m["with_kv_planned_gib"], 2),
            num(m["llmfit_vram_gib"], 2)]  # fmt: skip


def _decode(m: Model) -> list[list[object]]:
    return [[_name(m), d["batch"], num(d["context"]), num(d["measured_tok_s"], 1),
             num(d["planned_tok_s"], 1), pct(d["error"]), num(d["achieved_eta_bw"], 2),
             num(m["llmfit_tok_s"], 1) if d["batch"] == 1 and m["llmfit_tok_s"] else ""]
            for d in m["decode"]]  # fmt: skip


def _prefill(m: Model) -> list[list[object]]:
    return [[_name(m), num(f["tokens"]), num(f["measured_ms"], 1), num(f["planned_ms"], 1),
             pct(f["error"]), num(f["achieved_eta_compute"], 2)] for f in m["prefill"]]  # fmt: skip


def section() -> Section:
    run = load(RESULTS)
    models = run["models"]
    if not models:
        return Section(
            title="GPU measurements",
            command=COMMAND,
            results=(RESULTS,),
            when="not yet: no GPU session has run the grid",
            body="Pending: the results file holds no calibration, so this section has no figure.",
            notes="The code path is tested on CPU with tiny architectures (`tests/measure/`).",
        )
    ctx = f"{num(run['context'] / 1024)}k"
    body = (
        f"Memory, GiB (weights; weights + one {ctx} sequence's KV; llmfit at F16, {ctx}):\n\n"
        + table(
            ["model", "weights", "planned", "err", f"+KV {ctx}", "planned", "llmfit"],
            [_memory(m) for m in models],
        )
        + "\n\nDecode tok/s per sequence (llmfit: batch 1):\n\n"
        + table(
            ["model", "batch", "ctx", "measured", "planned", "err", "eta_bw", "llmfit"],
            [row for m in models for row in _decode(m)],
        )
        + "\n\nPrefill, batch 1 (eager), ms:\n\n"
        + table(
            ["model", "tokens", "measured", "planned", "vs planned", "eta_compute"],
            [row for m in models for row in _prefill(m)],
        )
    )
    return Section(
        title="GPU measurements",
        command=COMMAND,
        results=(RESULTS,),
        when=f"{run['date']} on {run['device']} (driver {run['driver']}, torch {run['torch']}), "
        f"{run['dtype']}, random weights; llmfit {run['llmfit']}",
        body=body,
        notes=(
            f"Timing: {run['timing_basis']}. Planned = modelyard's vLLM factors without the "
            "engine step overhead (the measurement has no scheduler); decode's `err` is "
            "planned against measured, prefill's `vs planned` measured against planned "
            "(positive: slower than planned). The calibration files ship in "
            "`src/modelyard/plan/data/calibrations/`, where `yard plan` reads them. Scaled "
            "models keep the exact layer shapes with fewer layers. Prefill at 1k tokens is "
            "bound by eager kernel launches, and sliding-window and MoE layers run without "
            "serving kernels, so those rows measure the harness rather than the GPU. What the "
            "tables show, and how the step was made fast enough to measure: "
            'performance-history.md, "GPU measurements: what they show". Method: '
            "docs/measure.md."
        ),
    )
