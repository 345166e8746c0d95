"""What each engine holds besides weights and KV, per GPU, and the headroom it needs outside
its share; checked on every catalog model."""

from __future__ import annotations

import pytest

from modelyard.catalog import cached_catalog
from modelyard.plan import GIB, get_engine
from modelyard.plan.engines import ActivationModel
from modelyard.plan.memory import plan_memory
from modelyard.plan.reserves import (
    COMPUTE_UBATCH,
    batch_limits,
    by_parallelism,
    engine_reserves,
    headroom_warnings,
    usable_gib,
)
from modelyard.plan.weights import require_arch
from tests.plan.helpers import dep, model

MODELS = sorted(m.id for m in cached_catalog().models.values() if m.architecture is not None)


def _reserve(model_id: str, name: str, gpu: str) -> float:
    found = engine_reserves(model(model_id), dep(gpu))
    return next(r.gib for r in found if r.name == name)


@pytest.mark.parametrize("model_id", MODELS)
def test_vllm_reserves_on_every_model(model_id: str) -> None:
    m = model(model_id)
    d = dep("8xh100-sxm", quant="fp8" if m.is_moe else "bf16")
    found = {r.name: r for r in engine_reserves(m, d)}
    assert set(found) == {"non-torch", "activation peak"}
    act = found["activation peak"]
    assert 0.1 < act.gib < 20, act
    assert "batched tokens" in act.basis and "vLLM 0.19" in act.basis
    if m.is_moe:
        assert "MoE workspace" in act.basis
    if "image" in m.modalities:
        assert "multimodal" in act.basis
    assert found["non-torch"].gib == get_engine("vllm").non_torch.tensor_parallel.value


def test_the_sampler_warm_up_grows_with_vocabulary() -> None:
    """vLLM warms the sampler up with max_num_seqs dummy requests: vocab × seqs bytes."""
    act = get_engine("vllm").activation
    assert isinstance(act, ActivationModel)
    llama = _reserve("llama-3.1-8b-instruct", "activation peak", gpu="h100-sxm")
    mistral = _reserve("mistral-7b-instruct-v0.3", "activation peak", gpu="h100-sxm")
    expected = act.sampler_bytes.value * 1024 * 128256 / GIB
    assert llama == pytest.approx(expected, rel=0.01) and mistral < llama / 2


def test_a100s_and_small_gpus_get_vllms_small_defaults() -> None:
    assert batch_limits(get_engine("vllm"), dep("h100-sxm")) == (1024, 8192)
    assert batch_limits(get_engine("vllm"), dep("a100-80g-sxm")) == (256, 2048)
    assert batch_limits(get_engine("vllm"), dep("l4")) == (256, 2048)
    assert batch_limits(get_engine("vllm"), dep("l4", batch=512)) == (512, 2048)
    assert batch_limits(get_engine("sglang"), dep("h100-sxm", engine="sglang")) == (256, 2048)


def test_reserves_by_parallelism() -> None:
    table = get_engine("vllm").context_gib
    assert by_parallelism(table, 1, 1) == table.single
    assert by_parallelism(table, 2, 1) == table.tensor_parallel
    assert by_parallelism(table, 1, 2) == table.pipeline
    assert by_parallelism(table, 2, 2) == table.tensor_parallel


@pytest.mark.parametrize("model_id", MODELS)
def test_llamacpp_compute_buffer_is_its_logits_term(model_id: str) -> None:
    arch = require_arch(model(model_id))
    found = {
        r.name: r
        for r in engine_reserves(model(model_id), dep("h100-sxm", "gguf-q4_k_m", "llamacpp"))
    }
    expected = 4 * COMPUTE_UBATCH * (arch.hidden_size + arch.vocab_size) / GIB
    assert found["compute buffer"].gib == pytest.approx(expected)
    assert found["CUDA context"].gib == 0.75


def test_ollama_minimum_on_gpus_only() -> None:
    on_gpu = engine_reserves(model("qwen3-8b"), dep("rtx-4090", "gguf-q4_k_m", "ollama"))
    assert next(r.gib for r in on_gpu if r.name == "CUDA context") == pytest.approx(0.446)
    on_cpu = engine_reserves(model("qwen3-8b"), dep("cpu", "gguf-q4_k_m", "ollama"))
    assert all(r.name != "CUDA context" for r in on_cpu)


def test_vllm_takes_its_share_of_cudas_total() -> None:
    d = dep("h100-sxm")
    assert usable_gib(d) == pytest.approx(79.65 - 0.46)
    assert usable_gib(dep("h100-sxm", "gguf-q4_k_m", "llamacpp")) == pytest.approx(79.65)


def test_headroom_warning_when_the_share_leaves_no_room_for_context_and_graphs() -> None:
    assert headroom_warnings(dep("h100-sxm")) == []
    (warning,) = headroom_warnings(dep("h100-sxm", gpu_util=0.99))
    assert "--gpu-memory-utilization 0.99" in warning and "--enforce-eager" in warning
    assert headroom_warnings(dep("h100-sxm", "gguf-q4_k_m", "llamacpp")) == []


def test_pipeline_stages_hold_their_share_of_layers() -> None:
    one = plan_memory(model("llama-3.1-70b-instruct"), dep("2xh100-sxm"))
    two = plan_memory(model("llama-3.1-70b-instruct"), dep("2xh100-sxm", pp=2))
    assert one.weights_gib == pytest.approx(two.weights_gib, rel=0.02)
    assert two.pipeline_parallel == 2 and two.tensor_parallel == 1
