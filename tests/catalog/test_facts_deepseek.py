"""Known facts about the DeepSeek, Kimi K2 and Grok-1 entries, and the claims kept beside them."""

from __future__ import annotations

import pytest

from modelyard.catalog import count_params, find_model, load_catalog
from modelyard.catalog.queries import claims_by_metric
from modelyard.catalog.schema import Architecture, Model

CATALOG = load_catalog()
V3_FAMILY = [
    "deepseek-v3",
    "deepseek-v3-0324",
    "deepseek-v3.1",
    "deepseek-v3.2-exp",
    "deepseek-v3.2",
    "deepseek-v3.2-speciale",
    "deepseek-r1",
]


def _arch(model_id: str) -> Architecture:
    arch = find_model(CATALOG, model_id).architecture
    assert arch is not None
    return arch


def _claim_values(model: Model, metric: str) -> set[float | str]:
    return {c.value for c in model.claims if c.metric == metric}


def test_deepseek_v3_architecture() -> None:
    arch = _arch("deepseek-v3")
    assert arch.moe is not None and arch.mla is not None
    shape = (arch.num_hidden_layers, arch.hidden_size, arch.num_attention_heads)
    assert shape == (61, 7168, 128)
    assert (arch.intermediate_size, arch.vocab_size, arch.max_position_embeddings) == (
        18432,
        129280,
        163840,
    )
    mla = arch.mla
    assert (mla.kv_lora_rank, mla.q_lora_rank) == (512, 1536)
    assert (mla.qk_rope_head_dim, mla.qk_nope_head_dim, mla.v_head_dim) == (64, 128, 128)
    moe = arch.moe
    assert (moe.n_routed_experts, moe.num_experts_per_tok, moe.n_shared_experts) == (256, 8, 1)
    assert (moe.moe_intermediate_size, moe.first_k_dense_replace) == (2048, 3)


def test_deepseek_v3_counts_and_license() -> None:
    model = find_model(CATALOG, "deepseek-v3")
    assert model.context_window == 131072
    assert model.license == "deepseek"
    assert find_model(CATALOG, "deepseek-v3-0324").license == "mit"
    counts = count_params(_arch("deepseek-v3"))
    assert counts.moe_layers == 58
    assert counts.total == pytest.approx(671e9, rel=0.005)
    assert counts.active == pytest.approx(37e9, rel=0.02)


@pytest.mark.parametrize("model_id", V3_FAMILY[1:])
def test_v3_family_shares_one_network(model_id: str) -> None:
    ignored = {"ref", "model_type", "extra_params", "extra_params_note"}
    assert _arch(model_id).model_dump(exclude=ignored) == _arch("deepseek-v3").model_dump(
        exclude=ignored
    )


def test_dsa_indexer_is_the_only_extra() -> None:
    per_layer = 1536 * 64 * 128 + 7168 * 128 + 2 * 128 + 7168 * 64
    for model_id in ("deepseek-v3.2-exp", "deepseek-v3.2", "deepseek-v3.2-speciale"):
        assert _arch(model_id).extra_params == 61 * per_layer
    assert _arch("deepseek-v3").extra_params == 0


def test_r1_distills() -> None:
    qwen = _arch("deepseek-r1-distill-qwen-7b")
    assert (qwen.num_hidden_layers, qwen.hidden_size, qwen.num_attention_heads) == (28, 3584, 28)
    assert (qwen.num_key_value_heads, qwen.intermediate_size, qwen.vocab_size) == (4, 18944, 152064)
    assert qwen.attention_bias
    assert count_params(qwen).total == pytest.approx(7.62e9, rel=0.005)
    assert find_model(CATALOG, "deepseek-r1-distill-llama-70b").license == "llama3.3"
    assert find_model(CATALOG, "DeepSeek-R1-0528").id == "deepseek-r1"


def test_kimi_k2() -> None:
    model = find_model(CATALOG, "kimi-k2")
    arch = model.architecture
    assert arch is not None and arch.moe is not None and arch.mla is not None
    assert (arch.num_hidden_layers, arch.num_attention_heads, arch.vocab_size) == (61, 64, 163840)
    moe = arch.moe
    assert (moe.n_routed_experts, moe.num_experts_per_tok, moe.n_shared_experts) == (384, 8, 1)
    assert moe.first_k_dense_replace == 1
    assert model.license == "kimi-modified-mit"
    assert _claim_values(model, "params_total") == {1.0e12}


def test_grok_1() -> None:
    model = find_model(CATALOG, "grok-1")
    arch = model.architecture
    assert arch is not None and arch.moe is not None
    assert (arch.moe.n_routed_experts, arch.moe.num_experts_per_tok) == (8, 2)
    shape = (arch.num_hidden_layers, arch.hidden_size, arch.num_attention_heads)
    assert (*shape, arch.num_key_value_heads, arch.vocab_size) == (64, 6144, 48, 8, 131072)
    assert (model.context_window, model.license) == (8192, "apache-2.0")
    active = {g.metric: g for g in claims_by_metric(model)}["params_active"]
    assert active.disagreement and {c.value for c in active.claims} == {7.85e10, 8.6e10}


def test_article_claims_kept_with_disagreements() -> None:
    v3 = find_model(CATALOG, "deepseek-v3")
    assert {88.5, 94.2} <= _claim_values(v3, "mmlu")
    assert next(g for g in claims_by_metric(v3) if g.metric == "mmlu").disagreement
    r1 = find_model(CATALOG, "deepseek-r1")
    assert 97.3 in _claim_values(r1, "math_500")
    assert {1340, 670} <= _claim_values(r1, "vram_gb")
    assert 1460 in _claim_values(find_model(CATALOG, "deepseek-v3.2"), "lmarena_elo")


@pytest.mark.parametrize("model_id", ["deepseek-v4", "deepseek-v3.2-speciale-67b", "qwen3-72b"])
def test_article_only_models_are_unverified(model_id: str) -> None:
    model = find_model(CATALOG, model_id)
    assert not model.verified and model.architecture is None and model.claims


def test_real_speciale_is_the_full_network() -> None:
    real = find_model(CATALOG, "DeepSeek-V3.2-Speciale")
    assert real.verified and real.params_total is not None
    assert real.params_total.value == 671e9
    assert 6.7e10 in _claim_values(
        find_model(CATALOG, "deepseek-v3.2-speciale-67b"), "params_total"
    )
