"""`yard plan` takes its decode eta_bw from `yard measure` runs of the same model and GPU."""

from __future__ import annotations

import pytest

from modelyard.catalog import cached_catalog, find_gpu, find_model
from modelyard.measure import load_calibration, save_calibration
from modelyard.plan import Cluster, Deployment, get_engine, plan_model, recommend, workload
from modelyard.plan.formats import weight_format
from modelyard.plan.measured import SHIPPED, calibrations
from modelyard.policy import Policy

LLAMA = "llama-3.1-8b-instruct"


def _plan(gpu: str, context: int = 8192, batch: int = 1):  # type: ignore[no-untyped-def]
    catalog = cached_catalog()
    dep = Deployment(get_engine("vllm"), weight_format("bf16"), context=context, batch=batch)
    model = find_model(catalog, LLAMA)
    return plan_model(model, Cluster(find_gpu(catalog, gpu)), dep, catalog)


def _shipped_point(batch: int, context: int) -> float:
    cal = load_calibration(SHIPPED / f"{LLAMA}--h100-sxm--bf16.json")
    return next(p.step_ms for p in cal.decode if (p.batch, p.context) == (batch, context))


def test_h100_plan_uses_the_eta_measured_at_the_nearest_point() -> None:
    plan = _plan("h100-sxm", context=8192)
    single = plan.decode_single
    assert "achieved by `yard measure` at batch 1, 8,192 tokens" in single.basis[0]
    # the measured step was the bytes at the achieved eta; the plan adds the engine overhead
    kernel_ms = single.step_ms - single.overhead_ms
    assert kernel_ms == pytest.approx(_shipped_point(1, 8192), rel=0.01)


def test_nearest_point_on_a_log_scale() -> None:
    # 24k tokens is nearer 32k than 8k on a log scale
    plan = _plan("h100-sxm", context=24576)
    assert "at batch 1, 32,768 tokens" in plan.decode_single.basis[0]


def test_other_gpus_keep_the_engine_factor() -> None:
    plan = _plan("a100-80g-sxm")
    assert "yard measure" not in plan.decode_single.basis[0]
    assert f"eta_bw {get_engine('vllm').eta_bw.value} (" in plan.decode_single.basis[0]


def test_the_users_calibration_replaces_the_shipped_one() -> None:
    cal = load_calibration(SHIPPED / f"{LLAMA}--h100-sxm--bf16.json")
    slower = [
        p.model_copy(update={"step_ms": p.step_ms * 2}) if p.step_ms else p for p in cal.decode
    ]
    save_calibration(cal.model_copy(update={"decode": slower}))  # into the test's YARD_HOME
    assert sum(c.model_id == LLAMA for c in calibrations()) == 1
    kernel_ms = _plan("h100-sxm").decode_single
    assert kernel_ms.step_ms - kernel_ms.overhead_ms == pytest.approx(
        2 * _shipped_point(1, 8192), rel=0.01
    )


def test_the_ranking_uses_the_same_measured_speed_as_the_breakdown() -> None:
    catalog = cached_catalog()
    load = workload("chat", 20e6)
    context = load.prompt_tokens + load.output_tokens
    dep = Deployment(get_engine("vllm"), weight_format("bf16"), context=context)
    cluster = Cluster(find_gpu(catalog, "h100-sxm"))
    ranking = recommend(catalog, cluster, dep, load, Policy())
    row = next(r for r in ranking.ranked if r.model_id == LLAMA)
    breakdown = plan_model(find_model(catalog, LLAMA), cluster, dep, catalog)
    assert "yard measure" in breakdown.decode_single.basis[0]
    assert row.tok_s_single == pytest.approx(breakdown.decode_single.tok_s_per_sequence)


def test_prefill_is_held_against_the_measurement_but_keeps_the_engine_factor() -> None:
    plan = _plan("h100-sxm")
    (check,) = plan.measured
    assert [f.tokens for f in check.prefill] == [1024, 8192, 32768]
    at_8k = check.prefill[1]
    cal = load_calibration(SHIPPED / f"{LLAMA}--h100-sxm--bf16.json")
    assert at_8k.measured_ms == next(p.ms for p in cal.prefill if p.tokens == 8192)
    assert at_8k.error == pytest.approx(at_8k.measured_ms / at_8k.estimated_ms - 1)
    # eager prefill at short prompts measures Python launches, so the plan does not use it
    assert plan.prefill is not None and "yard measure" not in plan.prefill.basis[0]
