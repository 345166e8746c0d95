"""KV cache bytes per token and per sequence, and how many sequences a pool admits.

Two accountings (``Engine.kv_accounting``): ``window`` charges a local-attention layer its
window, what it holds in steady state; ``vllm_groups`` follows vLLM's v1 KV cache manager,
which groups layers by attention type into groups of equal size (padding the last), shares one
block pool across groups, and admits a request only when every group can hold its worst case:
full layers the whole context, sliding layers ``window - 1 + max_num_batched_tokens`` (+1 block),
chunked layers ``chunk + max_num_batched_tokens``, each capped at the context
(vllm/v1/core/kv_cache_utils.py and kv_cache_interface.py, v0.19.0).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass

from modelyard.catalog.schema import Architecture, LayerKind
from modelyard.plan.formats import kv_bytes

GIB = float(2**30)


def kv_layer_bytes(arch: Architecture, dtype: str) -> float:
    """Bytes one token occupies in one layer's cache (MLA: latent + rope key, stored once)."""
    element = kv_bytes(dtype)
    if arch.mla is not None:
        return (arch.mla.kv_lora_rank + arch.mla.qk_rope_head_dim) * element
    return 2 * arch.num_key_value_heads * arch.head_dim * element


def kv_bytes_per_token(arch: Architecture, dtype: str) -> float:
    """Bytes per token summed over layers, as if every layer cached the whole context."""
    return kv_layer_bytes(arch, dtype) * arch.num_hidden_layers


def tp_share(arch: Architecture, tp: int) -> float:
    """Share of a sequence's KV one tensor-parallel rank holds (MLA latents are replicated)."""
    if arch.mla is not None or tp <= 1:
        return 1.0
    heads = arch.num_key_value_heads
    return math.ceil(heads / tp) / heads


def kv_bytes_per_sequence(
    arch: Architecture, tokens: int, dtype: str, block: int = 1, tp: int = 1
) -> float:
    """Bytes one sequence of ``tokens`` caches on one GPU in steady state.

    Local (sliding-window or chunked) layers hold at most their window; sequences are
    rounded up to whole pages of ``block`` tokens; tensor parallelism splits KV heads.
    """
    per_layer = kv_layer_bytes(arch, dtype)
    window = arch.sliding_window or tokens
    total = 0.0
    for kind in arch.layer_kinds():
        cached = tokens if kind == "G" else min(tokens, window)
        total += per_layer * math.ceil(cached / block) * block
    return total * tp_share(arch, tp)


@dataclass(frozen=True)
class KvLayout:
    """Where a pool's bytes go for one sequence, and what it admits."""

    tokens: int
    """Tokens the pool holds, every layer counted as caching them (the engine's own figure)."""
    concurrency: float
    """Sequences of the planned context the pool admits, fractional (vLLM's "maximum
    concurrency")."""
    sequence_gib: float
    """KV one sequence is charged on one GPU."""
    basis: str


@dataclass(frozen=True)
class KvShape:
    """What the accounting needs besides the architecture."""

    dtype: str
    context: int
    block: int
    tp: int
    pp: int
    batched_tokens: int
    """The engine's prefill chunk (vLLM max_num_batched_tokens)."""


def window_layout(arch: Architecture, pool_bytes: float, shape: KvShape) -> KvLayout:
    """Steady-state accounting: local layers charged their window."""
    seq = kv_bytes_per_sequence(arch, shape.context, shape.dtype, shape.block, shape.tp)
    seq /= shape.pp
    per_token = kv_bytes_per_token(arch, shape.dtype) * tp_share(arch, shape.tp) / shape.pp
    return KvLayout(
        tokens=int(pool_bytes // per_token) if per_token else 0,
        concurrency=pool_bytes / seq if seq else 0.0,
        sequence_gib=seq / GIB,
        basis="local layers charged their window (steady state)",
    )


def _groups(kinds: list[LayerKind]) -> tuple[int, dict[LayerKind, int]]:
    """vLLM's group size and the number of groups per attention type."""
    counts = Counter(kinds)
    if len(counts) == 1:
        return len(kinds), {kinds[0]: 1}
    size = min(counts.values())
    if max(counts.values()) < size * 1.5:
        size = max(counts.values())
    return size, {kind: math.ceil(n / size) for kind, n in counts.items()}


def _blocks_per_request(arch: Architecture, kind: LayerKind, shape: KvShape) -> int:
    if kind == "G":
        return math.ceil(shape.context / shape.block)
    window = arch.sliding_window or shape.context
    if arch.local_attention == "chunked":
        return math.ceil(min(window + shape.batched_tokens, shape.context) / shape.block)
    tokens = min(window - 1 + shape.batched_tokens, shape.context)
    return math.ceil(tokens / shape.block) + 1


def vllm_layout(arch: Architecture, pool_bytes: float, shape: KvShape) -> KvLayout:
    """vLLM v1's accounting: equal-size layer groups share one block pool; worst-case admission."""
    kinds = arch.layer_kinds()
    stage = kinds[: math.ceil(len(kinds) / shape.pp)]
    size, groups = _groups(stage)
    page = shape.block * kv_layer_bytes(arch, shape.dtype) * tp_share(arch, shape.tp)
    blocks = int(pool_bytes // (page * size))
    per_request = sum(n * _blocks_per_request(arch, kind, shape) for kind, n in groups.items())
    total_groups = sum(groups.values())
    padding = total_groups * size - len(stage)
    basis = f"vLLM KV groups: {total_groups} × {size} layers"
    if padding:
        basis += f" ({padding} padding)"
    return KvLayout(
        tokens=blocks // total_groups * shape.block,
        concurrency=blocks / per_request if per_request else 0.0,
        sequence_gib=per_request * page * size / GIB,
        basis=basis + f", {per_request} blocks of {shape.block} tokens per request",
    )
