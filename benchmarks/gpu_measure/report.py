"""Write docs/PERFORMANCE.md's "GPU measurements" section from the shipped calibrations.

Usage (dev machine, after run_all.sh's JSON files were copied into
src/modelyard/plan/data/calibrations/, where `yard plan` reads them):
    .venv/bin/python benchmarks/gpu_measure/report.py [DIR]

Per model: measured vs planned (modelyard) vs llmfit for weights + one 8k sequence's KV, and
decode tok/s per sequence over the grid. With no calibration files the section says the run is
pending; no figure is ever written that a calibration file does not hold.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import cache
from pathlib import Path
from types import ModuleType

from modelyard.catalog import cached_catalog, find_gpu
from modelyard.measure import Calibration, load_calibrations, measured_architecture
from modelyard.plan import GIB, compare, get_engine, kv_bytes_per_sequence
from modelyard.plan.measured import SHIPPED

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DOC = ROOT / "docs" / "PERFORMANCE.md"
HEADING = "## GPU measurements"
CONTEXT = 8192
COMMANDS = """Commands: on a GPU session, `bash benchmarks/gpu_measure/run_all.sh` through the
device tool (carry `.whl`, made by `benchmarks/gpu_measure/wheels.sh`); copy the JSON files it
leaves in `$OUT` into `src/modelyard/plan/data/calibrations/` (shipped: `yard plan` reads them);
then `.venv/bin/python benchmarks/gpu_measure/report.py` rewrites this section. Method:
docs/measure.md."""


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


def _err(value: float, reference: float) -> str:
    return f"{(value - reference) / reference:+.1%}"


Rows = list[list[str]]


def _rows(cal: Calibration) -> tuple[list[str], Rows, Rows]:
    catalog = cached_catalog()
    model = catalog.models[cal.model_id]
    check = compare(model, cal, find_gpu(catalog, cal.gpu_id or ""), get_engine("vllm"))
    arch = measured_architecture(model.architecture, cal.layers)  # type: ignore[arg-type]
    theirs = _llmfit(cal)
    name = cal.model_id + (f" ({cal.layers} of {cal.model_layers} layers)" if cal.scaled else "")
    point = next((p for p in cal.decode if (p.batch, p.context) == (1, CONTEXT)), None)
    kv = kv_bytes_per_sequence(arch, CONTEXT, cal.dtype) / GIB
    planned = check.weights_estimated_gib + kv
    measured = cal.weights_gib + point.kv_cache_gib if point and point.kv_cache_gib else None
    their_vram = theirs["minimum"]["vram_gb"] if theirs else None
    memory = [
        name,
        f"{cal.weights_gib:.2f}",
        f"{check.weights_estimated_gib:.2f}",
        _err(check.weights_estimated_gib, cal.weights_gib),
        f"{measured:.2f}" if measured else "not measured",
        f"{planned:.2f}",
        f"{their_vram:.2f}" if their_vram else "n/a",
    ]
    their_tps = theirs["run_paths"][0]["estimated_tps"] if theirs else None
    speed = [
        [
            name,
            str(d.batch),
            f"{d.context:,}",
            f"{d.measured_tok_s:,.1f}",
            f"{d.estimated_tok_s:,.1f}",
            f"{d.error:+.1%}",
            f"{d.achieved_eta_bw:.2f}",
            f"{their_tps:.1f}" if their_tps and d.batch == 1 else "",
        ]
        for d in check.decode
    ]
    prefill = [
        [
            name,
            f"{f.tokens:,}",
            f"{f.measured_ms:,.1f}",
            f"{f.estimated_ms:,.1f}",
            f"{f.error:+.1%}",
            f"{f.achieved_eta_compute:.2f}",
        ]
        for f in check.prefill
    ]
    return memory, speed, prefill


def _table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(r) + " |" for r in rows)])


def section(cals: list[Calibration]) -> str:
    """The section's markdown: the tables, or a plain 'pending' when nothing was measured."""
    if not cals:
        return (
            f"{HEADING}\n\nPending: no GPU session has run the grid yet, so this section holds "
            "no figures. The code path is tested on CPU with tiny architectures "
            "(`tests/measure/`).\n\n"
            f"{COMMANDS}\n"
        )
    memory, speed, prefill = zip(*(_rows(c) for c in cals), strict=True)
    first = cals[0]
    head = (
        f"{HEADING}\n\nMeasured with `yard measure` on {first.device_name} (driver "
        f"{first.driver}, torch {first.torch_version}, {first.date:%Y-%m-%d}), {first.dtype}, "
        f"random weights. {first.timing_basis}. Planned = modelyard's vLLM factors without the "
        "engine step overhead (the measurement has no scheduler); llmfit = `plan --json` at "
        "F16, 8k.\n\n"
        f"{COMMANDS}\n"
    )
    mem_cols = ["model", "weights measured GiB", "planned", "err", "weights+KV 8k measured",
                "planned", "llmfit"]  # fmt: skip
    speed_cols = ["model", "batch", "context", "measured tok/s/seq", "planned", "err",
                  "achieved eta_bw", "llmfit (batch 1)"]  # fmt: skip
    prefill_cols = ["model", "prompt tokens", "measured ms", "planned ms", "measured vs planned",
                    "achieved eta_compute"]  # fmt: skip
    return (
        f"{head}\n### Memory (GiB)\n\n{_table(mem_cols, list(memory))}\n\n"
        f"### Decode tok/s per sequence\n\n{_table(speed_cols, [r for s in speed for r in s])}\n\n"
        f"### Prefill, batch 1 (eager)\n\n{_table(prefill_cols, [r for p in prefill for r in p])}\n"
    )


def write(text: str) -> None:
    """Replace (or append) the section in docs/PERFORMANCE.md."""
    doc = DOC.read_text(encoding="utf-8")
    start = doc.find(HEADING)
    if start < 0:
        DOC.write_text(doc.rstrip("\n") + "\n\n" + text, encoding="utf-8")
        return
    end = doc.find("\n## ", start + len(HEADING))
    rest = doc[end + 1 :] if end >= 0 else ""
    DOC.write_text(doc[:start] + text + ("\n" + rest if rest else ""), encoding="utf-8")


if __name__ == "__main__":
    results = Path(sys.argv[1]) if len(sys.argv) > 1 else SHIPPED
    write(section(load_calibrations(results)))
