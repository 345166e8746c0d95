"""A static KV cache: one preallocated tensor pair per layer, written in place.

Static shapes let a decode step be captured once in a CUDA graph and replayed. Global layers
hold ``context`` tokens; local layers (sliding window or chunked) hold ``min(context, window)``
tokens as a ring indexed by ``position % window``. MLA layers hold one tensor per token: the
normalised KV latent followed by the rotary key, ``kv_lora_rank + qk_rope_head_dim`` wide.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from modelyard.catalog.schema import Architecture


@dataclass
class LayerCache:
    """One layer's cache and the rule for which slots a query may see."""

    keys: torch.Tensor
    """(batch, kv heads, capacity, head dim); MLA: (batch, 1, capacity, latent + rope)."""
    values: torch.Tensor | None
    """Like ``keys``; None for MLA, whose values are the latent part of ``keys``."""
    window: int | None
    """Ring size of a local layer; None for a global layer."""
    chunked: bool = False
    """Local attention restarts at every multiple of ``window`` (Llama 4) instead of sliding."""

    @property
    def capacity(self) -> int:
        return self.keys.shape[2]

    @property
    def nbytes(self) -> int:
        extra = self.values.nbytes if self.values is not None else 0
        return self.keys.nbytes + extra

    def slot(self, pos: torch.Tensor) -> torch.Tensor:
        """Slot (1-element tensor) where position ``pos`` is written."""
        return (pos % self.window if self.window else pos).view(1)

    def visible(self, pos: torch.Tensor) -> torch.Tensor:
        """Boolean (capacity,) mask of slots a query at ``pos`` attends to (after writing)."""
        last = pos % self.window if self.window and self.chunked else pos
        return torch.arange(self.capacity, device=self.keys.device) <= last

    def write(self, pos: torch.Tensor, key: torch.Tensor, value: torch.Tensor | None) -> None:
        """Store one token per sequence (key: batch, heads, 1, dim) at position ``pos``."""
        slot = self.slot(pos)
        self.keys.index_copy_(2, slot, key)
        if self.values is not None and value is not None:
            self.values.index_copy_(2, slot, value)

    def fill(self, key: torch.Tensor, value: torch.Tensor | None) -> None:
        """Store a prompt's tokens (dim 2 is position 0..T-1); a ring keeps the newest."""
        tokens = key.shape[2]
        kept = range(max(0, tokens - self.capacity), tokens)
        slots = torch.tensor([p % self.capacity for p in kept], device=key.device)
        self.keys.index_copy_(2, slots, key[:, :, kept.start :])
        if self.values is not None and value is not None:
            self.values.index_copy_(2, slots, value[:, :, kept.start :])


@dataclass
class StaticKVCache:
    """Every layer's cache for ``batch`` sequences of up to ``context`` tokens."""

    layers: list[LayerCache]
    batch: int
    context: int

    @property
    def nbytes(self) -> int:
        """Bytes the cache tensors hold."""
        return sum(layer.nbytes for layer in self.layers)


def _random(shape: tuple[int, ...], dtype: torch.dtype, device: str) -> torch.Tensor:
    # random, not zeros: matrix units can run faster on zeros than on real data
    return torch.empty(shape, dtype=dtype, device=device).normal_()


def _layer(
    arch: Architecture, kind: str, batch: int, context: int, dtype: torch.dtype, device: str
) -> LayerCache:
    window = arch.sliding_window if kind == "L" else None
    capacity = min(context, window) if window else context
    if arch.mla is not None:
        width = arch.mla.kv_lora_rank + arch.mla.qk_rope_head_dim
        keys = _random((batch, 1, capacity, width), dtype, device)
        return LayerCache(keys, None, window, arch.local_attention == "chunked")
    shape = (batch, arch.num_key_value_heads, capacity, arch.head_dim)
    keys, values = _random(shape, dtype, device), _random(shape, dtype, device)
    return LayerCache(keys, values, window, arch.local_attention == "chunked")


def allocate_cache(
    arch: Architecture, batch: int, context: int, dtype: torch.dtype, device: str
) -> StaticKVCache:
    """The cache of ``batch`` sequences of ``context`` tokens on ``device``, randomly filled."""
    layers = [_layer(arch, k, batch, context, dtype, device) for k in arch.layer_kinds()]
    return StaticKVCache(layers, batch, context)
