"""Parameter counts computed from an architecture, split by component.

The planner sizes weights from this breakdown (embeddings often stay BF16 when the
rest is quantized; MoE decode reads only the experts a batch touches), and a test holds
every verified model's computed totals to its published figures.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.catalog.schema import Architecture


@dataclass(frozen=True)
class ParamBreakdown:
    """Parameters by component, summed over all layers."""

    embedding: int
    """Input embedding matrix."""
    lm_head: int
    """Output projection (0 when tied to the embedding)."""
    attention: int
    """Attention projections, biases and q/k norms."""
    dense_mlp: int
    """MLPs of dense layers."""
    routed_experts: int
    """All routed experts of all MoE layers."""
    shared_experts: int
    """Shared experts of all MoE layers."""
    router: int
    """Router (gate) matrices."""
    norms: int
    """Layer norms and the final norm."""
    extra: int
    """Parameters outside the decoder (vision tower, MTP head, indexer)."""
    moe_layers: int
    """Number of layers that use experts."""
    experts_per_token: int
    """Routed experts a token activates (0 for dense models)."""
    n_routed_experts: int
    """Routed experts per MoE layer (0 for dense models)."""

    @property
    def total(self) -> int:
        """Every parameter, including extras."""
        return self.decoder + self.extra

    @property
    def decoder(self) -> int:
        """Every parameter the text decoder holds."""
        return (
            self.embedding
            + self.lm_head
            + self.attention
            + self.dense_mlp
            + self.routed_experts
            + self.shared_experts
            + self.router
            + self.norms
        )

    @property
    def expert_size(self) -> int:
        """Parameters of one routed expert in one layer."""
        if not self.moe_layers:
            return 0
        return self.routed_experts // (self.moe_layers * self.n_routed_experts)

    @property
    def active(self) -> int:
        """Parameters one token uses: the decoder minus the routed experts it skips."""
        skipped = self.moe_layers * (self.n_routed_experts - self.experts_per_token)
        return self.decoder - skipped * self.expert_size

    @property
    def active_without_input_embedding(self) -> int:
        """``active`` minus the input embedding (the convention of some vendors' active counts)."""
        return self.active - self.embedding


def attention_params(arch: Architecture) -> int:
    """Attention parameters of one layer."""
    h, heads = arch.hidden_size, arch.num_attention_heads
    if arch.mla is not None:
        m = arch.mla
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        q = h * heads * qk if m.q_lora_rank is None else (h + 1 + heads * qk) * m.q_lora_rank
        kv = h * (m.kv_lora_rank + m.qk_rope_head_dim) + m.kv_lora_rank
        kv += m.kv_lora_rank * heads * (m.qk_nope_head_dim + m.v_head_dim)
        return q + kv + heads * m.v_head_dim * h
    d, kv_heads = arch.head_dim, arch.num_key_value_heads
    params = 2 * h * heads * d + 2 * h * kv_heads * d
    if arch.attention_bias:
        params += (heads + 2 * kv_heads) * d
    if arch.qk_norm:
        params += 2 * d
    return params


def _mlp(arch: Architecture, width: int) -> int:
    return (3 if arch.mlp_gated else 2) * arch.hidden_size * width


def count_params(arch: Architecture) -> ParamBreakdown:
    """Split the architecture's parameters into components (see ParamBreakdown)."""
    h, layers = arch.hidden_size, arch.num_hidden_layers
    moe = arch.moe
    moe_layers = sum(arch.is_moe_layer(i) for i in range(layers))
    routed = shared = router = 0
    if moe is not None:
        expert = _mlp(arch, moe.moe_intermediate_size)
        if moe.expert_bias:
            expert += (2 if arch.mlp_gated else 1) * moe.moe_intermediate_size + h
        routed = moe_layers * moe.n_routed_experts * expert
        shared_width = moe.shared_expert_intermediate_size or moe.moe_intermediate_size
        shared = moe_layers * moe.n_shared_experts * _mlp(arch, shared_width)
        router = moe_layers * moe.n_routed_experts * (h + int(moe.router_bias))
    embedding = arch.vocab_size * h
    return ParamBreakdown(
        embedding=embedding,
        lm_head=0 if arch.tie_word_embeddings else embedding,
        attention=layers * attention_params(arch),
        dense_mlp=(layers - moe_layers) * _mlp(arch, arch.intermediate_size),
        routed_experts=routed,
        shared_experts=shared,
        router=router,
        norms=layers * arch.norms_per_layer * h + h,
        extra=arch.extra_params,
        moe_layers=moe_layers,
        experts_per_token=moe.num_experts_per_tok if moe else 0,
        n_routed_experts=moe.n_routed_experts if moe else 0,
    )
