"""Shared helpers: a deployment of a catalog model on catalog GPUs, built the way the CLI does."""

from __future__ import annotations

from functools import cache
from typing import Any

from modelyard.catalog import Model, cached_catalog, find_model
from modelyard.plan import (
    CostOptions,
    Deployment,
    ModelPlan,
    PlanRequest,
    deploy,
    get_engine,
    parse_cluster,
    plan_model,
    published_basis,
    start_format,
    weight_format,
)
from modelyard.plan.workload import workload


def model(model_id: str) -> Model:
    return find_model(cached_catalog(), model_id)


def dep(gpu: str, quant: str = "bf16", engine: str = "vllm", **kw: Any) -> Deployment:
    """A checked deployment: ``kw`` are deploy()'s keywords (pp, kv_dtype, context, batch,
    gpu_util)."""
    eng = get_engine(engine)
    kw.setdefault("kv_dtype", eng.kv_dtypes[0])
    return deploy(eng, weight_format(quant), parse_cluster(cached_catalog(), gpu), **kw)


def plan(
    model_id: str,
    gpu: str,
    quant: str = "auto",
    engine: str = "vllm",
    options: CostOptions | None = None,
    tokens_per_day: float = 20e6,
    **kw: Any,
) -> ModelPlan:
    """``yard plan MODEL`` as the CLI builds it."""
    chosen = model(model_id)
    fmt = start_format(chosen, get_engine(engine).id, quant)
    catalog = cached_catalog()
    request = PlanRequest(
        catalog,
        published_basis(catalog, "chat"),
        workload("chat", tokens_per_day),
        options or CostOptions(),
        auto=quant == "auto",
    )
    return plan_model(chosen, dep(gpu, fmt, engine, **kw), request)


@cache
def fewest(model_id: str, context: int = 8192, quant: str = "auto") -> ModelPlan:
    """The plan on the fewest H100s (1, 2, 4, 8) that hold the model (multi-node beyond)."""
    found = None
    for count in (1, 2, 4, 8):
        found = plan(model_id, f"{count}xh100-sxm", quant=quant, context=context)
        if found.memory.gpus == count:
            return found
    assert found is not None
    return found
