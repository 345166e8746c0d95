"""Memory estimates held to published measurements; each case names its source.

Sources (../shared/research/planner.md and benchmarks/planner_vs_published/data):
- vLLM 0.19.0 startup logs, H100-80GB, llm-d-incubation/llm-d-planner
  accuracy/results/v0.19.0 (commit d3121e05): 'Model loading took', 'Available KV cache
  memory', 'GPU KV cache size', 'Maximum concurrency'.
- llm-d empirical vLLM table (vLLM 0.11, planner.md §2.6): what the vllm@0.16 profile keeps.
- vllm-project/vllm#6746: Meta-Llama-3.1-405B-Instruct-FP8 loads 57.752 GiB per GPU at TP8.
- ik_llama.cpp PR #259 log: DeepSeek MLA KV 1166.62 MiB at 32,768 ctx, q8_0 cache (§1.5).
- llama-quantize size table (tools/quantize/quantize.cpp): Llama-3-8B GGUF sizes (§3.1).
"""

from __future__ import annotations

import pytest

from modelyard.errors import PlanError
from modelyard.plan import GIB, get_engine, weight_bytes, weight_format
from modelyard.plan.kvcache import kv_bytes_per_sequence, kv_bytes_per_token
from modelyard.plan.memory import plan_memory
from tests.plan.helpers import dep, model


def _close(estimate: float, reference: float, tolerance: float) -> None:
    assert abs(estimate - reference) / reference <= tolerance, (estimate, reference)


@pytest.mark.parametrize(
    ("model_id", "quant", "engine", "tp", "gib"),
    [
        # vLLM 0.19.0 'Model loading took' per GPU (llm-d-planner v0.19.0 logs)
        ("llama-3.1-8b-instruct", "bf16", "vllm", 1, 14.99),
        ("llama-3.1-8b-instruct", "bf16", "vllm", 4, 3.77),
        ("qwen3-30b-a3b", "bf16", "vllm", 1, 56.88),
        ("gpt-oss-20b", "mxfp4", "vllm", 1, 13.64),
        ("llama-3.3-70b-instruct", "fp8", "vllm", 2, 33.88),
        ("mistral-small-3.1-24b-instruct-2503", "int8", "vllm", 1, 24.07),
        ("llama-3.1-8b-instruct", "gptq", "vllm", 1, 5.38),
        # llm-d vLLM 0.11 table (planner.md §2.6), reproduced by the vllm@0.16 profile
        ("gpt-oss-120b", "mxfp4", "vllm@0.16", 1, 64.38),
        ("qwen3-0.6b", "bf16", "vllm@0.16", 1, 1.12),
        # llama-quantize table for Llama-3-8B (same architecture as 3.1-8B)
        ("llama-3.1-8b-instruct", "gguf-q4_k_m", "llamacpp", 1, 4.58),
        ("llama-3.1-8b-instruct", "gguf-q8_0", "llamacpp", 1, 7.96),
        ("llama-3.1-8b-instruct", "gguf-q2_k", "llamacpp", 1, 2.96),
    ],
)
def test_weights_match_published_loads(
    model_id: str, quant: str, engine: str, tp: int, gib: float
) -> None:
    loaded = weight_bytes(model(model_id), weight_format(quant), get_engine(engine), tp)
    _close(loaded.total / GIB / tp, gib, 0.02)


def test_meta_405b_fp8_keeps_attention_and_edge_layers_bf16() -> None:
    # vllm#6746: 57.752 GiB per GPU at TP8; all-linear FP8 would be 47.7 (-17 %)
    mem = plan_memory(model("llama-3.1-405b-instruct"), dep("8xh100", "fp8-mixed"))
    _close(mem.weights_gib, 57.752, 0.02)
    plain = plan_memory(model("llama-3.1-405b-instruct"), dep("8xh100", "fp8"))
    assert plain.weights_gib < mem.weights_gib * 0.85


@pytest.mark.parametrize(
    ("model_id", "gpu", "quant", "kv", "pool", "tokens", "concurrency"),
    [
        # vLLM 0.19.0 at max_model_len 8192, gpu_memory_utilization 0.95 (llm-d logs)
        ("llama-3.1-8b-instruct", "h100", "bf16", "bf16", 58.11, 476_016, 58.11),
        ("llama-3.1-8b-instruct", "h100", "bf16", "fp8", 58.11, 952_032, 116.21),
        ("qwen3-8b", "h100", "bf16", "bf16", 57.50, 418_688, 51.11),
        ("qwen3-30b-a3b", "h100", "bf16", "bf16", 15.41, 168_288, 20.54),
        ("phi-4", "h100", "bf16", "bf16", 46.08, 241_568, 29.49),
        ("mixtral-8x7b-instruct-v0.1", "2xh100", "bf16", "bf16", 28.44, 465_936, 56.88),
        # sliding-window models: vLLM's KV groups and admission bound
        ("gemma-3-27b-it", "h100", "bf16", "bf16", 19.53, 36_560, 4.46),
        ("gemma-2-27b-it", "h100", "bf16", "bf16", 20.59, 58_672, 7.16),
    ],
)
def test_vllm_019_pool_tokens_and_concurrency(
    model_id: str,
    gpu: str,
    quant: str,
    kv: str,
    pool: float,
    tokens: int,
    concurrency: float,
) -> None:
    mem = plan_memory(model(model_id), dep(gpu, quant, kv_dtype=kv, gpu_util=0.95))
    _close(mem.kv_pool_gib, pool, 0.05)
    _close(mem.kv_tokens, tokens, 0.05)
    _close(mem.concurrency, concurrency, 0.05)
    assert mem.max_sessions == int(mem.concurrency)


def test_gpt_oss_120b_fits_one_h100_in_its_native_mxfp4() -> None:
    # OpenAI's model card and llm-d's table (loaded on one H100 at 0.9): it fits
    mem = plan_memory(model("gpt-oss-120b"), dep("h100", "mxfp4"))
    assert mem.fits and mem.max_sessions >= 1
    # the vLLM <= 0.16 activation reserve (7.38 GiB) is what said it did not
    old = plan_memory(model("gpt-oss-120b"), dep("h100", "mxfp4", "vllm@0.16"))
    assert not old.fits


def test_old_profile_reproduces_the_llm_d_v011_pool() -> None:
    # llm-d: 79.18 GiB × 0.9 − (14.99 + 4.76 + 0.13) = 51.38 GiB KV for Llama-3.1-8B
    mem = plan_memory(model("llama-3.1-8b-instruct"), dep("h100", "bf16", "vllm@0.16"))
    _close(mem.kv_pool_gib, 51.38, 0.02)


def test_pipeline_stage_holds_its_layers_and_one_end_of_the_vocabulary() -> None:
    # vLLM 0.19.0 PP4 'Model loading took' 4.26 GiB on the first stage (embedding + 8 layers)
    mem = plan_memory(model("llama-3.1-8b-instruct"), dep("4xh100", "bf16", pp=4))
    _close(mem.weights_gib, 4.26, 0.02)
    assert mem.pipeline_parallel == 4 and mem.tensor_parallel == 1


@pytest.mark.parametrize(
    ("model_id", "tokens", "dtype", "reference_bytes"),
    [
        ("mistral-small-3.2-24b-instruct-2506", 1, "bf16", 163_840),
        ("deepseek-v3", 32_768, "bf16", 2.14 * GIB),
        ("deepseek-v3", 32_768, "q8_0", 1166.62 * 2**20),
        ("gemma-3-27b-it", 32_768, "bf16", 2.9 * GIB),
        ("gpt-oss-120b", 32_768, "bf16", 1.13 * GIB),
        ("llama-3.1-8b-instruct", 32_768, "bf16", 4.0 * GIB),
    ],
)
def test_kv_matches_published_figures(
    model_id: str, tokens: int, dtype: str, reference_bytes: float
) -> None:
    arch = model(model_id).architecture
    assert arch is not None
    _close(kv_bytes_per_sequence(arch, tokens, dtype), reference_bytes, 0.01)


def test_mla_kv_is_not_decompressed() -> None:
    arch = model("deepseek-v3").architecture
    assert arch is not None
    assert kv_bytes_per_token(arch, "bf16") == 61 * 576 * 2


def test_tensor_parallel_splits_weights_and_kv_heads() -> None:
    one = plan_memory(model("llama-3.3-70b-instruct"), dep("1xh100", "fp8", context=32_768))
    two = plan_memory(model("llama-3.3-70b-instruct"), dep("2xh100", "fp8", context=32_768))
    assert not one.fits and two.fits
    assert two.weights_gib == pytest.approx(one.weights_gib / 2)
    assert two.kv_sequence_gib == pytest.approx(one.kv_sequence_gib / 2)


def test_llamacpp_offloads_layers_that_do_not_fit() -> None:
    mem = plan_memory(
        model("llama-3.3-70b-instruct"),
        dep("rtx-4090", "gguf-q4_k_m", "llamacpp", kv_dtype="q8_0"),
    )
    assert 0 < mem.gpu_layers < mem.layers
    assert mem.offload_gib > 10


def test_gpu_util_override_changes_the_budget() -> None:
    chosen = model("llama-3.1-8b-instruct")
    low = plan_memory(chosen, dep("h100", gpu_util=0.5))
    high = plan_memory(chosen, dep("h100"))
    assert high.kv_pool_gib - low.kv_pool_gib == pytest.approx(high.gpu_gib * 0.4)


def test_headroom_too_small_for_cuda_graphs_is_said() -> None:
    mem = plan_memory(model("llama-3.1-8b-instruct"), dep("h100", gpu_util=0.99))
    assert mem.warnings and "CUDA graphs" in mem.warnings[0]
    assert not plan_memory(model("llama-3.1-8b-instruct"), dep("h100")).warnings


def test_a100_gets_vllm_small_gpu_defaults() -> None:
    # vLLM 0.19 arg_utils: A100s keep 256 seqs / 2048 batched tokens, so a smaller sampler peak
    a100 = plan_memory(model("llama-3.1-8b-instruct"), dep("a100-80g-sxm"))
    h100 = plan_memory(model("llama-3.1-8b-instruct"), dep("h100"))
    act = {
        m.gpu_gib: next(r.gib for r in m.reserves if r.name == "activation peak")
        for m in (a100, h100)
    }
    assert act[a100.gpu_gib] < act[h100.gpu_gib] / 2


def test_unverified_model_cannot_be_sized() -> None:
    with pytest.raises(PlanError, match="no architecture"):
        weight_bytes(model("llama-5"), weight_format("bf16"))
