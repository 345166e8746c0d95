"""Decode and prefill speed: held to published figures (each with its source and engine
version), and structural properties checked on every catalog model.

Tolerances are the errors benchmarks/planner_vs_published/speed.py records for each point,
rounded up, so a change that moves a figure the wrong way fails here first.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from modelyard.catalog import cached_catalog
from modelyard.errors import PlanError
from modelyard.plan import decode, prefill
from modelyard.plan.cpu import CpuHost
from modelyard.plan.deployment import Offload
from modelyard.plan.speed import active_params, experts_touched
from tests.plan.helpers import dep, model

MODELS = sorted(m.id for m in cached_catalog().models.values() if m.architecture is not None)


def _step(model_id: str, gpu: str, batch: int, context: int, **kw: Any) -> float:
    d = dep(gpu, context=context, batch=batch, **kw)
    return decode(model(model_id), d, batch, context).step_ms


def _host(name: str, cores: int, isa: str, gbps: float) -> CpuHost:
    return CpuHost(name, cores, isa, (), gbps, "published")


# (model, gpu, quant, engine, batch, context, measured ms, tolerance, source)
SERVED = [
    # InferenceBench (github.com/yobitelcomm/bench), vLLM 0.21.0, chatbot-short, TPOT p50
    ("llama-3.1-8b-instruct", "h100-sxm", 1, 128, 6.48, 0.03),
    ("llama-3.1-8b-instruct", "h100-sxm", 4, 128, 6.59, 0.04),
    # InferenceBench multi-vendor marathon, vLLM 0.21.0, concurrency 4
    ("qwen2.5-7b-instruct", "h100-sxm", 4, 128, 6.27, 0.05),
    ("mistral-7b-instruct-v0.3", "h100-sxm", 4, 128, 7.04, 0.17),
    ("llama-3.1-70b-instruct", "4xh100-sxm", 4, 128, 15.86, 0.02),
    # johnmusgrave.com vLLM 0.23 sweep, A100 40GB, 1024 in / 128 out: 75 tok/s at batch 1
    ("llama-3.1-8b-instruct", "a100-40g-sxm", 1, 1088, 1000 / 75, 0.03),
    # ovg-project/kvcached PR #331, vLLM 0.19 baseline: the CPU floor of a tiny model
    ("qwen3-0.6b", "h100-sxm", 6, 576, 2.39, 0.02),
    # ai.wmx.dev, L4, vLLM 0.23, Qwen2.5-0.5B-Instruct 256 in / 128 out, ITL p50
    ("qwen2.5-0.5b-instruct", "l4", 1, 320, 5.1, 0.07),
    ("qwen2.5-0.5b-instruct", "l4", 2, 320, 5.2, 0.07),
    ("qwen2.5-0.5b-instruct", "l4", 4, 320, 5.3, 0.06),
    ("qwen2.5-0.5b-instruct", "l4", 8, 320, 5.5, 0.04),
    ("qwen2.5-0.5b-instruct", "l4", 16, 320, 6.0, 0.02),
    ("qwen2.5-0.5b-instruct", "l4", 32, 320, 7.1, 0.02),
]


@pytest.mark.parametrize(("model_id", "gpu", "batch", "context", "ms", "tol"), SERVED)
def test_vllm_steps_match_published_serving_figures(
    model_id: str, gpu: str, batch: int, context: int, ms: float, tol: float
) -> None:
    planned = _step(model_id, gpu, batch, context)
    assert abs(ms / planned - 1) <= tol, (planned, ms)


# llama.cpp llama-bench: PR #15802 (RTX 3090, master, micro-batch 1-8), PR #15131 (RTX 4090,
# micro-batch 16), lhl's notes (build 4006, Mistral-7B Q4_K_M tg128)
LLAMACPP = [
    ("llama-3.1-8b-instruct", "rtx-3090", "gguf-q4_0", 1, 256, 1000 / 155.02, 0.01),
    ("llama-3.1-8b-instruct", "rtx-3090", "gguf-q4_0", 4, 256, 4000 / 468.95, 0.21),
    ("llama-3.1-8b-instruct", "rtx-3090", "gguf-q4_0", 8, 256, 8000 / 570.67, 0.01),
    ("llama-3.1-8b-instruct", "rtx-4090", "gguf-q4_0", 16, 256, 16000 / 1891.88, 0.01),
    ("mistral-7b-instruct-v0.3", "rtx-3090", "gguf-q4_k_m", 1, 64, 1000 / 150.65, 0.05),
    ("mistral-7b-instruct-v0.3", "rtx-4090", "gguf-q4_k_m", 1, 64, 1000 / 172.3, 0.08),
]


@pytest.mark.parametrize(("model_id", "gpu", "quant", "batch", "context", "ms", "tol"), LLAMACPP)
def test_llamacpp_steps_match_llama_bench(
    model_id: str, gpu: str, quant: str, batch: int, context: int, ms: float, tol: float
) -> None:
    planned = _step(model_id, gpu, batch, context, quant=quant, engine="llamacpp")
    assert abs(ms / planned - 1) <= tol, (planned, ms)


def test_llamacpp_pays_more_per_token_below_its_mmq_switch() -> None:
    per_token = {
        b: _step("llama-3.1-8b-instruct", "rtx-4090", b, 256, quant="gguf-q4_0", engine="llamacpp")
        / b
        for b in (8, 9)
    }
    assert per_token[9] < per_token[8]


# llama-bench CPU runs: llama.cpp PR #8908 (Threadripper PRO 5995WX, 64 threads, 8-channel
# DDR4-3200), lhl's Core Ultra 7 258V notes (4 P-cores, LPDDR5X-8533, build 4008)
TR5995 = _host("Threadripper PRO 5995WX", 64, "avx2", 204.8)
LUNAR = _host("Core Ultra 7 258V", 4, "avx2", 136.5)


@pytest.mark.parametrize(
    ("model_id", "quant", "host", "tok_s", "tol"),
    [
        ("mistral-7b-instruct-v0.3", "gguf-q4_0", TR5995, 33.74, 0.01),
        ("mistral-7b-instruct-v0.3", "gguf-q4_k_m", LUNAR, 12.36, 0.05),
    ],
)
def test_cpu_decode_matches_llama_bench(
    model_id: str, quant: str, host: CpuHost, tok_s: float, tol: float
) -> None:
    d = dep("cpu", quant=quant, engine="llamacpp", context=64, host=host)
    planned = decode(model(model_id), d, 1, 64).tok_s_per_sequence
    assert abs(planned / tok_s - 1) <= tol, planned


def test_cpu_prefill_matches_the_run_it_is_fitted_on() -> None:
    d = dep("cpu", quant="gguf-q4_0", engine="llamacpp", context=512, host=TR5995)
    planned = prefill(model("mistral-7b-instruct-v0.3"), d, 512).tok_s
    assert abs(planned / 189.30 - 1) <= 0.01


def test_cpu_steps_name_the_ram_and_cores() -> None:
    d = dep("cpu", quant="gguf-q4_0", engine="llamacpp", host=TR5995)
    basis = " ".join(decode(model("qwen3-8b"), d, 1, 4096).basis)
    assert "RAM 204.8 GB/s" in basis and "64 cores" in basis and "avx2" in basis
    assert "CPU floor" not in basis


def test_amx_speeds_prefill_only_in_the_formats_it_has_kernels_for() -> None:
    amx = _host("Xeon", 32, "amx", 300)
    ms = {
        quant: prefill(
            model("llama-3.1-8b-instruct"),
            dep("cpu", quant=quant, engine="llamacpp", host=amx),
            2048,
        ).seconds
        for quant in ("gguf-q4_0", "gguf-q4_k_m")
    }
    assert ms["gguf-q4_0"] < ms["gguf-q4_k_m"] / 1.5


@pytest.mark.parametrize("model_id", MODELS)
def test_decode_slows_with_context_and_gains_throughput_with_batch(model_id: str) -> None:
    m = model(model_id)
    d = dep("8xh100-sxm", quant="fp8" if m.is_moe else "bf16")
    short, long_ = decode(m, d, 1, 1024), decode(m, d, 1, 32768)
    assert long_.step_ms >= short.step_ms
    one, many = decode(m, d, 1, 4096), decode(m, d, 32, 4096)
    assert many.tok_s_total > one.tok_s_total
    assert many.tok_s_per_sequence <= one.tok_s_per_sequence
    assert one.step_ms >= one.memory_ms + one.overhead_ms - 1e-9
    assert one.comm_ms > 0  # 8 GPUs: tensor parallel all-reduces


@pytest.mark.parametrize("model_id", [m for m in MODELS if model(m).is_moe])
def test_moe_reads_the_experts_the_batch_routes_to(model_id: str) -> None:
    arch = model(model_id).architecture
    assert arch is not None and arch.moe is not None
    d = dep("8xh100-sxm", quant="fp8")
    one, many = decode(model(model_id), d, 1, 4096), decode(model(model_id), d, 64, 4096)
    assert one.experts_touched == pytest.approx(arch.moe.num_experts_per_tok)
    assert one.experts_touched is not None and many.experts_touched is not None
    assert many.experts_touched > one.experts_touched
    assert many.weight_gb_read > one.weight_gb_read
    assert one.moe_ms > 0 and any("experts read per layer" in b for b in one.basis)


def test_experts_touched_is_the_expected_distinct_count() -> None:
    assert experts_touched(8, 2, 1) == pytest.approx(2)
    assert experts_touched(128, 8, 1000) == pytest.approx(128, rel=1e-6)
    # 8 experts, top 2, two tokens: 8 × (1 - (6/8)^2)
    assert experts_touched(8, 2, 2) == pytest.approx(8 * (1 - 0.75**2))


def test_active_params_leave_out_the_input_embedding() -> None:
    m = model("llama-3.1-8b-instruct")
    assert 7.4e9 < active_params(m) < 7.6e9  # 8.03B less the 0.53B input embedding table
    assert active_params(model("qwen3-30b-a3b")) < 4e9


def test_sampler_reads_grow_with_vocabulary_and_batch() -> None:
    d = dep("h100-sxm")
    bare = replace(d, engine=d.engine.bare())

    def sampler_ms(model_id: str, batch: int) -> float:
        m = model(model_id)
        return decode(m, d, batch, 1024).memory_ms - decode(m, bare, batch, 1024).memory_ms

    # 19.8 passes × 4 B × vocab per sequence: Llama's vocab is 3.9× Mistral's
    ratio = sampler_ms("llama-3.1-8b-instruct", 32) / sampler_ms("mistral-7b-instruct-v0.3", 32)
    assert ratio == pytest.approx(128256 / 32768, rel=1e-6)
    assert sampler_ms("llama-3.1-8b-instruct", 32) == pytest.approx(
        32 * sampler_ms("llama-3.1-8b-instruct", 1)
    )


def test_cpu_floor_bounds_tiny_models_on_fast_gpus() -> None:
    step = decode(model("smollm2-135m-instruct"), dep("b200"), 1, 1024)
    assert step.step_ms == pytest.approx(step.cpu_floor_ms)
    assert any("CPU floor" in b for b in step.basis)


def test_tensor_parallel_adds_all_reduces_and_single_gpus_do_not() -> None:
    one = decode(model("llama-3.1-8b-instruct"), dep("h100-sxm"), 1, 4096)
    two = decode(model("llama-3.1-8b-instruct"), dep("2xh100-sxm"), 1, 4096)
    assert one.comm_ms == 0 and two.comm_ms == pytest.approx(2 * 32 * 8.1 / 1000)
    assert any("all-reduces" in b for b in two.basis)


def test_pipeline_stages_give_no_decode_speedup() -> None:
    d = dep("2xh100-sxm", pp=2)
    step = decode(model("llama-3.1-8b-instruct"), d, 1, 4096)
    assert any("no decode speed-up from PP" in b for b in step.basis)


def test_offloaded_layers_are_read_at_the_hosts_bandwidth() -> None:
    m = model("llama-3.3-70b-instruct")
    d = dep("rtx-4090", quant="gguf-q4_k_m", engine="llamacpp")
    with_ram = decode(m, replace(d, offload=Offload(20.0, 89.6)), 1, 4096)
    on_gpu = decode(m, d, 1, 4096)
    assert with_ram.step_ms > on_gpu.step_ms * 2
    assert any("in RAM read at 89.6 GB/s" in b for b in with_ram.basis)


def test_prefill_under_load_adds_flops_to_the_step() -> None:
    d = dep("h100-sxm")
    alone = decode(model("llama-3.1-8b-instruct"), d, 64, 2048)
    mixed = decode(model("llama-3.1-8b-instruct"), d, 64, 2048, prefill_tokens=2048)
    assert mixed.tflop > alone.tflop and mixed.step_ms >= alone.step_ms
    assert mixed.prefill_tokens == 2048


def test_large_batches_become_compute_bound() -> None:
    d = dep("h100-sxm")
    assert decode(model("llama-3.1-8b-instruct"), d, 1, 1024).bound == "memory"
    assert decode(model("llama-3.1-8b-instruct"), d, 1024, 128).bound == "compute"


def test_prefill_and_ttft() -> None:
    d = dep("h100-sxm")
    short, long_ = prefill(model("qwen3-8b"), d, 1024), prefill(model("qwen3-8b"), d, 32768)
    assert long_.seconds > 32 * short.seconds  # attention grows faster than linearly
    assert short.ttft_s > short.seconds
    assert "TFLOPS" in short.basis[0] and "vLLM 0.19" in short.basis[0]


def test_prefill_needs_a_compute_figure() -> None:
    d = dep("apple-m3-max-128g", quant="gguf-q4_k_m", engine="llamacpp")
    with pytest.raises(PlanError, match="no TFLOPS figure"):
        prefill(model("qwen3-8b"), d, 1024)


def test_old_profile_reproduces_the_old_batch_one_figure() -> None:
    """vllm@0.16 keeps the 4.7 ms step overhead fitted to Koyeb's 93 tok/s (planner.md §3.4)."""
    old = _step("llama-3.1-8b-instruct", "h100-sxm", 1, 512, engine="vllm@0.16")
    new = _step("llama-3.1-8b-instruct", "h100-sxm", 1, 512)
    assert old == pytest.approx(1000 / 93, rel=0.05)
    assert new < old * 0.7
