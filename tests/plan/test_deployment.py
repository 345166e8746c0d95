"""Deployments resolved and checked once; parsing of hardware and amounts; picking weights that
fit and saying why when none do."""

from __future__ import annotations

from dataclasses import replace

import pytest

from modelyard.catalog import cached_catalog, find_gpu
from modelyard.errors import PlanError, YardError
from modelyard.plan import (
    Cluster,
    best_fit,
    deploy,
    get_engine,
    parse_amount,
    parse_cluster,
    parse_split,
    start_format,
    weight_format,
)
from modelyard.plan.deployment import MeasuredEta, place
from modelyard.plan.engines import Factor
from modelyard.plan.fit import auto_quant, does_not_fit, largest_cluster, nodes_needed
from tests.plan.helpers import dep, model

CATALOG = cached_catalog()


def _cluster(text: str) -> Cluster:
    return parse_cluster(CATALOG, text)


@pytest.mark.parametrize(
    ("text", "gpu", "count"),
    [
        ("h100", "h100-sxm", 1),
        ("1xH100", "h100-sxm", 1),
        ("2xA100-80G", "a100-80g-sxm", 2),
        ("8×H200", "h200", 8),
        ("4*l40s", "l40s", 4),
        (" 3 x rtx-4090 ", "rtx-4090", 3),
    ],
)
def test_parse_cluster(text: str, gpu: str, count: int) -> None:
    cluster = _cluster(text)
    assert (cluster.gpu.id, cluster.count) == (gpu, count)
    assert cluster.label.startswith(f"{count}×")


def test_parse_cluster_errors() -> None:
    with pytest.raises(YardError, match="did you mean"):
        _cluster("H1000")
    with pytest.raises(PlanError, match="at least 1"):
        _cluster("0xh100")


@pytest.mark.parametrize(
    ("text", "value"),
    [("20M", 2e7), ("1.5B", 1.5e9), ("300k", 3e5), ("1_000", 1e3), ("2,500", 2500), ("1t", 1e12)],
)
def test_parse_amount(text: str, value: float) -> None:
    assert parse_amount(text) == value


@pytest.mark.parametrize(("text", "message"), [("lots", "not an amount"), ("-5M", "negative")])
def test_parse_amount_errors(text: str, message: str) -> None:
    with pytest.raises(PlanError, match=message):
        parse_amount(text)


def test_parse_split() -> None:
    assert parse_split("90/8/2") == (0.9, 0.08, 0.02)
    assert parse_split("100,0,0") == (1.0, 0.0, 0.0)
    for bad in ("50/50", "a/b/c", "80/30/-10", "60/30/20"):
        with pytest.raises(PlanError, match="--hybrid"):
            parse_split(bad)


def test_cluster_prices_and_usable_memory() -> None:
    h100, mac = _cluster("2xh100"), _cluster("apple-m3-max-128g")
    assert h100.hourly_usd() == pytest.approx(
        2 * min(p.usd_per_hour for p in h100.gpu.prices if p.tier == "on_demand")
    )
    assert mac.usable_gib < mac.gpu.memory_gib  # unified memory keeps a share for the OS
    assert _cluster("cpu").hourly_usd() is None


def test_placement_resolves_tp_pp_and_the_formats_tflops() -> None:
    h100 = _cluster("8xh100")
    bf16, fp8 = place(h100, weight_format("bf16"), 2), place(h100, weight_format("fp8"))
    assert (bf16.tp, bf16.pp, bf16.gpus) == (4, 2, 8)
    assert bf16.peak_tflops == h100.gpu.bf16_tflops and fp8.peak_tflops == h100.gpu.fp8_tflops
    a100 = place(_cluster("a100-80g-sxm"), weight_format("fp8"))
    assert a100.peak_tflops == a100.cluster.gpu.bf16_tflops  # no FP8 tensor cores: BF16 rate
    with pytest.raises(PlanError, match="--pp 3 does not divide 8"):
        place(h100, weight_format("bf16"), 3)


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"context": 0}, "at least 1"),
        ({"batch": -1}, "at least 1"),
        ({"gpu_util": 0.0}, "--gpu-util"),
        ({"gpu_util": 1.2}, "--gpu-util"),
        ({"kv_dtype": "q4_0"}, "no 'q4_0' KV cache"),
    ],
)
def test_deploy_refuses_what_no_engine_accepts(kw: dict[str, object], message: str) -> None:
    with pytest.raises(PlanError, match=message):
        deploy(
            get_engine("vllm"),
            weight_format("bf16"),
            _cluster("h100"),
            context=int(str(kw.get("context", 8192))),
            batch=int(str(kw.get("batch", 1))),
            gpu_util=float(str(kw["gpu_util"])) if "gpu_util" in kw else None,
            kv_dtype=str(kw.get("kv_dtype", "bf16")),
        )


def test_deploy_refuses_formats_the_engine_cannot_load() -> None:
    with pytest.raises(PlanError, match="does not load gguf-q4_k_m"):
        deploy(get_engine("vllm"), weight_format("gguf-q4_k_m"), _cluster("h100"))
    with pytest.raises(PlanError, match="does not load awq"):
        deploy(get_engine("llamacpp"), weight_format("awq"), _cluster("h100"))


def test_a_deployment_moves_between_formats_and_clusters() -> None:
    d = dep("8xh100-sxm", pp=2)
    fp8 = d.with_format(weight_format("fp8"))
    assert fp8.placement.peak_tflops == d.cluster.gpu.fp8_tflops and fp8.placement.pp == 2
    moved = d.on(_cluster("16xh100"), pp=2)
    assert (moved.placement.tp, moved.cluster.count) == (8, 16)
    assert d.fraction() == get_engine("vllm").memory_fraction.value
    assert dep("h100-sxm", gpu_util=0.5).fraction() == 0.5


def test_measured_eta_is_taken_from_the_nearest_point_on_a_log_scale() -> None:
    points = tuple(
        MeasuredEta(b, c, Factor(value=v, source=f"b{b} c{c}"))
        for b, c, v in ((1, 1024, 0.6), (1, 32768, 0.7), (32, 1024, 0.8))
    )
    d = dep("h100-sxm")
    with_points = replace(d, measured_eta_bw=points)
    assert with_points.eta_bw(1, 24576).value == 0.7
    assert with_points.eta_bw(16, 2048).value == 0.8
    assert d.eta_bw(1, 1024) == get_engine("vllm").eta_bw


def test_start_format() -> None:
    assert start_format(model("gpt-oss-20b"), "vllm", "auto") == "mxfp4"
    assert start_format(model("deepseek-v3"), "vllm", "auto") == "fp8"
    assert start_format(model("qwen3-8b"), "llamacpp", "auto").startswith("gguf-")
    assert start_format(model("qwen3-8b"), "vllm", "awq") == "awq"


def test_auto_quant_takes_the_first_checkpoint_that_fits() -> None:
    found = auto_quant(model("llama-3.3-70b-instruct"), dep("h100-sxm"))
    assert found is not None
    checkpoint, mem = found
    assert mem.fits and checkpoint.fmt.key in ("fp8", "awq", "gptq", "int8")
    assert auto_quant(model("deepseek-v3"), dep("h100-sxm")) is None


@pytest.mark.parametrize(
    ("model_id", "gpu", "engine"),
    [
        ("qwen3-8b", "h100-sxm", "vllm@0.19"),
        ("llama-3.3-70b-instruct", "rtx-4090", None),
        ("gpt-oss-20b", "rtx-4090", "vllm@0.19"),
        ("deepseek-v3", "h100-sxm", None),
        ("qwen3-8b", "cpu", "llamacpp@b6400"),  # GPU engines are skipped on a CPU host
    ],
)
def test_best_fit(model_id: str, gpu: str, engine: str | None) -> None:
    found = best_fit(model(model_id), Cluster(find_gpu(CATALOG, gpu)), 8192)
    if engine is None:
        assert found is None
    else:
        assert found is not None and found.engine == engine and found.fits


def test_does_not_fit_names_the_need_the_largest_plan_and_a_smaller_format() -> None:
    text = does_not_fit(model("deepseek-v3"), dep("2xh100-sxm", quant="fp8"), CATALOG)
    assert "does not fit on 2×" in text and "needs" in text and "largest plan" in text
    bf16 = does_not_fit(model("llama-3.3-70b-instruct"), dep("h100-sxm"), CATALOG)
    assert "FP8 would need" in bf16


def test_largest_cluster_is_a_node_of_the_biggest_gpu() -> None:
    big = largest_cluster(CATALOG)
    assert big.count == 8 and not big.gpu.unified_memory
    assert all(
        g.memory_gib * g.usable_fraction <= big.usable_gib
        for g in CATALOG.gpus.values()
        if not g.unified_memory
    )


def test_nodes_needed() -> None:
    assert nodes_needed(model("qwen3-8b"), dep("h100-sxm")) == 1
    assert nodes_needed(model("deepseek-v3"), dep("h100-sxm", quant="fp8")) == 2
    assert nodes_needed(model("deepseek-v3"), dep("l4", quant="fp8")) == 5
    assert nodes_needed(model("kimi-k2-instruct"), dep("rtx-3090", quant="fp8")) == 7
