"""Fit the vLLM 0.19 memory factors on the training runs; report the error on held-out runs.

Usage:  .venv/bin/python benchmarks/planner_vs_published/fit.py

Fits, on the runs of references.TRAIN_MODELS only:
- non-torch memory per GPU: the median of vLLM's 'non-torch forward increase' at TP1, at
  TP > 1 and at PP > 1;
- the activation model (plan/engines.py ActivationModel): forward bytes, sampler bytes, MoE
  workspace scale and multimodal extra, by least squares on the relative error of vLLM's
  'torch peak memory increase' (pipeline runs excluded: vLLM reports the first stage, which
  runs no sampler).
Prints the values to put in plan/data/engines.yaml and writes results/fit.json with the
activation error on the training and the held-out runs. The planner itself is what is fitted:
each candidate is an engine profile run through plan/reserves.py.
"""

from __future__ import annotations

import json
import statistics
from pathlib import Path

from references import VllmRun, vllm_runs
from scipy.optimize import least_squares

from modelyard.catalog import cached_catalog, find_gpu, find_model
from modelyard.plan import (
    ActivationModel,
    Cluster,
    Engine,
    Factor,
    deploy,
    engine_reserves,
    get_engine,
    weight_format,
)

HERE = Path(__file__).resolve().parent
SOURCE = "fitted on vLLM 0.19.0 training runs (benchmarks/planner_vs_published/fit.py)"


def _engine(params: list[float]) -> Engine:
    base = get_engine("vllm@0.19")
    act = ActivationModel(
        forward_bytes=Factor(value=params[0], source=SOURCE),
        sampler_bytes=Factor(value=params[1], source=SOURCE),
        moe_scale=Factor(value=params[2], source=SOURCE),
        multimodal_gib=Factor(value=params[3], source=SOURCE),
    )
    return base.model_copy(update={"activation": act})


def activation(run: VllmRun, engine: Engine) -> float:
    catalog = cached_catalog()
    cluster = Cluster(find_gpu(catalog, "h100-sxm"), run.tp * run.pp)
    dep = deploy(engine, weight_format(run.quant), cluster, pp=run.pp, context=run.context)
    found = engine_reserves(find_model(catalog, run.model_id), dep)
    return next(r.gib for r in found if r.name == "activation peak")


def _usable(run: VllmRun) -> bool:
    return run.ok and run.pp == 1 and run.activation_gib is not None


def fit_activation(train: list[VllmRun]) -> list[float]:
    def residuals(params: list[float]) -> list[float]:
        engine = _engine(list(params))
        return [activation(r, engine) / (r.activation_gib or 1) - 1 for r in train]

    found = least_squares(residuals, [9.0, 15.0, 1.0, 0.2], bounds=([0, 0, 0, 0], [50, 50, 5, 2]))
    return [round(float(v), 2) for v in found.x]


def non_torch(train: list[VllmRun]) -> dict[str, float]:
    def median(runs: list[VllmRun]) -> float:
        return round(statistics.median(r.non_torch_gib or 0.0 for r in runs), 2)

    ok = [r for r in train if r.ok and r.non_torch_gib is not None]
    return {
        "single": median([r for r in ok if r.tp == 1 and r.pp == 1]),
        "tensor_parallel": median([r for r in ok if r.tp > 1]),
        "pipeline": median([r for r in ok if r.pp > 1]),
    }


def _errors(runs: list[VllmRun], engine: Engine) -> list[dict[str, object]]:
    return [
        {
            "log": r.log,
            "measured_gib": r.activation_gib,
            "planned_gib": round(activation(r, engine), 3),
            "error": round(activation(r, engine) / (r.activation_gib or 1) - 1, 4),
        }
        for r in runs
    ]


def main() -> None:
    runs = [r for r in vllm_runs() if _usable(r)]
    train = [r for r in runs if r.train]
    held = [r for r in runs if not r.train]
    params = fit_activation(train)
    engine = _engine(params)
    names = ("forward_bytes", "sampler_bytes", "moe_scale", "multimodal_gib")
    errors = {"train": _errors(train, engine), "held_out": _errors(held, engine)}
    result: dict[str, object] = {
        "activation": dict(zip(names, params, strict=True)),
        "non_torch": non_torch([r for r in vllm_runs() if r.train]),
        **errors,
    }
    (HERE / "results" / "fit.json").write_text(
        json.dumps(result, indent=1) + "\n", encoding="utf-8"
    )
    for name, rows in errors.items():
        errs = [abs(float(str(e["error"]))) for e in rows]
        print(
            f"{name}: {len(errs)} runs, activation |error| "
            f"median {statistics.median(errs):.1%}, max {max(errs):.1%}"
        )
    print(json.dumps({k: result[k] for k in ("activation", "non_torch")}, indent=1))


if __name__ == "__main__":
    main()
