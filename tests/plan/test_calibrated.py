"""`yard plan` takes its decode eta_bw from `yard measure` runs of the same model and GPU, and
holds its kernel estimates against every shipped H100 calibration."""

from __future__ import annotations

import pytest

from modelyard.catalog import cached_catalog, find_gpu
from modelyard.plan import get_engine, recommend, workload
from modelyard.plan.calibration import load_calibration, save_calibration
from modelyard.plan.cost import CostOptions
from modelyard.plan.measured import SHIPPED, calibrations, compare, measured_checks
from modelyard.plan.quality import published_basis
from modelyard.policy import Policy
from tests.plan.helpers import dep, model, plan

LLAMA = "llama-3.1-8b-instruct"


def _shipped_point(batch: int, context: int) -> float:
    cal = load_calibration(SHIPPED / f"{LLAMA}--h100-sxm--bf16.json")
    found = next(p.step_ms for p in cal.decode if (p.batch, p.context) == (batch, context))
    assert found is not None
    return found


def test_h100_plan_uses_the_eta_measured_at_the_nearest_point() -> None:
    single = plan(LLAMA, "h100-sxm", quant="bf16", context=8192).decode_single
    assert "achieved by `yard measure` at batch 1, 8,192 tokens" in single.basis[0]
    # the measured step is the bytes at the achieved eta; the plan adds the step overhead
    assert single.memory_ms == pytest.approx(_shipped_point(1, 8192), rel=0.01)
    assert single.step_ms == pytest.approx(single.memory_ms + single.overhead_ms)


def test_nearest_point_on_a_log_scale() -> None:
    # 24k tokens is nearer 32k than 8k on a log scale
    found = plan(LLAMA, "h100-sxm", quant="bf16", context=24576)
    assert "at batch 1, 32,768 tokens" in found.decode_single.basis[0]


def test_other_gpus_keep_the_engine_factor() -> None:
    found = plan(LLAMA, "a100-80g-sxm", quant="bf16")
    assert "yard measure" not in found.decode_single.basis[0]
    assert f"eta_bw {get_engine('vllm').eta_bw.value} (" in found.decode_single.basis[0]


def test_the_users_calibration_replaces_the_shipped_one() -> None:
    cal = load_calibration(SHIPPED / f"{LLAMA}--h100-sxm--bf16.json")
    slower = [
        p.model_copy(update={"step_ms": p.step_ms * 2}) if p.step_ms else p for p in cal.decode
    ]
    save_calibration(cal.model_copy(update={"decode": slower}))  # into the test's YARD_HOME
    assert sum(c.model_id == LLAMA for c in calibrations()) == 1
    fast = plan(LLAMA, "a100-80g-sxm", quant="bf16").decode_single
    slow = plan(LLAMA, "h100-sxm", quant="bf16").decode_single
    # twice the measured step: half the achieved eta, so the H100 now plans slower than A100
    assert slow.step_ms > fast.step_ms


def test_the_ranking_uses_the_same_measured_speed_as_the_breakdown() -> None:
    catalog = cached_catalog()
    load = workload("chat", 20e6)
    context = load.prompt_tokens + load.output_tokens
    d = dep("h100-sxm", context=context)
    ranking = recommend(catalog, d, load, Policy(), published_basis(catalog, "chat"), CostOptions())
    row = next(r for r in ranking.ranked if r.model_id == LLAMA)
    breakdown = plan(LLAMA, "h100-sxm", quant="bf16", context=context)
    assert "yard measure" in breakdown.decode_single.basis[0]
    assert row.tok_s_single == pytest.approx(breakdown.decode_single.tok_s_per_sequence)


def test_prefill_is_held_against_the_measurement_but_keeps_the_engine_factor() -> None:
    found = plan(LLAMA, "h100-sxm", quant="bf16")
    (check,) = found.measured
    assert [f.tokens for f in check.prefill] == [1024, 8192, 32768]
    at_8k = check.prefill[1]
    cal = load_calibration(SHIPPED / f"{LLAMA}--h100-sxm--bf16.json")
    assert at_8k.measured_ms == next(p.ms for p in cal.prefill if p.tokens == 8192)
    assert at_8k.error == pytest.approx(at_8k.measured_ms / at_8k.estimated_ms - 1)
    # eager prefill at short prompts measures Python launches, so the plan does not use it
    assert found.prefill is not None and "yard measure" not in found.prefill.basis[0]


SHIPPED_CALS = sorted((c.model_id, c.layers) for c in calibrations() if c.gpu_id == "h100-sxm")


@pytest.mark.parametrize(("model_id", "layers"), SHIPPED_CALS)
def test_kernel_estimates_stay_near_every_shipped_h100_calibration(
    model_id: str, layers: int
) -> None:
    """The engine's kernel factors (no sampler, scheduler or overhead) against the bare
    model's measured steps: within 15% everywhere (the benchmark records each point)."""
    cal = next(c for c in calibrations() if (c.model_id, c.layers) == (model_id, layers))
    gpu = find_gpu(cached_catalog(), "h100-sxm")
    check = compare(model(model_id), cal, gpu, get_engine("vllm"))
    assert check.decode, model_id
    for point in check.decode:
        assert abs(point.error) <= 0.15, (model_id, point)
    assert check.weights_measured_gib == pytest.approx(check.weights_estimated_gib, rel=0.02)


def test_moe_routing_time_is_what_the_bare_model_pays_too() -> None:
    """Qwen3-30B-A3B at batch 1: bytes alone (the old planner) were 66-167% too fast."""
    gpu = find_gpu(cached_catalog(), "h100-sxm")
    engine = get_engine("vllm")
    (check,) = measured_checks(model("qwen3-30b-a3b"), gpu, engine)
    first = check.decode[0]
    assert first.batch == 1 and abs(first.error) < 0.12
    no_routing = engine.model_copy(update={"moe_layer_us": engine.moe_layer_us.model_copy(
        update={"value": 0.0})})  # fmt: skip
    (bytes_only,) = measured_checks(model("qwen3-30b-a3b"), gpu, no_routing)
    assert bytes_only.decode[0].error > 0.6


def test_measured_checks_only_for_the_same_gpu() -> None:
    a100 = find_gpu(cached_catalog(), "a100-80g-sxm")
    assert measured_checks(model(LLAMA), a100, get_engine("vllm")) == []


def test_no_measured_speed_across_gpus_or_with_offload() -> None:
    """Calibrations are per GPU: a tensor-parallel plan keeps the engine's factor."""
    found = plan(LLAMA, "2xh100-sxm", quant="bf16")
    assert "yard measure" not in found.decode_single.basis[0]
