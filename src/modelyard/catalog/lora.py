"""LoRA adapter shapes from a catalog architecture: which matrices, how many parameters.

A LoRA adapter on a matrix W (d_out × d_in) adds A (r × d_in) and B (d_out × r): r·(d_in +
d_out) parameters. The matrices come from the architecture as the model's config builds them:
grouped-query or latent (MLA) attention, dense MLPs, every routed expert of every MoE layer,
shared experts and the routers. Training memory (plan/finetune.py) and adapter serving memory
(vLLM LoRA slots, plan/recipes.py) both count from here.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.catalog.schema import Architecture
from modelyard.errors import PlanError

ATTENTION = ("q", "k", "v", "o")
MLP = ("gate", "up", "down")
MODULES = (*ATTENTION, *MLP, "router")
"""Target names users write; MLA's projections answer to q, k, v and o (see ``_attention``)."""
PRESETS = {
    "attention": ATTENTION,
    "qv": ("q", "v"),
    "all-linear": MODULES,
    "all-linear-no-router": (*ATTENTION, *MLP),
}
HF_NAMES = {
    "q": ["q_proj"],
    "k": ["k_proj"],
    "v": ["v_proj"],
    "o": ["o_proj"],
    "gate": ["gate_proj"],
    "up": ["up_proj"],
    "down": ["down_proj"],
    "router": ["gate"],
}
"""Module names in Hugging Face Llama/Qwen/Mistral code, for recipes."""


@dataclass(frozen=True)
class Matrix:
    """One adapted weight shape and how many of it the model holds."""

    target: str
    """The target name (q, k, v, o, gate, up, down, router)."""
    d_in: int
    d_out: int
    count: int
    """How many matrices of this shape, summed over layers (and experts)."""
    per_token: float
    """How many of them one token passes through (routed experts: only the top-k it visits)."""

    def lora_params(self, rank: int) -> int:
        return self.count * rank * (self.d_in + self.d_out)


def parse_targets(text: str) -> tuple[str, ...]:
    """'attention', 'all-linear', 'qv' or a comma list like 'q,k,v,o,gate' -> target names."""
    key = text.strip().lower()
    if key in PRESETS:
        return PRESETS[key]
    names = tuple(dict.fromkeys(n.strip().removesuffix("_proj") for n in key.split(",")))
    unknown = [n for n in names if n not in MODULES]
    if unknown or not names:
        raise PlanError(
            f"--targets {text!r}: unknown {', '.join(unknown) or 'empty list'}; write one of "
            f"{', '.join(PRESETS)} or a comma list of {', '.join(MODULES)}"
        )
    return names


def _attention(arch: Architecture) -> list[Matrix]:
    """Per-layer attention projections; MLA's low-rank pairs map q -> q_a/q_b, k/v -> kv_a/kv_b."""
    h, heads, layers = arch.hidden_size, arch.num_attention_heads, arch.num_hidden_layers
    if arch.mla is None:
        q, kv = heads * arch.head_dim, arch.num_key_value_heads * arch.head_dim
        shapes = [("q", h, q), ("k", h, kv), ("v", h, kv), ("o", q, h)]
    else:
        m = arch.mla
        qk = m.qk_nope_head_dim + m.qk_rope_head_dim
        if m.q_lora_rank is None:
            shapes = [("q", h, heads * qk)]
        else:
            shapes = [("q", h, m.q_lora_rank), ("q", m.q_lora_rank, heads * qk)]
        shapes += [
            ("k", h, m.kv_lora_rank + m.qk_rope_head_dim),
            ("v", m.kv_lora_rank, heads * (m.qk_nope_head_dim + m.v_head_dim)),
            ("o", heads * m.v_head_dim, h),
        ]
    return [Matrix(t, i, o, layers, layers) for t, i, o in shapes]


def _mlp(width: int, h: int, count: int, gated: bool, visited: float) -> list[Matrix]:
    names = ("gate", "up", "down") if gated else ("up", "down")
    return [Matrix(n, *((width, h) if n == "down" else (h, width)), count, visited) for n in names]


def matrices(arch: Architecture) -> list[Matrix]:
    """Every linear weight a LoRA target can name, with its count over layers and experts."""
    h, layers = arch.hidden_size, arch.num_hidden_layers
    moe_layers = sum(arch.is_moe_layer(i) for i in range(layers))
    dense = layers - moe_layers
    found = _attention(arch) + _mlp(arch.intermediate_size, h, dense, arch.mlp_gated, dense)
    moe = arch.moe
    if moe is not None and moe_layers:
        experts = moe_layers * moe.n_routed_experts
        visited = moe_layers * moe.num_experts_per_tok
        found += _mlp(moe.moe_intermediate_size, h, experts, arch.mlp_gated, visited)
        if moe.n_shared_experts:
            width = moe.shared_expert_intermediate_size or moe.moe_intermediate_size
            count = moe_layers * moe.n_shared_experts
            found += _mlp(width, h, count, arch.mlp_gated, count)
        found.append(Matrix("router", h, moe.n_routed_experts, moe_layers, moe_layers))
    return [m for m in found if m.count]


def adapted(arch: Architecture, targets: tuple[str, ...]) -> list[Matrix]:
    """The matrices ``targets`` adapt."""
    return [m for m in matrices(arch) if m.target in targets]


def lora_params(arch: Architecture, targets: tuple[str, ...], rank: int) -> int:
    """Adapter parameters: r·(d_in + d_out) summed over every adapted matrix."""
    if rank < 1:
        raise PlanError(f"--rank {rank}: must be at least 1")
    return sum(m.lora_params(rank) for m in adapted(arch, targets))


def adapted_per_layer(arch: Architecture, targets: tuple[str, ...]) -> float:
    """Adapted matrices one token passes through per layer (experts: only the top-k it visits)."""
    return sum(m.per_token for m in adapted(arch, targets)) / arch.num_hidden_layers


_ROW_PARALLEL = ("o", "down")
"""Matrices whose input dimension tensor parallelism splits; the rest split their output."""


def serving_bytes(arch: Architecture, max_loras: int, max_rank: int, tp: int = 1) -> float:
    """GPU bytes vLLM preallocates per GPU for ``max_loras`` adapter slots of ``max_rank``.

    vLLM (vllm/lora/layers, create_lora_weights) allocates, for every LoRA-capable linear
    layer whatever an adapter targets, lora_a (max_loras, max_rank, d_in) and lora_b
    (max_loras, d_out, max_rank) in the model dtype (2 bytes); under tensor parallelism a
    column-parallel layer splits d_out, a row-parallel one (o, down) d_in.
    """
    if max_loras < 1 or max_rank < 1:
        raise PlanError(f"--max-loras {max_loras} / --max-lora-rank {max_rank}: must be >= 1")
    total = 0.0
    for m in matrices(arch):
        d_in, d_out = (
            (m.d_in / tp, m.d_out) if m.target in _ROW_PARALLEL else (m.d_in, m.d_out / tp)
        )
        total += m.count * max_rank * (d_in + d_out)
    return total * max_loras * 2
