"""Weight formats, their bytes as each engine lays them out, KV cache sizes, where each
checkpoint comes from, long-context scaling and parser lookups."""

from __future__ import annotations

import math

import pytest

from modelyard.catalog import cached_catalog
from modelyard.errors import PlanError
from modelyard.plan import GIB, checkpoints, get_engine, weight_bytes, weight_format
from modelyard.plan.checkpoints import ORIGIN_NOTE, native_format
from modelyard.plan.formats import CATALOG_FORMATS, FORMATS, KV_BYTES, QUALITY_ORDER, kv_bytes
from modelyard.plan.kvcache import (
    KvShape,
    kv_bytes_per_sequence,
    kv_bytes_per_token,
    kv_layer_bytes,
    tp_share,
    vllm_layout,
    window_layout,
)
from modelyard.plan.longctx import longest_context, native_context, rope_extension
from modelyard.plan.parsers import parsers
from modelyard.plan.weights import require_arch
from tests.plan.helpers import model

MODELS = sorted(m.id for m in cached_catalog().models.values() if m.architecture is not None)


@pytest.mark.parametrize("key", sorted(FORMATS))
def test_every_format_is_sized_and_sourced(key: str) -> None:
    fmt = FORMATS[key]
    assert 2 <= fmt.bits <= 16 and fmt.basis and fmt.engines
    assert weight_format(key) is fmt
    assert key in QUALITY_ORDER or key == "fp16"  # fp16 is bf16's size and rank
    if fmt.is_gguf:
        assert set(fmt.engines) == {"llamacpp", "ollama"} and "ppl" in fmt.loss
    if fmt.bits >= 16:
        assert not fmt.loss


@pytest.mark.parametrize(
    ("text", "key"),
    [("Q4_K_M", "gguf-q4_k_m"), ("bf16", "bf16"), ("AWQ", "awq"), ("q8_0", "gguf-q8_0")],
)
def test_format_names_users_type(text: str, key: str) -> None:
    assert weight_format(text).key == key


def test_unknown_formats_and_kv_dtypes_list_the_choices() -> None:
    with pytest.raises(PlanError, match="choose one of bf16"):
        weight_format("q9")
    with pytest.raises(PlanError, match="choose one of"):
        kv_bytes("int3")
    assert kv_bytes("Q8_0") == KV_BYTES["q8_0"] == 34 / 32


def test_catalog_release_formats_map_to_planner_formats() -> None:
    for release, key in CATALOG_FORMATS.items():
        assert key in FORMATS, release


def test_gguf_sizes_follow_llama_quantize_table() -> None:
    """llama-quantize's table for Llama-3-8B: Q4_K_M 4.58 GiB, Q8_0 7.96 GiB (planner.md §3.1)."""
    m = model("llama-3.1-8b-instruct")
    assert weight_bytes(m, weight_format("gguf-q4_k_m")).total / GIB == pytest.approx(
        4.58, rel=0.01
    )
    assert weight_bytes(m, weight_format("gguf-q8_0")).total / GIB == pytest.approx(7.96, rel=0.01)


@pytest.mark.parametrize("model_id", MODELS)
def test_lossier_formats_are_smaller(model_id: str) -> None:
    m = model(model_id)
    sizes = {k: weight_bytes(m, FORMATS[k]).total for k in ("bf16", "fp8", "awq", "gguf-q4_k_m")}
    assert sizes["bf16"] > sizes["fp8"] > sizes["awq"]
    assert sizes["gguf-q4_k_m"] < sizes["fp8"]
    parts = weight_bytes(m, FORMATS["fp8"]).components
    assert parts["embedding"] == weight_bytes(m, FORMATS["bf16"]).components["embedding"]


def test_mxfp4_experts_are_padded_per_shard_by_vllm() -> None:
    m = model("gpt-oss-120b")
    plain = weight_bytes(m, FORMATS["mxfp4"])
    one = weight_bytes(m, FORMATS["mxfp4"], get_engine("vllm"), tp=1)
    eight = weight_bytes(m, FORMATS["mxfp4"], get_engine("vllm"), tp=8)
    assert one.total >= plain.total
    # 2,880 wide experts: 360 per shard at TP8, padded to 512
    assert eight.components["routed_experts"] > one.components["routed_experts"]
    assert "padded" in eight.basis
    dense = weight_bytes(model("qwen3-8b"), FORMATS["mxfp4"], get_engine("vllm"), tp=4)
    assert "padded" not in dense.basis


def test_mlp_only_formats_keep_attention_bf16() -> None:
    m = model("llama-3.1-405b-instruct")
    mixed, bf16 = weight_bytes(m, FORMATS["fp8-mixed"]), weight_bytes(m, FORMATS["bf16"])
    assert mixed.components["attention"] == bf16.components["attention"]
    assert mixed.components["dense_mlp"] < bf16.components["dense_mlp"]


def test_unverified_models_cannot_be_sized() -> None:
    unverified = next(m for m in cached_catalog().models.values() if m.architecture is None)
    with pytest.raises(PlanError, match="no architecture"):
        require_arch(unverified)


@pytest.mark.parametrize("model_id", MODELS)
def test_kv_cache_sizes(model_id: str) -> None:
    arch = require_arch(model(model_id))
    per_token = kv_bytes_per_token(arch, "bf16")
    assert per_token == kv_layer_bytes(arch, "bf16") * arch.num_hidden_layers
    seq = kv_bytes_per_sequence(arch, 8192, "bf16")
    assert seq <= per_token * 8192 + 1e-6
    if arch.sliding_window is None:
        assert seq == pytest.approx(per_token * 8192)
    assert kv_bytes_per_sequence(arch, 8192, "fp8") == pytest.approx(seq / 2)
    paged = kv_bytes_per_sequence(arch, 8193, "bf16", block=16)
    assert paged >= kv_bytes_per_sequence(arch, 8193, "bf16")


def test_tensor_parallel_splits_kv_heads_but_not_mla_latents() -> None:
    llama = require_arch(model("llama-3.1-8b-instruct"))  # 8 KV heads
    assert tp_share(llama, 1) == 1.0 and tp_share(llama, 2) == 0.5
    assert tp_share(llama, 16) == 1 / 8  # a head cannot be split: replicated beyond 8
    assert tp_share(require_arch(model("deepseek-v3")), 8) == 1.0


def _shape(context: int, tp: int = 1) -> KvShape:
    return KvShape(dtype="bf16", context=context, block=16, tp=tp, pp=1, batched_tokens=8192)


@pytest.mark.parametrize(
    "model_id", ["gemma-3-27b-it", "gpt-oss-20b", "llama-4-scout-17b-16e-instruct"]
)
def test_vllm_groups_charge_local_layers_a_window_and_a_chunk(model_id: str) -> None:
    arch = require_arch(model(model_id))
    pool = 20 * GIB
    steady, vllm = window_layout(arch, pool, _shape(65536)), vllm_layout(arch, pool, _shape(65536))
    assert vllm.concurrency <= steady.concurrency
    assert vllm.tokens > 0 and "vLLM KV groups" in vllm.basis


def test_dense_models_get_the_same_pool_either_way() -> None:
    arch = require_arch(model("llama-3.1-8b-instruct"))
    steady = window_layout(arch, 10 * GIB, _shape(8192))
    vllm = vllm_layout(arch, 10 * GIB, _shape(8192))
    assert vllm.tokens == pytest.approx(steady.tokens, rel=0.01)
    assert math.floor(vllm.concurrency) == math.floor(steady.concurrency)


@pytest.mark.parametrize(
    ("model_id", "origins"),
    [
        ("gpt-oss-20b", {"mxfp4": "native"}),
        ("qwen2.5-7b-instruct", {"bf16": "native", "awq": "official", "gptq": "official"}),
        ("llama-3.1-405b-instruct", {"bf16": "native", "fp8-mixed": "official"}),
        ("deepseek-v3", {"fp8": "native"}),
    ],
)
def test_checkpoint_origins(model_id: str, origins: dict[str, str]) -> None:
    found = {c.fmt.key: c for c in checkpoints(model(model_id), "vllm")}
    for key, origin in origins.items():
        assert found[key].origin == origin, (key, found[key])
        assert found[key].label == f"{key} ({ORIGIN_NOTE[found[key].origin]})"
    assert "bf16" not in found or native_format(model(model_id)).bits >= 16


def test_bf16_models_get_fp8_from_the_engine_when_no_release_has_it() -> None:
    found = {c.fmt.key: c for c in checkpoints(model("phi-4"), "vllm")}
    assert found["fp8"].origin in ("runtime", "official", "community")
    gguf = {c.fmt.key: c for c in checkpoints(model("qwen3-8b"), "llamacpp")}
    assert all(k.startswith("gguf-") or k == "mxfp4" for k in gguf)


def test_long_context_helpers() -> None:
    qwen, llama = model("qwen3-8b"), model("llama-3.1-8b-instruct")
    assert native_context(qwen) == 40960 and longest_context(qwen) == 131072
    assert rope_extension(qwen, 40960) is None
    ext = rope_extension(qwen, 65536)
    assert ext is not None and (ext.rope_type, ext.factor, ext.original) == ("yarn", 2.0, 32768)
    assert ext.reaches == 65536 and ext.rope_theta == require_arch(qwen).rope_theta
    widest = rope_extension(qwen, 131072)
    assert widest is not None and widest.factor == 4.0
    assert longest_context(llama) == native_context(llama) == 131072


def test_parsers_for_an_engine_without_entries() -> None:
    found = parsers(model("qwen3-8b"), "tgi")
    assert found.tool is None and found.reasoning is None
    assert parsers(model("phi-4"), "vllm").tool is None
