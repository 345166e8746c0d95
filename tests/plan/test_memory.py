"""Memory estimates held to published measurements; each case names its source.

Sources (all summarised in ../shared/research/planner.md):
- llm-d empirical vLLM table (llm-d/llm-d-benchmark
  config_explorer/empirical-vllm-memory-results.md), H100, vLLM v0.11: weights as vLLM
  loads them, KV validated to the byte (§2.6).
- ik_llama.cpp PR #259 log: DeepSeek MLA KV 1166.62 MiB at 32,768 ctx, q8_0 cache (§1.5).
- llama-quantize size table (tools/quantize/quantize.cpp): Llama-3-8B GGUF sizes (§3.1).
"""

from __future__ import annotations

import pytest

from modelyard.catalog import cached_catalog, find_model
from modelyard.plan import (
    GIB,
    Deployment,
    Factor,
    get_engine,
    kv_bytes_per_sequence,
    kv_bytes_per_token,
    parse_cluster,
    plan_memory,
    weight_bytes,
    weight_format,
)

TOLERANCE = 0.05


def _model(model_id: str):  # type: ignore[no-untyped-def]
    return find_model(cached_catalog(), model_id)


def _close(estimate: float, reference: float, tolerance: float = TOLERANCE) -> None:
    assert abs(estimate - reference) / reference <= tolerance, (estimate, reference)


@pytest.mark.parametrize(
    ("model_id", "quant", "engine", "gib"),
    [
        # llm-d vLLM table, H100, TP1 unless noted
        ("llama-3.1-8b-instruct", "bf16", "vllm", 14.99),
        ("qwen3-0.6b", "bf16", "vllm", 1.12),
        ("qwen3-32b", "bf16", "vllm", 61.03),
        ("gpt-oss-20b", "mxfp4", "vllm", 13.47),
        ("gpt-oss-120b", "mxfp4", "vllm", 64.38),
        ("mistral-small-3.2-24b-instruct-2506", "bf16", "vllm", 44.76),
        # Llama-3.3-70B-FP8 at TP1 failed to start with 67.72 GiB of weights (llm-d)
        ("llama-3.3-70b-instruct", "fp8", "vllm", 67.72),
        # llama-quantize table for Llama-3-8B (same architecture as 3.1-8B)
        ("llama-3.1-8b-instruct", "gguf-q4_k_m", "llamacpp", 4.58),
        ("llama-3.1-8b-instruct", "gguf-q8_0", "llamacpp", 7.96),
        ("llama-3.1-8b-instruct", "gguf-q5_k_m", "llamacpp", 5.33),
        ("llama-3.1-8b-instruct", "gguf-q2_k", "llamacpp", 2.96),
    ],
)
def test_weights_match_published_loads(model_id: str, quant: str, engine: str, gib: float) -> None:
    loaded = weight_bytes(_model(model_id), weight_format(quant), get_engine(engine))
    _close(loaded.total / GIB, gib)


def test_awq_keeps_embeddings_bf16() -> None:
    # derived check in planner.md §3.1: Llama-3.1-8B AWQ g128 ≈ 5.73 GB
    _close(weight_bytes(_model("llama-3.1-8b-instruct"), weight_format("awq")).total / 1e9, 5.73)


def test_mxfp4_without_vllm_padding_is_smaller() -> None:
    model = _model("gpt-oss-120b")
    plain = weight_bytes(model, weight_format("mxfp4")).total
    padded = weight_bytes(model, weight_format("mxfp4"), get_engine("vllm")).total
    assert padded > plain * 1.05


@pytest.mark.parametrize(
    ("model_id", "tokens", "dtype", "reference_bytes"),
    [
        # Mistral-Small: 163,840 B/token, validated to the byte by llm-d (§2.6)
        ("mistral-small-3.2-24b-instruct-2506", 1, "bf16", 163_840),
        # DeepSeek-V3 MLA at 32k: 61 × 576 × 2 B × 32,768 = 2.14 GiB (§1.5)
        ("deepseek-v3", 32_768, "bf16", 2.14 * GIB),
        # ik_llama.cpp log: 1166.62 MiB at 32,768 ctx with a q8_0 cache (§1.5)
        ("deepseek-v3", 32_768, "q8_0", 1166.62 * 2**20),
        # Gemma-3-27B at 32k with 5:1 local (1,024) to global layers ≈ 2.9 GiB (§1.5)
        ("gemma-3-27b-it", 32_768, "bf16", 2.9 * GIB),
        # gpt-oss-120b at 32k, alternating 128-token windows ≈ 1.13 GiB (§1.5)
        ("gpt-oss-120b", 32_768, "bf16", 1.13 * GIB),
        # Llama-3.1-8B: 128 KiB per token (§4)
        ("llama-3.1-8b-instruct", 32_768, "bf16", 4.0 * GIB),
    ],
)
def test_kv_matches_published_figures(
    model_id: str, tokens: int, dtype: str, reference_bytes: float
) -> None:
    arch = _model(model_id).architecture
    assert arch is not None
    _close(kv_bytes_per_sequence(arch, tokens, dtype), reference_bytes, 0.01)


def test_mla_kv_is_not_decompressed() -> None:
    arch = _model("deepseek-v3").architecture
    assert arch is not None
    assert kv_bytes_per_token(arch, "bf16") == 61 * 576 * 2


def test_vllm_kv_pool_matches_llm_d() -> None:
    # llm-d: 79.18 GiB × 0.9 − (14.99 + 4.76 + 0.13) = 51.38 GiB KV for Llama-3.1-8B on H100
    catalog = cached_catalog()
    cluster = parse_cluster(catalog, "h100")
    dep = Deployment(get_engine("vllm"), weight_format("bf16"), context=16_000)
    mem = plan_memory(_model("llama-3.1-8b-instruct"), cluster, dep)
    assert mem.kv_pool_gib == pytest.approx(51.38, rel=0.02)


def test_tensor_parallel_splits_weights_and_kv_heads() -> None:
    catalog = cached_catalog()
    model = _model("llama-3.3-70b-instruct")
    dep = Deployment(get_engine("vllm"), weight_format("fp8"), context=32_768)
    one = plan_memory(model, parse_cluster(catalog, "1xh100"), dep)
    two = plan_memory(model, parse_cluster(catalog, "2xh100"), dep)
    assert not one.fits and two.fits
    assert two.weights_gib == pytest.approx(one.weights_gib / 2)
    assert two.kv_sequence_gib == pytest.approx(one.kv_sequence_gib / 2)


def test_llamacpp_offloads_layers_that_do_not_fit() -> None:
    catalog = cached_catalog()
    dep = Deployment(get_engine("llamacpp"), weight_format("gguf-q4_k_m"), "q8_0", 8192)
    mem = plan_memory(_model("llama-3.3-70b-instruct"), parse_cluster(catalog, "rtx-4090"), dep)
    assert 0 < mem.gpu_layers < mem.layers
    assert mem.offload_gib > 10


def test_gpu_util_override_changes_the_budget() -> None:
    catalog = cached_catalog()
    engine = get_engine("vllm")
    model = _model("llama-3.1-8b-instruct")
    cluster = parse_cluster(catalog, "h100")
    low = plan_memory(model, cluster, Deployment(engine, weight_format("bf16"), gpu_util=0.5))
    high = plan_memory(model, cluster, Deployment(engine, weight_format("bf16")))
    assert high.kv_pool_gib - low.kv_pool_gib == pytest.approx(cluster.usable_gib * 0.4)
    assert isinstance(engine.eta_bw, Factor) and engine.eta_bw.source
