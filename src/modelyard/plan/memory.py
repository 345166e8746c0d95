"""Memory a deployment needs per GPU: weights, KV cache, engine reserves; what is left for KV.

All sizes are bytes internally and GiB (2**30 bytes) in results; field names say which.
Formulas and their evidence: research/planner.md §3.1-3.3 and docs/planner.md. The parts
live beside this module: ``weights`` (bytes per format), ``kvcache`` (bytes per token and
what a pool admits), ``reserves`` (what the engine holds besides both).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from modelyard.catalog.lora import serving_bytes
from modelyard.catalog.schema import Architecture, Model
from modelyard.plan.deployment import Deployment, LoraSlots
from modelyard.plan.formats import kv_bytes
from modelyard.plan.kvcache import (
    KvLayout,
    KvShape,
    kv_bytes_per_token,
    kv_layer_bytes,
    vllm_layout,
    window_layout,
)
from modelyard.plan.reserves import (
    Reserve,
    batch_limits,
    engine_reserves,
    headroom_warnings,
    usable_gib,
)
from modelyard.plan.weights import GIB, WeightBytes, require_arch, weight_bytes


@dataclass(frozen=True)
class MemoryPlan:
    """Memory per GPU for one deployment, and what it leaves for the KV cache."""

    model_id: str
    engine: str
    """The engine profile (``vllm@0.19``)."""
    quant: str
    kv_dtype: str
    context: int
    """Tokens per sequence the plan sizes for."""
    batch: int
    """Concurrent sequences the plan must hold at ``context``."""
    gpus: int
    tensor_parallel: int
    pipeline_parallel: int
    gpu_gib: float
    """Memory of one GPU the engine's share is taken of."""
    budget_gib: float
    """What the engine lets itself use per GPU (gpu_gib × memory fraction)."""
    weights_gib: float
    """Weights per GPU (of the heaviest pipeline stage)."""
    weights_total_gib: float
    """Weights across all GPUs."""
    reserves: list[Reserve]
    kv_bytes_per_token: float
    """Whole-model KV bytes per token, counting every layer as global."""
    kv_sequence_gib: float
    """KV one sequence at ``context`` is charged on one GPU (windows, pages and TP applied)."""
    kv_needed_gib: float
    """KV of ``batch`` sequences on one GPU."""
    kv_pool_gib: float
    """Memory left for KV on one GPU."""
    kv_tokens: int
    """Tokens the pool holds, every layer counted (vLLM's "GPU KV cache size")."""
    concurrency: float
    """Sequences of ``context`` tokens the KV pool admits, fractional (vLLM logs this)."""
    max_sessions: int
    """Whole sequences of ``context`` tokens the KV pool admits at once."""
    gpu_layers: int
    """Layers held on GPU (llama.cpp -ngl); all of them when the model fits."""
    layers: int
    offload_gib: float
    """Weights left in system RAM when only ``gpu_layers`` fit."""
    device: str = "GPU"
    """What holds the model: ``GPU``, or ``RAM`` on a CPU-only host."""
    basis: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lora: LoraSlots | None = None
    """Adapter slots the deployment serves (their memory is one of ``reserves``)."""

    @property
    def reserve_gib(self) -> float:
        return sum(r.gib for r in self.reserves)

    @property
    def required_gib(self) -> float:
        """Per-GPU memory the deployment needs (before the engine's memory fraction)."""
        return self.weights_gib + self.reserve_gib + self.kv_needed_gib

    @property
    def fits(self) -> bool:
        return self.max_sessions >= self.batch and self.kv_pool_gib > 0


def _layout(arch: Architecture, pool: float, dep: Deployment) -> KvLayout:
    shape = KvShape(
        dtype=dep.kv_dtype,
        context=dep.context,
        block=dep.engine.kv_block_tokens,
        tp=dep.placement.tp,
        pp=dep.placement.pp,
        batched_tokens=batch_limits(dep.engine, dep)[1],
    )
    if dep.engine.kv_accounting == "vllm_groups":
        return vllm_layout(arch, pool * GIB, shape)
    return window_layout(arch, pool * GIB, shape)


def plan_memory(model: Model, dep: Deployment) -> MemoryPlan:
    """Per-GPU weights, reserves and KV for ``model`` served as ``dep``."""
    arch = require_arch(model)
    placement = dep.placement
    weights = weight_bytes(model, dep.fmt, dep.engine, placement.tp)
    reserves = engine_reserves(model, dep)
    if dep.lora is not None:
        reserves.append(lora_reserve(model, dep.lora, placement.tp, dep.engine.is_gguf))
    gpu = usable_gib(dep)
    budget = gpu * dep.fraction()
    weights_gib = _stage_bytes(weights, arch, placement.pp) / GIB / placement.tp
    pool = max(budget - weights_gib - sum(r.gib for r in reserves), 0.0)
    layout = _layout(arch, pool, dep)
    gpu_layers, offload = _gpu_layers(arch, weights, dep, budget, reserves, layout.sequence_gib)
    device = "RAM" if dep.on_cpu else "GPU"
    basis = [
        f"{device}: {gpu:.2f} GiB × {dep.fraction():g} ({_fraction_source(dep)})",
        f"weights: {weights.total / GIB:.2f} GiB total"
        + ("" if dep.on_cpu else f", /{placement.gpus} GPUs")
        + f"; {weights.basis}",
        f"KV: {_kv_basis(arch, dep)}; {layout.basis}",
        *(f"{r.name}: {r.gib:.2f} GiB ({r.basis})" for r in reserves),
    ]
    return MemoryPlan(
        model_id=model.id,
        engine=dep.engine.key,
        quant=dep.fmt.key,
        kv_dtype=dep.kv_dtype,
        context=dep.context,
        batch=dep.batch,
        gpus=placement.gpus,
        tensor_parallel=placement.tp,
        pipeline_parallel=placement.pp,
        gpu_gib=gpu,
        budget_gib=budget,
        weights_gib=weights_gib,
        weights_total_gib=weights.total / GIB,
        reserves=reserves,
        kv_bytes_per_token=kv_bytes_per_token(arch, dep.kv_dtype),
        kv_sequence_gib=layout.sequence_gib,
        kv_needed_gib=layout.sequence_gib * dep.batch,
        kv_pool_gib=pool,
        kv_tokens=layout.tokens,
        concurrency=layout.concurrency,
        max_sessions=int(layout.concurrency),
        gpu_layers=gpu_layers,
        layers=arch.num_hidden_layers,
        offload_gib=offload,
        device=device,
        basis=basis,
        warnings=headroom_warnings(dep),
        lora=dep.lora,
    )


def lora_reserve(model: Model, slots: LoraSlots, tp: int, gguf: bool) -> Reserve:
    """GPU memory the adapter slots take (vLLM preallocates them; llama.cpp loads each one)."""
    arch = require_arch(model)
    if gguf:
        count = max(len(slots.adapters), 1)
        gib = serving_bytes(arch, count, slots.max_rank) / GIB
        basis = f"{count} adapter(s) of rank {slots.max_rank} on every linear layer, f16 GGUF"
        return Reserve("LoRA adapters", gib, basis)
    gib = serving_bytes(arch, slots.max_loras, slots.max_rank, tp) / GIB
    basis = (
        f"{slots.max_loras} slots × rank {slots.max_rank} on every LoRA-capable layer, "
        "bf16, preallocated (vllm/lora/layers create_lora_weights)"
    )
    return Reserve("LoRA slots", gib, basis)


def _stage_bytes(weights: WeightBytes, arch: Architecture, pp: int) -> float:
    """Weights of the heaviest pipeline stage: an even share of the layers, plus the input
    embedding on the first stage and the output head on the last (vLLM allocates the head on
    the last stage even when it is tied to the embedding)."""
    if pp == 1:
        return weights.total
    parts = weights.components
    embedding = parts["embedding"]
    head = parts["lm_head"] or embedding
    layers = weights.total - embedding - parts["lm_head"]
    per_stage = layers * math.ceil(arch.num_hidden_layers / pp) / arch.num_hidden_layers
    return per_stage + max(embedding, head)


def _fraction_source(dep: Deployment) -> str:
    if dep.gpu_util is not None:
        return "your --gpu-util"
    hidden = dep.engine.cuda_hidden_gib
    source = dep.engine.memory_fraction.source
    return (
        f"{source}; {hidden.value:g} GiB not in CUDA's total: {hidden.source}" if hidden else source
    )


def _kv_basis(arch: Architecture, dep: Deployment) -> str:
    layer = kv_layer_bytes(arch, dep.kv_dtype)
    if arch.mla is not None:
        shape = f"MLA latent {arch.mla.kv_lora_rank} + rope {arch.mla.qk_rope_head_dim}"
    else:
        shape = f"2 × {arch.num_key_value_heads} KV heads × {arch.head_dim}"
    element = kv_bytes(dep.kv_dtype)
    text = f"{shape} × {element:g} B ({dep.kv_dtype}) = {layer:,.0f} B/token/layer"
    if arch.sliding_window:
        local = arch.layer_kinds().count("L")
        text += (
            f"; {local} of {arch.num_hidden_layers} layers {arch.local_attention} "
            f"at {arch.sliding_window:,} tokens"
        )
    return text


def _gpu_layers(
    arch: Architecture,
    weights: WeightBytes,
    dep: Deployment,
    budget: float,
    reserves: list[Reserve],
    seq_gib: float,
) -> tuple[int, float]:
    """Layers that fit on the GPUs (llama.cpp -ngl) and the weight GiB left in RAM."""
    if dep.on_cpu:
        return arch.num_hidden_layers, 0.0
    split = dep.placement.gpus
    layers = arch.num_hidden_layers
    edges = (weights.components["embedding"] + weights.components["lm_head"]) / GIB
    per_layer = (weights.total / GIB - edges) / layers
    kv_layer = seq_gib * dep.batch * split / layers
    free = (budget - sum(r.gib for r in reserves)) * split - edges
    fit = max(0, min(layers, int(free // (per_layer + kv_layer)))) if free > 0 else 0
    if not dep.engine.is_gguf:
        fit = layers if budget * split >= weights.total / GIB else fit
    return fit, (layers - fit) * per_layer
