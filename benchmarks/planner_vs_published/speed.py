"""The planner's decode and prefill times beside published ones; fit the speed factors.

Usage:  .venv/bin/python benchmarks/planner_vs_published/speed.py [--fit]

Without --fit: evaluates the shipped engine profiles (plan/data/engines.yaml) on every
reference of speed_refs.py and on the shipped H100 calibrations, and writes
results/speed.json. With --fit: fits each factor on its training references only (the
``fits`` column names which), prints the values to put in engines.yaml, then evaluates those.

Fitting order (each step holds the earlier ones):
vLLM 0.19: eta_bw and step overhead (two batch-1 Llama-3.1-8B points on H100 and A100), the
CPU floor (Qwen3-0.6B on H100, where the GPU takes ~1 ms), the sampler passes (Qwen2.5-0.5B
at concurrency 32 on L4), the all-reduce time (Llama-3.1-70B at TP4), the per-MoE-layer time
(the Qwen3-30B-A3B calibration, kernels only).
llama.cpp: eta_bw and the small-batch compute efficiency (RTX 3090 micro-batch 1 and 8), the
MMQ compute efficiency (RTX 4090 micro-batch 16); on CPUs eta_bw (5995WX tg128) and GFLOP/s
per core for AVX2 (5995WX pp512) and AVX-512 (7950X pp512).
"""

from __future__ import annotations

import json
import statistics
import sys
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

from scipy.optimize import least_squares
from speed_refs import CALIBRATIONS_TRAIN, CPU, LLAMACPP, VLLM, SpeedRef

from modelyard.catalog import cached_catalog, find_gpu, find_model
from modelyard.plan import (
    Cluster,
    CpuHost,
    Engine,
    Factor,
    calibrations,
    compare,
    decode,
    deploy,
    get_engine,
    prefill,
    weight_format,
)

HERE = Path(__file__).resolve().parent
SOURCE = "fitted (benchmarks/planner_vs_published/speed.py)"


@dataclass(frozen=True)
class SpeedRow:
    """One reference with the planner's answer."""

    engine: str
    model_id: str
    quant: str
    hardware: str
    batch: int
    context: int
    what: str
    measured_ms: float
    planned_ms: float
    error: float
    """Planned tok/s / measured tok/s - 1 (positive: the planner is too fast)."""
    role: str
    fits: str
    version: str
    source: str
    note: str


def _host(ref: SpeedRef) -> CpuHost | None:
    if ref.cpu is None:
        return None
    c = ref.cpu
    return CpuHost(c.name, c.cores, c.isa, (), c.bandwidth_gbps, c.bandwidth_basis)


def planned_ms(ref: SpeedRef, engine: Engine) -> float:
    """The planner's step (or prompt) time for ``ref``, with ``engine``'s factors."""
    catalog = cached_catalog()
    model = find_model(catalog, ref.model_id)
    gpu = find_gpu(catalog, ref.gpu)
    kv = "fp16" if engine.is_gguf else "bf16"
    dep = deploy(
        engine,
        weight_format(ref.quant),
        Cluster(gpu, ref.tp),
        kv_dtype=kv,
        context=ref.context,
        batch=ref.batch,
        host=_host(ref),
    )
    if ref.prefill:
        return prefill(model, dep, ref.context).seconds * 1e3
    return decode(model, dep, ref.batch, ref.context).step_ms


def _row(ref: SpeedRef, engine: Engine) -> SpeedRow:
    planned = planned_ms(ref, engine)
    hardware = ref.cpu.name if ref.cpu else f"{ref.tp}x{ref.gpu}"
    return SpeedRow(
        engine=f"{ref.engine} {ref.version}",
        model_id=ref.model_id,
        quant=ref.quant,
        hardware=hardware,
        batch=ref.batch,
        context=ref.context,
        what=("prefill " if ref.prefill else "decode ") + ref.metric,
        measured_ms=round(ref.measured_ms, 3),
        planned_ms=round(planned, 3),
        error=round(ref.measured_ms / planned - 1, 4),
        role=ref.role,
        fits=ref.fits,
        version=ref.version,
        source=ref.source,
        note=ref.note,
    )


def calibration_rows(engine: Engine) -> list[SpeedRow]:
    """Kernel-only decode steps of the shipped H100 calibrations (no sampler, scheduler or
    fixed overhead: the bare model), against the engine's kernel factors."""
    catalog = cached_catalog()
    rows = []
    for cal in calibrations():
        if cal.gpu_id != "h100-sxm":
            continue
        model = find_model(catalog, cal.model_id)
        check = compare(model, cal, find_gpu(catalog, cal.gpu_id), engine)
        moe = model.is_moe
        for point in check.decode:
            measured = 1e3 / point.measured_tok_s
            planned = 1e3 / point.estimated_tok_s
            layers = "" if check.full_model else f", {check.layers} of {check.model_layers} layers"
            rows.append(
                SpeedRow(
                    engine=f"bare kernels ({engine.key} factors)",
                    model_id=cal.model_id,
                    quant=cal.dtype,
                    hardware="1xh100-sxm",
                    batch=point.batch,
                    context=point.context,
                    what=f"decode step, torch {cal.torch_version}{layers}",
                    measured_ms=round(measured, 3),
                    planned_ms=round(planned, 3),
                    error=round(measured / planned - 1, 4),
                    role="train" if cal.model_id in CALIBRATIONS_TRAIN else "test",
                    fits=CALIBRATIONS_TRAIN.get(cal.model_id, ""),
                    version=f"torch {cal.torch_version}",
                    source=check.source + (" (MoE)" if moe else ""),
                    note="",
                )
            )
    return rows


def _set(engine: Engine, **values: float) -> Engine:
    """``engine`` with top-level factors replaced by fitted values."""
    update = {k: Factor(value=v, source=SOURCE) for k, v in values.items()}
    return engine.model_copy(update=update)


def _set_small(engine: Engine, eta: float) -> Engine:
    assert engine.small_batch is not None
    small = engine.small_batch.model_copy(update={"eta_compute": Factor(value=eta, source=SOURCE)})
    return engine.model_copy(update={"small_batch": small})


def _set_cpu(engine: Engine, eta: float | None = None, **gflops: float) -> Engine:
    assert engine.cpu is not None
    cores = dict(engine.cpu.core_gflops)
    for isa, value in gflops.items():
        cores[isa] = Factor(value=value, source=SOURCE)
    update: dict[str, object] = {"core_gflops": cores}
    if eta is not None:
        update["eta_bw"] = Factor(value=eta, source=SOURCE)
    return engine.model_copy(update={"cpu": engine.cpu.model_copy(update=update)})


def _solve(
    refs: list[SpeedRef],
    build: Callable[[list[float]], Engine],
    start: list[float],
    bounds: tuple[list[float], list[float]],
) -> list[float]:
    """Least squares on the relative error of ``refs`` over the parameters ``build`` takes."""

    def residuals(params: list[float]) -> list[float]:
        engine = build(list(params))
        return [planned_ms(r, engine) / r.measured_ms - 1 for r in refs]

    return [float(v) for v in least_squares(residuals, start, bounds=bounds, diff_step=1e-3).x]


def _train(refs: list[SpeedRef], fits: str) -> list[SpeedRef]:
    return [r for r in refs if r.role == "train" and fits in r.fits]


def fit_vllm() -> Engine:
    engine = get_engine("vllm@0.19")
    pts = _train(VLLM, "eta_bw")

    def residuals(params: list[float]) -> list[float]:
        trial = _set(engine, eta_bw=params[0], step_overhead_ms=params[1])
        served = [planned_ms(r, trial) / r.measured_ms - 1 for r in pts]
        kernels = [-r.error / (1 + r.error) for r in calibration_rows(trial) if r.fits == "eta_bw"]
        return served + kernels

    found = least_squares(residuals, [0.75, 0.5], bounds=([0.3, 0.0], [1.0, 5.0]), diff_step=1e-3)
    eta, over = (float(v) for v in found.x)
    engine = _set(engine, eta_bw=eta, step_overhead_ms=over)
    (floor,) = _solve(_train(VLLM, "CPU floor"), lambda p: _set(engine, cpu_floor_ms=p[0]),
                      [2.0], ([0.0], [10.0]))  # fmt: skip
    engine = _set(engine, cpu_floor_ms=floor)
    (passes,) = _solve(_train(VLLM, "sampler"), lambda p: _set(engine, sampling_passes=p[0]),
                       [20.0], ([0.0], [200.0]))  # fmt: skip
    engine = _set(engine, sampling_passes=passes)
    (comm,) = _solve(_train(VLLM, "all-reduce"), lambda p: _set(engine, allreduce_us=p[0]),
                     [10.0], ([0.0], [200.0]))  # fmt: skip
    engine = _set(engine, allreduce_us=comm)
    return _fit_moe(engine)


def _fit_moe(engine: Engine) -> Engine:
    def residuals(params: list[float]) -> list[float]:
        trial = _set(engine, moe_layer_us=params[0])
        rows = [r for r in calibration_rows(trial) if r.role == "train"]
        return [r.error for r in rows]

    (us,) = least_squares(residuals, [80.0], bounds=([0.0], [1000.0]), diff_step=1e-3).x
    return _set(engine, moe_layer_us=float(us))


def fit_llamacpp() -> Engine:
    engine = get_engine("llamacpp")
    pts = _train(LLAMACPP, "small-batch")

    def build(p: list[float]) -> Engine:
        return _set_small(_set(engine, eta_bw=p[0]), p[1])

    eta, small = _solve(pts, build, [0.8, 0.2], ([0.3, 0.01], [1.0, 1.0]))
    engine = build([eta, small])
    (mmq,) = _solve(_train(LLAMACPP, "MMQ"), lambda p: _set(engine, eta_compute=p[0]),
                    [0.5], ([0.01], [1.0]))  # fmt: skip
    engine = _set(engine, eta_compute=mmq)
    (cpu_eta,) = _solve(_train(CPU, "CPU eta_bw"), lambda p: _set_cpu(engine, eta=p[0]),
                        [0.6], ([0.1], [1.0]))  # fmt: skip
    engine = _set_cpu(engine, eta=cpu_eta)
    (avx2,) = _solve(_train(CPU, "AVX2"), lambda p: _set_cpu(engine, avx2=p[0]),
                     [50.0], ([1.0], [1000.0]))  # fmt: skip
    (avx512,) = _solve(_train(CPU, "AVX-512"), lambda p: _set_cpu(engine, avx512=p[0]),
                       [100.0], ([1.0], [1000.0]))  # fmt: skip
    return _set_cpu(engine, avx2=avx2, avx512=avx512, amx=2 * avx512)


def _summary(rows: list[SpeedRow]) -> dict[str, object]:
    def stats(selected: list[SpeedRow]) -> dict[str, object]:
        errors = [abs(r.error) for r in selected]
        return {
            "n": len(errors),
            "median_abs_error": round(statistics.median(errors), 4) if errors else None,
            "max_abs_error": round(max(errors), 4) if errors else None,
            "within_10pct": sum(e <= 0.10 for e in errors),
        }

    return {role: stats([r for r in rows if r.role == role]) for role in ("train", "test")}


def evaluate(vllm: Engine, llamacpp: Engine) -> dict[str, list[SpeedRow]]:
    return {
        "vllm": [_row(r, vllm) for r in VLLM],
        "calibrations": calibration_rows(vllm),
        "llamacpp_gpu": [_row(r, llamacpp) for r in LLAMACPP],
        "llamacpp_cpu": [_row(r, llamacpp) for r in CPU],
    }


def as_json(vllm: Engine, llamacpp: Engine, groups: dict[str, list[SpeedRow]]) -> dict[str, object]:
    return {
        "profiles": {"vllm": vllm.key, "llamacpp": llamacpp.key},
        "summary": {name: _summary(rows) for name, rows in groups.items()},
        "rows": {name: [asdict(r) for r in rows] for name, rows in groups.items()},
    }


def _print(groups: dict[str, list[SpeedRow]]) -> None:
    for name, rows in groups.items():
        print(f"\n## {name}")
        for r in rows:
            print(
                f"{r.role:8} {r.model_id[:28]:28} {r.quant:11} {r.hardware[:24]:24} "
                f"b{r.batch:<3} ctx{r.context:<6} measured {r.measured_ms:8.3f} "
                f"planned {r.planned_ms:8.3f} err {r.error:+.1%}"
            )
    print(json.dumps({name: _summary(rows) for name, rows in groups.items()}, indent=1))


def main() -> None:
    if "--fit" in sys.argv:
        vllm, llamacpp = fit_vllm(), fit_llamacpp()
        for engine in (vllm, llamacpp):
            print(engine.key, engine.model_dump(include={"eta_bw", "step_overhead_ms",
                  "cpu_floor_ms", "sampling_passes", "allreduce_us", "moe_layer_us",
                  "eta_compute", "small_batch", "cpu"}))  # fmt: skip
    else:
        vllm, llamacpp = get_engine("vllm@0.19"), get_engine("llamacpp")
    groups = evaluate(vllm, llamacpp)
    _print(groups)
    if "--fit" not in sys.argv:
        out = HERE / "results" / "speed.json"
        result = as_json(vllm, llamacpp, groups)
        out.write_text(json.dumps(result, indent=1) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
