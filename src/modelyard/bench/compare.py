"""The planner's prediction beside the measurement, per load level.

For each step the planner is asked about a batch of the measured mean concurrency and a context
of the mean input plus half the mean output: prefill gives the predicted TTFT (no queueing),
one decode step the predicted TPOT, and ``batch`` sequences per step the output tokens/s.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from modelyard.bench.metrics import Summary
from modelyard.catalog import cached_catalog, find_model
from modelyard.catalog.schema import Model
from modelyard.errors import YardError
from modelyard.plan import (
    Deployment,
    decode,
    deploy,
    get_engine,
    parse_cluster,
    prefill,
    start_format,
    weight_format,
)


class PlanRow(BaseModel):
    """One metric at one load level: predicted, measured and measured / predicted."""

    model_config = ConfigDict(extra="forbid")

    load: str
    batch: int
    metric: str
    predicted: float
    measured: float | None
    ratio: float | None


class PlanComparison(BaseModel):
    """What the planner said against what the endpoint did."""

    model_config = ConfigDict(extra="forbid")

    model_id: str
    gpu: str
    engine: str
    quant: str
    rows: list[PlanRow]
    basis: list[str]
    """How the planner reached its figures (its own basis lines, first step)."""


def compare_plan(
    steps: list[Summary], model: str, gpu: str, engine: str = "vllm", quant: str | None = None
) -> PlanComparison:
    """Predict every step's TTFT, TPOT and output tokens/s with the planner and pair them.

    Raises:
        YardError: the model or GPU is unknown to the catalog, or the planner cannot size it.
    """
    catalog = cached_catalog()
    chosen = find_model(catalog, model)
    cluster = parse_cluster(catalog, gpu)
    eng = get_engine(engine)
    fmt = weight_format(start_format(chosen, eng.id, quant or "auto"))
    rows: list[PlanRow] = []
    basis: list[str] = []
    for step in steps:
        if not step.completed:
            continue
        try:
            step_rows, step_basis = _step(chosen, deploy(eng, fmt, cluster), step)
        except YardError:
            raise
        except Exception as exc:  # the planner is another package: name it, don't traceback
            raise YardError(
                f"--compare-plan: the planner could not size {chosen.id} on {gpu} "
                f"({type(exc).__name__}: {exc}); run `yard plan {chosen.id} --gpu {gpu}` to see why"
            ) from exc
        rows += step_rows
        basis = basis or step_basis
    return PlanComparison(
        model_id=chosen.id, gpu=cluster.label, engine=eng.key, quant=fmt.key, rows=rows, basis=basis
    )


def _step(model: Model, dep: Deployment, step: Summary) -> tuple[list[PlanRow], list[str]]:
    batch = max(1, round(step.mean_concurrency))
    prompt = max(1, round(step.input_tokens_mean or 1))
    context = prompt + round((step.output_tokens_mean or 0) / 2)
    first = prefill(model, dep, prompt)
    step_est = decode(model, dep, batch, context)
    pairs = [
        ("ttft_ms p50", first.ttft_s * 1e3, step.ttft_ms.p50),
        ("tpot_ms p50", step_est.step_ms, step.tpot_ms.p50),
        ("output_tok_s", step_est.tok_s_total, step.output_tok_s),
    ]
    rows = [
        PlanRow(
            load=step.load, batch=batch, metric=name, predicted=predicted, measured=measured,
            ratio=measured / predicted if measured is not None and predicted else None,
        )
        for name, predicted, measured in pairs
    ]  # fmt: skip
    return rows, [*first.basis, *step_est.basis]
