"""Tiny architectures of every design the builder handles: dense, MoE, MLA, local attention."""

from __future__ import annotations

import pytest

from modelyard.catalog import MLA, Architecture, MoE, Ref

REF = Ref(source="test:tiny")
BASE = {
    "ref": REF,
    "model_type": "tiny",
    "num_hidden_layers": 2,
    "hidden_size": 64,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "head_dim": 16,
    "intermediate_size": 96,
    "vocab_size": 128,
    "max_position_embeddings": 4096,
}
MOE = MoE(
    n_routed_experts=8,
    num_experts_per_tok=2,
    moe_intermediate_size=32,
    n_shared_experts=1,
    shared_expert_intermediate_size=48,
    first_k_dense_replace=1,
    expert_bias=True,
    router_bias=True,
)
TINY = {
    "dense": Architecture(**{**BASE, "attention_bias": True, "qk_norm": True}),
    "mha-parallel": Architecture(
        **{**BASE, "num_key_value_heads": 4, "norms_per_layer": 1, "mlp_gated": False}
    ),
    "moe": Architecture(
        **{**BASE, "num_hidden_layers": 3, "moe": MOE, "tie_word_embeddings": True}
    ),
    "mla": Architecture(
        **{**BASE, "num_hidden_layers": 3, "num_key_value_heads": 1, "moe": MOE},
        mla=MLA(
            kv_lora_rank=32, q_lora_rank=24, qk_rope_head_dim=8, qk_nope_head_dim=16, v_head_dim=16
        ),
    ),
    "mla-direct-q": Architecture(
        **{**BASE, "num_key_value_heads": 1},
        mla=MLA(
            kv_lora_rank=32,
            q_lora_rank=None,
            qk_rope_head_dim=8,
            qk_nope_head_dim=16,
            v_head_dim=24,
        ),
    ),
    "sliding": Architecture(
        **{**BASE, "num_hidden_layers": 4, "norms_per_layer": 4},
        sliding_window=4,
        local_attention="sliding",
        layer_pattern="LG",
    ),
    "chunked": Architecture(
        **{**BASE, "num_hidden_layers": 4},
        sliding_window=4,
        local_attention="chunked",
        layer_pattern="LLLG",
    ),
}


@pytest.fixture(params=sorted(TINY))
def tiny(request: pytest.FixtureRequest) -> Architecture:
    """Each tiny architecture in turn."""
    return TINY[request.param]
