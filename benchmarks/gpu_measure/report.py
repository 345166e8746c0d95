"""The GPU measurements beside the planner and llmfit, into results/latest.json.

Usage (dev machine, after run_all.sh's JSON files were copied into
src/modelyard/plan/data/calibrations/, where `yard plan` reads them):
    .venv/bin/python benchmarks/gpu_measure/report.py [DIR]
    .venv/bin/python benchmarks/performance.py     # then docs/PERFORMANCE.md, "GPU measurements"

Per calibration file: measured vs planned (modelyard's vLLM factors without the engine step
overhead) vs llmfit for the weights and weights + one 8k sequence's KV, decode tok/s per sequence
over the grid, and eager prefill. summary.py renders the section from the results file; with no
calibration files it says the run is pending. No figure is written that a calibration file or
the planner does not give.
"""

from __future__ import annotations

import importlib.util
import json
import sys
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

from modelyard.catalog import cached_catalog, find_gpu
from modelyard.measure import Calibration, load_calibrations, measured_architecture
from modelyard.plan import (
    GIB,
    SHIPPED_CALIBRATIONS,
    compare,
    get_engine,
    kv_bytes_per_sequence,
)

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results" / "latest.json"
CONTEXT = 8192


@cache
def _llmfit_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "vs", HERE.parent / "planner_vs_llmfit" / "run.py"
    )
    module = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["vs"] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module


def _llmfit(cal: Calibration) -> dict | None:
    """llmfit's plan (F16, 8k) for a full-size model on a GPU it has a profile for."""
    vs = _llmfit_module()
    model = cached_catalog().models[cal.model_id]
    if cal.scaled or cal.gpu_id not in vs.GPUS or not model.hf_repo:
        return None
    vs.ensure_llmfit()
    case = vs.Case(cal.model_id, model.hf_repo, "", "bf16", "F16")
    return vs.llmfit(cal.gpu_id, case, CONTEXT)


def _model(cal: Calibration) -> dict[str, Any]:
    """One calibration file beside the planner's and llmfit's answers."""
    catalog = cached_catalog()
    model = catalog.models[cal.model_id]
    check = compare(model, cal, find_gpu(catalog, cal.gpu_id or ""), get_engine("vllm"))
    arch = measured_architecture(model.architecture, cal.layers)
    theirs = _llmfit(cal)
    point = next((p for p in cal.decode if (p.batch, p.context) == (1, CONTEXT)), None)
    kv = kv_bytes_per_sequence(arch, CONTEXT, cal.dtype) / GIB
    measured = cal.weights_gib + point.kv_cache_gib if point and point.kv_cache_gib else None
    return {
        "model_id": cal.model_id,
        "layers": cal.layers if cal.scaled else None,
        "model_layers": cal.model_layers,
        "weights_measured_gib": cal.weights_gib,
        "weights_planned_gib": check.weights_estimated_gib,
        "with_kv_measured_gib": measured,
        "with_kv_planned_gib": check.weights_estimated_gib + kv,
        "llmfit_vram_gib": theirs["minimum"]["vram_gb"] if theirs else None,
        "llmfit_tok_s": theirs["run_paths"][0]["estimated_tps"] if theirs else None,
        "decode": [
            {
                "batch": d.batch,
                "context": d.context,
                "measured_tok_s": d.measured_tok_s,
                "planned_tok_s": d.estimated_tok_s,
                "error": d.error,
                "achieved_eta_bw": d.achieved_eta_bw,
            }
            for d in check.decode
        ],
        "prefill": [
            {
                "tokens": f.tokens,
                "measured_ms": f.measured_ms,
                "planned_ms": f.estimated_ms,
                "error": f.error,
                "achieved_eta_compute": f.achieved_eta_compute,
            }
            for f in check.prefill
        ],
    }


def report(cals: list[Calibration]) -> dict[str, Any]:
    """The results file's content: the run's conditions and one entry per calibration."""
    if not cals:
        return {"device": None, "models": []}
    first = cals[0]
    return {
        "device": first.device_name,
        "driver": first.driver,
        "torch": first.torch_version,
        "date": f"{first.date:%Y-%m-%d}",
        "dtype": first.dtype,
        "timing_basis": first.timing_basis,
        "llmfit": _llmfit_module().LLMFIT_VERSION,
        "context": CONTEXT,
        "models": [_model(c) for c in cals],
    }


if __name__ == "__main__":
    calibrations = Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED_CALIBRATIONS
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(report(load_calibrations(calibrations)), indent=1) + "\n"
    RESULTS.write_text(text, encoding="utf-8")
    print(f"wrote {RESULTS.relative_to(HERE.parents[1])}")
