"""A decoder built from a catalog Architecture with random weights, for measuring, not for text.

Memory use and speed do not depend on the weights' values, so the module is built directly on
the device in the chosen dtype from the catalog's shapes: embeddings, attention (GQA or MLA),
dense gated MLPs with one fused gate-up GEMM, mixture-of-experts layers (top-k routing, routed
and shared experts), local layers per ``layer_pattern`` and the norms ``norms_per_layer`` says.
Every gated MLP uses SiLU and every two-matrix MLP GELU: the activation changes values, not cost.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Literal

import torch
import torch.nn.functional as F
from torch import nn
from torch._dynamo import config as dynamo_config

from modelyard.catalog.schema import Architecture
from modelyard.measure.attention import attention, rms_norm
from modelyard.measure.kvcache import LayerCache, StaticKVCache
from modelyard.plan.calibration import measured_architecture

ExpertKernel = Literal["grouped_mm", "gather_bmm"]
Attend = Callable[[torch.Tensor], torch.Tensor]


class MLP(nn.Module):
    """A dense MLP: fused gate-up GEMM and SiLU when gated, else up, GELU, down."""

    def __init__(self, arch: Architecture, width: int, device: str, dtype: torch.dtype) -> None:
        super().__init__()
        self.gated = arch.mlp_gated
        kw = {"device": device, "dtype": dtype, "bias": False}
        self.up = nn.Linear(arch.hidden_size, width * (2 if self.gated else 1), **kw)
        self.down = nn.Linear(width, arch.hidden_size, **kw)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(_activate(self.up(x), self.gated))


def _activate(h: torch.Tensor, gated: bool) -> torch.Tensor:
    if not gated:
        return F.gelu(h)
    gate, up = h.chunk(2, dim=-1)
    return F.silu(gate) * up


def _weight(shape: tuple[int, ...], device: str, dtype: torch.dtype) -> nn.Parameter:
    bound = shape[-1] ** -0.5
    return nn.Parameter(torch.empty(shape, device=device, dtype=dtype).uniform_(-bound, bound))


def expert_kernel(arch: Architecture, device: str, dtype: torch.dtype) -> ExpertKernel:
    """``grouped_mm`` where torch's grouped GEMM runs on this device and these widths.

    The grouped GEMM reads only the experts that received tokens and needs no host sync, so a
    CUDA graph can hold it. The fallback gathers each routed token's expert weights and runs a
    batched GEMM: correct, but it copies the weights it reads, so it overstates decode time.
    """
    element = torch.empty(0, dtype=dtype).element_size()
    widths = (arch.hidden_size, arch.moe.moe_intermediate_size if arch.moe else 0)
    if not hasattr(torch, "_grouped_mm") or any(w * element % 16 for w in widths):
        return "gather_bmm"
    try:
        x = torch.ones(2, 16, device=device, dtype=dtype)
        w = torch.ones(2, 16, 16, device=device, dtype=dtype)
        offs = torch.tensor([1, 2], device=device, dtype=torch.int32)
        torch._grouped_mm(x, w.transpose(-2, -1), offs=offs)
    except (RuntimeError, NotImplementedError):
        return "gather_bmm"
    return "grouped_mm"


class MoE(nn.Module):
    """Routed experts (top-k of a softmax router) plus always-on shared experts."""

    def __init__(
        self, arch: Architecture, device: str, dtype: torch.dtype, kernel: ExpertKernel
    ) -> None:
        super().__init__()
        moe = arch.moe
        assert moe is not None
        self.top_k, self.experts, self.gated = (
            moe.num_experts_per_tok,
            moe.n_routed_experts,
            arch.mlp_gated,
        )
        self.kernel = kernel
        h, width, kw = arch.hidden_size, moe.moe_intermediate_size, {"device": device}
        kw["dtype"] = dtype
        self.router = nn.Linear(h, self.experts, bias=moe.router_bias, **kw)
        up = width * (2 if self.gated else 1)
        self.up = _weight((self.experts, up, h), device, dtype)
        self.down = _weight((self.experts, h, width), device, dtype)
        self.up_bias = _weight((self.experts, up), device, dtype) if moe.expert_bias else None
        self.down_bias = _weight((self.experts, h), device, dtype) if moe.expert_bias else None
        shared = moe.n_shared_experts * (moe.shared_expert_intermediate_size or width)
        self.shared = MLP(arch, shared, device, dtype) if shared else None

    def _experts(
        self, x: torch.Tensor, w: torch.Tensor, offs: torch.Tensor, rows: torch.Tensor
    ) -> torch.Tensor:
        """Each row of ``x`` (sorted by expert) times its expert's matrix (experts, out, in)."""
        if self.kernel == "grouped_mm":
            return torch._grouped_mm(x, w.transpose(-2, -1), offs=offs)
        return torch.bmm(x.unsqueeze(1), w[rows].transpose(-2, -1)).squeeze(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shape = x.shape
        flat = x.reshape(-1, shape[-1])
        scores, chosen = self.router(flat).topk(self.top_k, dim=-1)
        weights = scores.float().softmax(dim=-1).to(x.dtype).flatten()
        expert_of = chosen.flatten()
        order = expert_of.argsort(stable=True)
        rows, token = expert_of[order], order // self.top_k
        counts = torch.zeros(self.experts, dtype=torch.int32, device=x.device)
        counts.index_add_(0, expert_of, torch.ones_like(expert_of, dtype=torch.int32))
        offs = counts.cumsum(0, dtype=torch.int32)
        h = self._experts(flat[token], self.up, offs, rows)
        if self.up_bias is not None:
            h = h + self.up_bias[rows]
        y = self._experts(_activate(h, self.gated), self.down, offs, rows)
        if self.down_bias is not None:
            y = y + self.down_bias[rows]
        out = torch.zeros_like(flat).index_add_(0, token, y * weights[order, None])
        if self.shared is not None:
            out = out + self.shared(flat)
        return out.view(shape)


class Block(nn.Module):
    """One transformer block: attention and MLP (or MoE) with the architecture's norms.

    ``norms_per_layer`` 1 is a parallel block (one norm feeds both); 2 adds a pre-MLP norm;
    3 and 4 add post-attention and post-MLP norms (Gemma 2/3).
    """

    def __init__(
        self, arch: Architecture, index: int, device: str, dtype: torch.dtype, kernel: ExpertKernel
    ) -> None:
        super().__init__()
        self.attn = attention(arch, device, dtype)
        self.mlp: nn.Module = (
            MoE(arch, device, dtype, kernel)
            if arch.is_moe_layer(index)
            else MLP(arch, arch.intermediate_size, device, dtype)
        )
        h = arch.hidden_size
        self.norms = nn.ParameterList(
            [torch.ones(h, device=device, dtype=dtype) for _ in range(arch.norms_per_layer)]
        )

    def _norm(self, x: torch.Tensor, i: int) -> torch.Tensor:
        return rms_norm(x, self.norms[i]) if i < len(self.norms) else x

    def forward(self, x: torch.Tensor, pos: torch.Tensor, cache: LayerCache) -> torch.Tensor:
        """One decode step (B, 1, hidden) at position ``pos``: what ``compile`` compiles."""
        return self._residual(x, partial(self.attn.decode, pos=pos, cache=cache))

    def prefill(self, x: torch.Tensor, cache: LayerCache) -> torch.Tensor:
        """The prompt ``x`` (B, T, hidden) through the block, filling ``cache``."""
        return self._residual(x, partial(self.attn.prefill, cache=cache))

    def _residual(self, x: torch.Tensor, attend: Attend) -> torch.Tensor:
        """``attend`` maps normalised hidden states to the attention output."""
        if len(self.norms) == 1:
            normed = self._norm(x, 0)
            return x + attend(normed) + self.mlp(normed)
        x = x + self._norm(attend(self._norm(x, 0)), 2)
        return x + self._norm(self.mlp(self._norm(x, 1)), 3)


class Decoder(nn.Module):
    """The whole decoder: embedding, blocks, final norm and LM head (tied when the config is)."""

    def __init__(self, arch: Architecture, device: str, dtype: torch.dtype) -> None:
        super().__init__()
        self.arch = arch
        self.expert_kernel = expert_kernel(arch, device, dtype)
        self.embed = nn.Embedding(arch.vocab_size, arch.hidden_size, device=device, dtype=dtype)
        self.blocks = nn.ModuleList(
            Block(arch, i, device, dtype, self.expert_kernel) for i in range(arch.num_hidden_layers)
        )
        self.norm = nn.Parameter(torch.ones(arch.hidden_size, device=device, dtype=dtype))
        self.head = None
        if not arch.tie_word_embeddings:
            kw = {"device": device, "dtype": dtype, "bias": False}
            self.head = nn.Linear(arch.hidden_size, arch.vocab_size, **kw)

    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        x = rms_norm(x, self.norm)
        return self.head(x) if self.head is not None else x @ self.embed.weight.T

    def prefill(self, tokens: torch.Tensor, cache: StaticKVCache) -> torch.Tensor:
        """Run prompts ``tokens`` (B, T), fill ``cache``; logits (B, vocab) of the last token."""
        x = self.embed(tokens)
        for block, layer in zip(self.blocks, cache.layers, strict=True):
            x = block.prefill(x, layer)
        return self._logits(x[:, -1])

    def decode(self, tokens: torch.Tensor, pos: torch.Tensor, cache: StaticKVCache) -> torch.Tensor:
        """One step: ``tokens`` (B,) at position ``pos`` (0-d tensor); logits (B, vocab)."""
        x = self.embed(tokens).unsqueeze(1)
        for block, layer in zip(self.blocks, cache.layers, strict=True):
            x = block(x, pos, layer)
        return self._logits(x[:, 0])

    def split_decode_attention(self, batch: int, units: int) -> bool:
        """Use split-cache attention when ``batch`` × KV heads fill at most half of ``units``.

        Flash-decoding's rule: one block per (sequence, KV head) fills the GPU at large
        batches, where splitting only adds a reduction; at small ones splitting wins. On the
        H100 (132 SMs), Llama-3.1-8B at 32k tokens, batch 1: 26.5 ms per step unsplit, 8.7
        split; Qwen2.5-7B at batch 32 (128 blocks), 8k: 11.5 unsplit, 13.4 split. Returns
        the choice.
        """
        arch = self.arch
        kv_heads = 1 if arch.mla is not None else arch.num_key_value_heads
        split = 2 * batch * kv_heads <= units
        for block in self.blocks:
            block.attn.split_kv = split
        return split

    def compile_decode(self, **options: object) -> None:
        """Compile each block's decode step with torch.compile (Inductor by default).

        Serving engines fuse the small element-wise kernels around the GEMMs (rotary, norms,
        activation, residual adds); uncompiled, a step of a small batch is mostly launch
        gaps even inside a CUDA graph. Blocks share one compiled code (regional compilation),
        so a 60-layer model compiles as fast as a 1-layer one; a new shape recompiles with
        dynamic sizes, hence the raised recompile limit.
        """
        dynamo_config.recompile_limit = max(dynamo_config.recompile_limit, 64)
        for block in self.blocks:
            block.compile(**options)


def build_model(
    arch: Architecture, device: str, dtype: torch.dtype, layers: int | None = None
) -> Decoder:
    """The decoder of ``arch`` with random weights, allocated on ``device`` in ``dtype``.

    ``layers`` keeps only the first N blocks, each with its exact shape (a DeepSeek-V3 of a
    few layers on one GPU); see ``measured_architecture``.
    """
    with torch.no_grad():
        return Decoder(measured_architecture(arch, layers), device, dtype).eval()


def parameter_count(model: nn.Module) -> int:
    """Parameters the module holds (a tied LM head counted once)."""
    return sum(p.numel() for p in model.parameters())


def parameter_bytes(model: nn.Module) -> int:
    """Bytes of the module's parameters and buffers."""
    tensors = [*model.parameters(), *model.buffers()]
    return sum(t.numel() * t.element_size() for t in tensors)
