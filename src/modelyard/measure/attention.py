"""Attention layers of the synthetic decoder: grouped-query (GQA/MHA/MQA) and latent (MLA).

Each layer has two paths. ``prefill`` runs a whole prompt with causal (or local) masking and
fills the cache; ``decode`` runs one token per sequence at a position held in a device tensor,
so the step has static shapes and can be captured in a CUDA graph. Projections are fused
(one QKV GEMM) as serving engines fuse them. Rotary embeddings use base 10000 for every model:
the base changes values, not cost.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from modelyard.catalog.schema import Architecture
from modelyard.measure.kvcache import LayerCache

EPS = 1e-6


def rms_norm(x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """RMSNorm over the last dimension."""
    return F.rms_norm(x, (x.shape[-1],), weight, EPS)


def rope(x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
    """Rotate the halves of ``x`` (..., T, dim) by the angles of ``positions`` (T,)."""
    half = x.shape[-1] // 2
    freq = 10000.0 ** (-torch.arange(half, device=x.device, dtype=torch.float32) / half)
    angles = positions.to(torch.float32)[:, None] * freq[None, :]
    cos, sin = angles.cos().to(x.dtype), angles.sin().to(x.dtype)
    first, second = x[..., :half], x[..., half:]
    return torch.cat((first * cos - second * sin, second * cos + first * sin), dim=-1)


def local_mask(tokens: int, cache: LayerCache, device: torch.device) -> torch.Tensor | None:
    """Prefill mask (T, T) of a local layer; None for a global layer (plain causal)."""
    if cache.window is None or tokens <= cache.window:
        return None
    i = torch.arange(tokens, device=device)[:, None]
    j = torch.arange(tokens, device=device)[None, :]
    if cache.chunked:
        return (j <= i) & (j // cache.window == i // cache.window)
    return (j <= i) & (j > i - cache.window)


def _attend(
    q: torch.Tensor,
    k: torch.Tensor,
    v: torch.Tensor,
    mask: torch.Tensor | None,
    scale: float | None = None,
) -> torch.Tensor:
    causal = mask is None
    return F.scaled_dot_product_attention(q, k, v, attn_mask=mask, is_causal=causal, scale=scale)


SPLIT_TOKENS = 256


def decode_attend(
    q: torch.Tensor,
    keys: torch.Tensor,
    values: torch.Tensor,
    mask: torch.Tensor,
    scale: float | None = None,
) -> torch.Tensor:
    """Attention of a few query rows per KV head over a whole cache, split along the cache.

    Flash-decoding's point: a decode query is short and the cache long, so one kernel block
    per (sequence, KV head) leaves most SMs idle at small batches. Cutting the cache into
    chunks of SPLIT_TOKENS and summing the chunks' partial outputs keeps every SM reading.
    q (B, H, R, D); keys (B, H, T, D); values (B, H, T, Dv); mask (T,) of visible slots.
    """
    batch, heads, rows, _ = q.shape
    tokens = keys.shape[2]
    scale = q.shape[-1] ** -0.5 if scale is None else scale
    scores = torch.matmul(q, keys.transpose(-1, -2)).float() * scale
    probs = scores.masked_fill(~mask, float("-inf")).softmax(dim=-1).to(q.dtype)
    chunk = SPLIT_TOKENS if tokens % SPLIT_TOKENS == 0 else tokens
    parts = probs.view(batch, heads, rows, tokens // chunk, chunk).transpose(2, 3)
    out = torch.matmul(parts, values.view(batch, heads, tokens // chunk, chunk, -1))
    return out.sum(dim=2, dtype=torch.float32).to(q.dtype)


def _norm_weight(dim: int, device: str, dtype: torch.dtype) -> nn.Parameter:
    return nn.Parameter(torch.ones(dim, device=device, dtype=dtype))


class GroupedQueryAttention(nn.Module):
    """Multi-head attention whose query heads share ``num_key_value_heads`` KV heads."""

    def __init__(self, arch: Architecture, device: str, dtype: torch.dtype) -> None:
        super().__init__()
        self.heads, self.kv_heads, self.dim = (
            arch.num_attention_heads,
            arch.num_key_value_heads,
            arch.head_dim,
        )
        width = (self.heads + 2 * self.kv_heads) * self.dim
        kw = {"device": device, "dtype": dtype}
        self.qkv = nn.Linear(arch.hidden_size, width, bias=arch.attention_bias, **kw)
        self.o = nn.Linear(self.heads * self.dim, arch.hidden_size, bias=False, **kw)
        self.split_kv = True
        self.q_norm = _norm_weight(self.dim, device, dtype) if arch.qk_norm else None
        self.k_norm = _norm_weight(self.dim, device, dtype) if arch.qk_norm else None

    def _project(self, x: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """q (B, heads, T, d), k and v (B, kv heads, T, d), normalised and rotated."""
        batch, tokens, _ = x.shape
        qkv = self.qkv(x).view(batch, tokens, self.heads + 2 * self.kv_heads, self.dim)
        q, k, v = qkv.transpose(1, 2).split([self.heads, self.kv_heads, self.kv_heads], dim=1)
        if self.q_norm is not None and self.k_norm is not None:
            q, k = rms_norm(q, self.q_norm), rms_norm(k, self.k_norm)
        return rope(q, positions), rope(k, positions), v

    def prefill(self, x: torch.Tensor, cache: LayerCache) -> torch.Tensor:
        """Attend causally (or locally) over the prompt ``x`` (B, T, hidden); fill the cache."""
        batch, tokens, _ = x.shape
        q, k, v = self._project(x, torch.arange(tokens, device=x.device))
        cache.fill(k, v)
        group = self.heads // self.kv_heads
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        out = _attend(q, k, v, local_mask(tokens, cache, x.device))
        return self.o(out.transpose(1, 2).reshape(batch, tokens, -1))

    def decode(self, x: torch.Tensor, pos: torch.Tensor, cache: LayerCache) -> torch.Tensor:
        """One token per sequence (B, 1, hidden) at position ``pos`` against the cache.

        The query heads of each KV group ride as the query length of one SDPA call, so the
        cache is read once per KV head.
        """
        batch = x.shape[0]
        q, k, v = self._project(x, pos.view(1))
        cache.write(pos, k, v)
        assert cache.values is not None
        q = q.reshape(batch, self.kv_heads, self.heads // self.kv_heads, self.dim)
        if self.split_kv:
            out = decode_attend(q, cache.keys, cache.values, cache.visible(pos))
        else:
            out = _attend(q, cache.keys, cache.values, cache.visible(pos).view(1, 1, 1, -1))
        return self.o(out.reshape(batch, 1, -1))


class LatentAttention(nn.Module):
    """DeepSeek multi-head latent attention.

    The cache stores the normalised KV latent and the shared rotary key. Prefill decompresses
    the latent into per-head keys and values (naive form); decode absorbs the key up-projection
    into the query and the value up-projection into the output, so it reads only the latent
    (absorbed form, as vLLM's and FlashMLA's decode kernels do).
    """

    def __init__(self, arch: Architecture, device: str, dtype: torch.dtype) -> None:
        super().__init__()
        m = arch.mla
        assert m is not None
        self.heads, self.rank, self.rope_dim = (
            arch.num_attention_heads,
            m.kv_lora_rank,
            m.qk_rope_head_dim,
        )
        self.nope, self.v_dim = m.qk_nope_head_dim, m.v_head_dim
        self.split_kv = True
        self.scale = 1 / math.sqrt(self.nope + self.rope_dim)
        h, kw = arch.hidden_size, {"device": device, "dtype": dtype, "bias": False}
        q_width = self.heads * (self.nope + self.rope_dim)
        if m.q_lora_rank is None:
            self.q_a, self.q_norm, self.q_b = None, None, nn.Linear(h, q_width, **kw)
        else:
            self.q_a = nn.Linear(h, m.q_lora_rank, **kw)
            self.q_norm = _norm_weight(m.q_lora_rank, device, dtype)
            self.q_b = nn.Linear(m.q_lora_rank, q_width, **kw)
        self.kv_a = nn.Linear(h, self.rank + self.rope_dim, **kw)
        self.kv_norm = _norm_weight(self.rank, device, dtype)
        self.kv_b = nn.Linear(self.rank, self.heads * (self.nope + self.v_dim), **kw)
        self.o = nn.Linear(self.heads * self.v_dim, h, **kw)

    def _query(self, x: torch.Tensor, positions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """q_nope and rotated q_rope, each (B, heads, T, dim)."""
        batch, tokens, _ = x.shape
        low = x if self.q_a is None else rms_norm(self.q_a(x), self.q_norm)
        q = self.q_b(low).view(batch, tokens, self.heads, -1).transpose(1, 2)
        q_nope, q_rope = q.split([self.nope, self.rope_dim], dim=-1)
        return q_nope, rope(q_rope, positions)

    def _latent(self, x: torch.Tensor, positions: torch.Tensor) -> torch.Tensor:
        """The cache entry (B, 1, T, rank + rope): normalised latent, then rotated key."""
        latent, k_rope = self.kv_a(x).unsqueeze(1).split([self.rank, self.rope_dim], dim=-1)
        return torch.cat((rms_norm(latent, self.kv_norm), rope(k_rope, positions)), dim=-1)

    def prefill(self, x: torch.Tensor, cache: LayerCache) -> torch.Tensor:
        """Naive MLA over the prompt: decompress the latent into per-head keys and values."""
        batch, tokens, _ = x.shape
        positions = torch.arange(tokens, device=x.device)
        q_nope, q_rope = self._query(x, positions)
        entry = self._latent(x, positions)
        cache.fill(entry, None)
        latent, k_rope = entry.split([self.rank, self.rope_dim], dim=-1)
        kv = self.kv_b(latent.squeeze(1)).view(batch, tokens, self.heads, -1).transpose(1, 2)
        k_nope, v = kv.split([self.nope, self.v_dim], dim=-1)
        k = torch.cat((k_nope, k_rope.expand(-1, self.heads, -1, -1)), dim=-1)
        q = torch.cat((q_nope, q_rope), dim=-1)
        out = _attend(q, k, v, local_mask(tokens, cache, x.device), self.scale)
        return self.o(out.transpose(1, 2).reshape(batch, tokens, -1))

    def decode(self, x: torch.Tensor, pos: torch.Tensor, cache: LayerCache) -> torch.Tensor:
        """Absorbed MLA for one token per sequence: every head attends over the latent cache."""
        batch = x.shape[0]
        q_nope, q_rope = self._query(x, pos.view(1))
        cache.write(pos, self._latent(x, pos.view(1)), None)
        up = self.kv_b.weight.view(self.heads, self.nope + self.v_dim, self.rank)
        w_uk, w_uv = up.split([self.nope, self.v_dim], dim=1)
        q_latent = torch.einsum("bhtn,hnc->bhtc", q_nope, w_uk)
        q = torch.cat((q_latent, q_rope), dim=-1).view(batch, 1, self.heads, -1)
        values = cache.keys[..., : self.rank]
        if self.split_kv:
            out = decode_attend(q, cache.keys, values, cache.visible(pos), self.scale)
        else:
            mask = cache.visible(pos).view(1, 1, 1, -1)
            out = _attend(q, cache.keys, values, mask, self.scale)
        out = out.squeeze(1)
        out = torch.einsum("bhc,hvc->bhv", out, w_uv)
        return self.o(out.reshape(batch, 1, -1))


def attention(arch: Architecture, device: str, dtype: torch.dtype) -> nn.Module:
    """The attention layer the architecture uses."""
    if arch.mla is not None:
        return LatentAttention(arch, device, dtype)
    return GroupedQueryAttention(arch, device, dtype)
