"""Known facts about the Llama, Mistral and Cohere entries, checked against the shipped catalog."""

from __future__ import annotations

import pytest

from modelyard.catalog import count_params, find_model, load_catalog
from modelyard.catalog.queries import claims_by_metric
from modelyard.catalog.schema import Architecture, Model

CATALOG = load_catalog()


def arch_of(model_id: str) -> Architecture:
    arch = CATALOG.models[model_id].architecture
    assert arch is not None
    return arch


@pytest.mark.parametrize(
    ("model_id", "shape"),
    [
        # layers, hidden, heads, kv heads, head_dim, intermediate, vocab
        ("llama-3.1-8b-instruct", (32, 4096, 32, 8, 128, 14336, 128256)),
        ("llama-3.1-405b-instruct", (126, 16384, 128, 8, 128, 53248, 128256)),
        ("mistral-nemo-instruct-2407", (40, 5120, 32, 8, 128, 14336, 131072)),
        ("mistral-large-instruct-2407", (88, 12288, 96, 8, 128, 28672, 32768)),
        ("codestral-22b-v0.1", (56, 6144, 48, 8, 128, 16384, 32768)),
        ("c4ai-command-r-plus", (64, 12288, 96, 8, 128, 33792, 256000)),
    ],
)
def test_shapes(model_id: str, shape: tuple[int, ...]) -> None:
    a = arch_of(model_id)
    got = (
        a.num_hidden_layers,
        a.hidden_size,
        a.num_attention_heads,
        a.num_key_value_heads,
        a.head_dim,
        a.intermediate_size,
        a.vocab_size,
    )
    assert got == shape


def test_llama_3_1_8b_context() -> None:
    assert CATALOG.models["llama-3.1-8b-instruct"].context_window == 131072


def test_nemo_head_dim_differs_from_hidden_over_heads_and_has_article_alias() -> None:
    a = arch_of("mistral-nemo-instruct-2407")
    assert a.hidden_size // a.num_attention_heads == 160 != a.head_dim
    assert find_model(CATALOG, "Mistral 12B").id == "mistral-nemo-instruct-2407"


def test_tied_embeddings_have_no_lm_head() -> None:
    for model_id in ("llama-3.2-3b-instruct", "c4ai-command-r-plus"):
        assert count_params(arch_of(model_id)).lm_head == 0
    assert count_params(arch_of("llama-3.1-8b-instruct")).lm_head > 0


def test_llama4_scout_every_layer_moe_with_chunked_local_attention() -> None:
    model = CATALOG.models["llama-4-scout-17b-16e-instruct"]
    a = arch_of(model.id)
    assert a.moe is not None
    assert (a.moe.n_routed_experts, a.moe.num_experts_per_tok, a.moe.n_shared_experts) == (16, 1, 1)
    assert count_params(a).moe_layers == 48
    kinds = a.layer_kinds()
    assert (kinds[:4], kinds.count("G")) == (["L", "L", "L", "G"], 12)
    assert (a.local_attention, a.sliding_window) == ("chunked", 8192)
    assert model.context_window == 10485760 and "image" in model.modalities
    assert model.license == "llama4"


def test_llama4_maverick_alternates_dense_and_moe_layers() -> None:
    a = arch_of("llama-4-maverick-17b-128e-instruct")
    assert a.moe is not None and a.moe.n_routed_experts == 128
    assert [a.is_moe_layer(i) for i in range(4)] == [False, True, False, True]
    parts = count_params(a)
    assert parts.moe_layers == 24
    assert parts.dense_mlp == 24 * 3 * 5120 * 16384
    assert parts.expert_size == 3 * 5120 * 8192


def test_mistral_7b_v03_has_no_sliding_window() -> None:
    model = CATALOG.models["mistral-7b-instruct-v0.3"]
    assert arch_of(model.id).sliding_window is None
    assert (model.license, arch_of(model.id).vocab_size) == ("apache-2.0", 32768)


@pytest.mark.parametrize(
    ("model_id", "license_id"),
    [
        ("llama-3.2-3b-instruct", "llama3.2"),
        ("llama-3.3-70b-instruct", "llama3.3"),
        ("mistral-large-instruct-2407", "mrl"),
        ("codestral-22b-v0.1", "mnpl"),
        ("c4ai-command-r-plus", "cc-by-nc-4.0"),
        ("mistral-small-3.2-24b-instruct-2506", "apache-2.0"),
    ],
)
def test_licenses(model_id: str, license_id: str) -> None:
    assert CATALOG.models[model_id].license == license_id


def test_mixtral_8x22b_published_figures() -> None:
    model = CATALOG.models["mixtral-8x22b-instruct-v0.1"]
    assert model.params_total is not None and model.params_active is not None
    assert (model.params_total.value, model.params_active.value) == (140.6e9, 39.1e9)
    assert model.context_window == 65536


def claim_values(model: Model, metric: str) -> list[float | str]:
    return [c.value for c in model.claims if c.metric == metric]


def test_mistral_large_3_is_unverified_and_keeps_every_size_claim() -> None:
    model = find_model(CATALOG, "Mistral Large 3")
    assert not model.verified and model.architecture is None
    sizes = claim_values(model, "params_total")
    assert sizes[0] == 675e9  # the vendor's figure comes first: listings use the first claim
    assert {405e9, 650e9, 235e9} <= set(sizes)
    flagged = {m.metric for m in claims_by_metric(model) if m.disagreement}
    assert {"params_total", "params_active"} <= flagged


def test_command_r_plus_is_dense_and_the_16b_active_claim_is_marked_wrong() -> None:
    model = CATALOG.models["c4ai-command-r-plus"]
    assert arch_of(model.id).moe is None and arch_of(model.id).qk_norm
    (claim,) = [c for c in model.claims if c.metric == "params_active"]
    assert claim.value == 16e9 and "dense" in (claim.ref.note or "")


def test_deploybase_llama_4_405b_figures_are_filed_under_3_1_405b() -> None:
    model = CATALOG.models["llama-3.1-405b-instruct"]
    filed = [c for c in model.claims if c.ref.source == "seed:deploybase-2026-02"]
    assert filed and all("Llama 4 405B" in (c.ref.note or "") for c in filed)
