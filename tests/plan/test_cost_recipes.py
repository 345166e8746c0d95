"""Cost arithmetic, break-even, hybrid split, fit messages and launch recipes."""

from __future__ import annotations

import re

import pytest

from modelyard.catalog import cached_catalog, find_model
from modelyard.errors import CatalogError, PlanError
from modelyard.plan import (
    Deployment,
    does_not_fit,
    get_engine,
    parse_amount,
    parse_cluster,
    parse_split,
    plan_model,
    weight_format,
    workload,
)
from modelyard.plan.cost import DAYS_PER_MONTH, HOURS_PER_MONTH


def _plan(model_id: str, gpu: str, quant: str = "bf16", **kw):  # type: ignore[no-untyped-def]
    catalog = cached_catalog()
    dep = Deployment(get_engine(kw.pop("engine", "vllm")), weight_format(quant), **kw)
    load = workload("chat", 20e6)
    return plan_model(
        find_model(catalog, model_id), parse_cluster(catalog, gpu), dep, catalog, load
    )


def test_cost_arithmetic_and_breakeven() -> None:
    catalog = cached_catalog()
    dep = Deployment(get_engine("vllm"), weight_format("bf16"))
    load = workload("chat", 20e6)
    model = find_model(catalog, "llama-3.1-8b-instruct")
    plan = plan_model(
        model, parse_cluster(catalog, "h100"), dep, catalog, load, usd_per_gpu_hour=2.0
    )
    cost = plan.cost
    assert cost is not None
    assert cost.monthly_usd_per_replica == pytest.approx(2.0 * HOURS_PER_MONTH)
    per_hour_tokens = cost.replica_output_tok_s * 3600 * cost.utilization
    assert cost.usd_per_mtok_output == pytest.approx(2.0 / per_hour_tokens * 1e6)
    row = cost.breakeven[0]
    assert row.breakeven_tokens_per_day * row.blended_usd_per_mtok / 1e6 * DAYS_PER_MONTH == (
        pytest.approx(cost.monthly_usd)
    )
    assert cost.hybrid is not None and cost.hybrid.split == (0.9, 0.08, 0.02)
    assert cost.hybrid.total_monthly_usd < cost.hybrid.all_api_monthly_usd


def test_replicas_grow_with_peak_load() -> None:
    catalog = cached_catalog()
    dep = Deployment(get_engine("vllm"), weight_format("bf16"))
    model = find_model(catalog, "llama-3.1-8b-instruct")
    cluster = parse_cluster(catalog, "h100")
    low = plan_model(model, cluster, dep, catalog, workload("chat", 20e6), usd_per_gpu_hour=2.0)
    busy = workload("chat", 20e6, peak_rps=200)
    high = plan_model(model, cluster, dep, catalog, busy, usd_per_gpu_hour=2.0)
    assert low.cost and high.cost and high.cost.replicas > low.cost.replicas


def test_multinode_plan_for_deepseek_bf16() -> None:
    plan = _plan("deepseek-v3", "8xh100", context=32_768)
    assert plan.memory.gpus >= 16
    titles = " ".join(r.title for r in plan.recipes)
    assert "Ray" in titles and "Kubernetes" in titles
    assert "does not fit" in plan.notes[0]


def test_does_not_fit_message_names_the_figures() -> None:
    catalog = cached_catalog()
    dep = Deployment(get_engine("vllm"), weight_format("bf16"))
    model = find_model(catalog, "llama-3.3-70b-instruct")
    text = does_not_fit(model, parse_cluster(catalog, "rtx-4090"), dep, catalog)
    assert re.search(r"needs [\d,]+ GiB.*largest plan 8×.*FP8 would need [\d,]+ GiB", text)


def test_unknown_gpu_suggests() -> None:
    with pytest.raises(CatalogError, match="did you mean"):
        parse_cluster(cached_catalog(), "2xH1000")


def test_recipes_carry_the_plan() -> None:
    plan = _plan("llama-3.3-70b-instruct", "2xa100-80g-sxm", "fp8", context=32_768)
    vllm = next(r for r in plan.recipes if r.engine == "vllm").text
    assert "--tensor-parallel-size 2" in vllm and "--max-model-len 32768" in vllm
    assert "--gpu-memory-utilization 0.90" in vllm
    compose = next(r for r in plan.recipes if r.engine == "compose")
    assert "count: 2" in compose.text


def test_gguf_recipes() -> None:
    plan = _plan(
        "llama-3.1-8b-instruct",
        "rtx-4090",
        "gguf-q4_k_m",
        engine="llamacpp",
        kv_dtype="q8_0",
        context=8192,
        batch=4,
    )
    server = next(r for r in plan.recipes if r.engine == "llamacpp").text
    assert "-c 32768" in server and "--parallel 4" in server and "-ctk q8_0" in server
    modelfile = next(r for r in plan.recipes if r.engine == "ollama")
    assert "PARAMETER num_ctx 8192" in modelfile.text


def test_parsers() -> None:
    assert parse_amount("20M") == 20e6
    assert parse_split("90/8/2") == (0.9, 0.08, 0.02)
    with pytest.raises(PlanError):
        parse_split("90/8")
    with pytest.raises(PlanError):
        parse_amount("lots")
