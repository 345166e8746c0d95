"""Memory a deployment needs per GPU: weights, KV cache, engine reserves; what is left for KV.

All sizes are bytes internally and GiB (2**30 bytes) in results; field names say which.
Formulas and their evidence: research/planner.md §3.1-3.3 and docs/planner.md.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from modelyard.catalog.lora import serving_bytes
from modelyard.catalog.params import count_params
from modelyard.catalog.schema import Architecture, Model
from modelyard.errors import PlanError
from modelyard.plan.cluster import Cluster
from modelyard.plan.engines import Engine, Factor
from modelyard.plan.formats import WeightFormat, kv_bytes

GIB = float(2**30)
_LINEAR = ("attention", "dense_mlp", "routed_experts", "shared_experts")
_COMPONENTS = (*_LINEAR, "embedding", "lm_head", "router", "norms", "extra")
COMPUTE_UBATCH = 512
"""llama.cpp / Ollama default physical batch (n_ubatch), which sizes their compute buffer."""


@dataclass(frozen=True)
class WeightBytes:
    """Bytes of every weight component once stored in a format."""

    components: dict[str, float]
    """Bytes per ParamBreakdown component (embedding, lm_head, attention, routed_experts, ...)."""
    basis: str
    """How the figure was computed."""

    @property
    def total(self) -> float:
        return sum(self.components.values())


def _require_arch(model: Model) -> Architecture:
    if model.architecture is None:
        raise PlanError(
            f"model {model.id!r} has no architecture in the catalog (unverified); "
            "the planner cannot size it"
        )
    return model.architecture


def _quantized(fmt: WeightFormat, component: str) -> bool:
    if fmt.scope == "all":
        return True
    if fmt.scope == "linear":
        return component in _LINEAR
    return component == "routed_experts"


def _expert_padding(arch: Architecture, fmt: WeightFormat, engine: Engine | None) -> float:
    """vLLM pads MXFP4 expert widths (gpt-oss 2880 -> 3072); llm-d's sizes need it."""
    if fmt.key != "mxfp4" or engine is None or arch.moe is None:
        return 1.0
    width = arch.moe.moe_intermediate_size
    multiple = engine.mxfp4_intermediate_multiple
    return math.ceil(width / multiple) * multiple / width


def weight_bytes(model: Model, fmt: WeightFormat, engine: Engine | None = None) -> WeightBytes:
    """Bytes of the model's weights in ``fmt`` (as ``engine`` lays them out, when given)."""
    arch = _require_arch(model)
    counts = count_params(arch)
    pad = _expert_padding(arch, fmt, engine)
    components = {}
    for name in _COMPONENTS:
        params = getattr(counts, name)
        bits = fmt.bits if _quantized(fmt, name) else 16.0
        factor = pad if name == "routed_experts" else 1.0
        components[name] = params * bits / 8 * factor
    basis = f"{counts.total / 1e9:.2f}B params; {fmt.key}: {fmt.basis}"
    if pad != 1.0:
        basis += f"; experts padded ×{pad:.4f} by {engine.name if engine else ''} MXFP4 kernels"
    return WeightBytes(components, basis)


def kv_layer_bytes(arch: Architecture, dtype: str) -> float:
    """Bytes one token occupies in one layer's cache (MLA: latent + rope key, stored once)."""
    element = kv_bytes(dtype)
    if arch.mla is not None:
        return (arch.mla.kv_lora_rank + arch.mla.qk_rope_head_dim) * element
    return 2 * arch.num_key_value_heads * arch.head_dim * element


def kv_bytes_per_token(arch: Architecture, dtype: str) -> float:
    """Bytes per token summed over layers, as if every layer cached the whole context."""
    return kv_layer_bytes(arch, dtype) * arch.num_hidden_layers


def _tp_share(arch: Architecture, tp: int) -> float:
    """Share of a sequence's KV one tensor-parallel rank holds (MLA latents are replicated)."""
    if arch.mla is not None or tp <= 1:
        return 1.0
    heads = arch.num_key_value_heads
    return math.ceil(heads / tp) / heads


def kv_bytes_per_sequence(
    arch: Architecture, tokens: int, dtype: str, block: int = 1, tp: int = 1
) -> float:
    """Bytes one sequence of ``tokens`` caches on one GPU.

    Local (sliding-window or chunked) layers hold at most their window; sequences are
    rounded up to whole pages of ``block`` tokens; tensor parallelism splits KV heads.
    """
    per_layer = kv_layer_bytes(arch, dtype)
    window = arch.sliding_window or tokens
    total = 0.0
    for kind in arch.layer_kinds():
        cached = tokens if kind == "G" else min(tokens, window)
        total += per_layer * math.ceil(cached / block) * block
    return total * _tp_share(arch, tp)


@dataclass(frozen=True)
class Reserve:
    """Memory an engine holds on each GPU besides weights and KV."""

    name: str
    gib: float
    basis: str


def engine_reserves(engine: Engine, model: Model, tp: int) -> list[Reserve]:
    """CUDA context, non-torch memory and activation peak (or compute buffer) per GPU."""
    arch = _require_arch(model)
    ctx = engine.context_gib
    reserves = [Reserve("CUDA context", ctx.value, ctx.source)] if ctx.value else []
    non_torch = engine.non_torch_tp_gib if tp > 1 else engine.non_torch_gib
    if non_torch.value:
        reserves.append(Reserve("non-torch", non_torch.value, non_torch.source))
    if engine.is_gguf:
        buffer = 4 * COMPUTE_UBATCH * (arch.hidden_size + arch.vocab_size) / GIB
        source = engine.activation_gib["dense"].source
        reserves.append(Reserve("compute buffer", buffer, source))
    else:
        act = engine.activation(model)
        if act.value:
            reserves.append(Reserve("activation peak", act.value, act.source))
    return reserves


@dataclass(frozen=True)
class LoraSlots:
    """LoRA adapters served on the base model (vLLM --enable-lora, llama.cpp --lora)."""

    max_loras: int
    """Adapters resident on the GPU at once (vLLM --max-loras)."""
    max_rank: int
    """Largest adapter rank (vLLM --max-lora-rank)."""
    adapters: tuple[str, ...] = ()
    """Adapter names, for --lora-modules NAME=PATH; empty: placeholders."""


def lora_reserve(model: Model, slots: LoraSlots, tp: int, engine: Engine) -> Reserve:
    """GPU memory the adapter slots take (vLLM preallocates them; llama.cpp loads each one)."""
    arch = _require_arch(model)
    if engine.is_gguf:
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


@dataclass(frozen=True)
class MemoryPlan:
    """Memory per GPU for one deployment, and what it leaves for the KV cache."""

    model_id: str
    engine: str
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
    """Usable memory of one GPU."""
    budget_gib: float
    """What the engine lets itself use per GPU (gpu_gib × memory fraction)."""
    weights_gib: float
    """Weights per GPU."""
    weights_total_gib: float
    """Weights across all GPUs."""
    reserves: list[Reserve]
    kv_bytes_per_token: float
    """Whole-model KV bytes per token, counting every layer as global."""
    kv_sequence_gib: float
    """KV of one sequence at ``context`` on one GPU (windows and TP applied)."""
    kv_needed_gib: float
    """KV of ``batch`` sequences on one GPU."""
    kv_pool_gib: float
    """Memory left for KV on one GPU."""
    max_sessions: int
    """Sequences of ``context`` tokens the KV pool holds at once."""
    gpu_layers: int
    """Layers held on GPU (llama.cpp -ngl); all of them when the model fits."""
    layers: int
    offload_gib: float
    """Weights left in system RAM when only ``gpu_layers`` fit."""
    basis: list[str] = field(default_factory=list)
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
    def required_total_gib(self) -> float:
        return self.required_gib * self.gpus

    @property
    def fits(self) -> bool:
        return self.kv_pool_gib >= self.kv_needed_gib and self.kv_pool_gib > 0


@dataclass(frozen=True)
class MeasuredEta:
    """The share of peak bandwidth one measured decode point achieved."""

    batch: int
    context: int
    eta: Factor


def _nearest(points: tuple[MeasuredEta, ...], batch: int, context: int) -> Factor | None:
    """The point nearest to ``batch`` × ``context`` on a log scale."""

    def distance(point: MeasuredEta) -> float:
        return abs(math.log2(point.batch / batch)) + abs(math.log2(point.context / context))

    return min(points, key=distance).eta if points else None


@dataclass(frozen=True)
class Deployment:
    """How a model is served: engine, formats, context, batch and parallelism."""

    engine: Engine
    fmt: WeightFormat
    kv_dtype: str = "bf16"
    context: int = 8192
    batch: int = 1
    gpu_util: float | None = None
    """Override of the engine's memory fraction (vLLM --gpu-memory-utilization)."""
    pipeline_parallel: int = 1
    offload_gib: float = 0.0
    """Weights left in system RAM (llama.cpp partial offload)."""
    host_bandwidth_gbps: float | None = None
    """System RAM bandwidth, for the offloaded layers."""
    measured_eta_bw: tuple[MeasuredEta, ...] = ()
    """Decode eta_bw measured for this model on this GPU (`yard measure`)."""
    lora: LoraSlots | None = None
    """LoRA adapters served on the base model."""

    def eta_bw(self, batch: int, context: int) -> Factor:
        """The measured decode eta_bw nearest to ``batch`` × ``context``, else the engine's."""
        return _nearest(self.measured_eta_bw, batch, context) or self.engine.eta_bw

    def tensor_parallel(self, cluster: Cluster) -> int:
        if cluster.count % self.pipeline_parallel:
            raise PlanError(
                f"--pp {self.pipeline_parallel} does not divide {cluster.count} GPUs evenly"
            )
        return cluster.count // self.pipeline_parallel

    def fraction(self) -> float:
        return self.gpu_util if self.gpu_util is not None else self.engine.memory_fraction.value


def plan_memory(model: Model, cluster: Cluster, dep: Deployment) -> MemoryPlan:
    """Per-GPU weights, reserves and KV for ``model`` served as ``dep`` on ``cluster``."""
    arch = _require_arch(model)
    tp = dep.tensor_parallel(cluster)
    split = cluster.count
    weights = weight_bytes(model, dep.fmt, dep.engine)
    reserves = engine_reserves(dep.engine, model, tp)
    if dep.lora is not None:
        reserves.append(lora_reserve(model, dep.lora, tp, dep.engine))
    budget = cluster.usable_gib * dep.fraction()
    block = dep.engine.kv_block_tokens
    seq = kv_bytes_per_sequence(arch, dep.context, dep.kv_dtype, block, tp) / GIB
    seq /= dep.pipeline_parallel
    weights_gib = weights.total / GIB / split
    pool = budget - weights_gib - sum(r.gib for r in reserves)
    gpu_layers, offload = _gpu_layers(arch, weights, dep, budget, reserves, seq, split)
    basis = [
        f"GPU: {cluster.usable_gib:.2f} GiB × {dep.fraction():g} ({_fraction_source(dep)})",
        f"weights: {weights.total / GIB:.2f} GiB total, /{split} GPUs; {weights.basis}",
        f"KV: {_kv_basis(arch, dep)}",
        *(f"{r.name}: {r.gib:.2f} GiB ({r.basis})" for r in reserves),
    ]
    return MemoryPlan(
        model_id=model.id,
        engine=dep.engine.id,
        quant=dep.fmt.key,
        kv_dtype=dep.kv_dtype,
        context=dep.context,
        batch=dep.batch,
        gpus=cluster.count,
        tensor_parallel=tp,
        pipeline_parallel=dep.pipeline_parallel,
        gpu_gib=cluster.usable_gib,
        budget_gib=budget,
        weights_gib=weights_gib,
        weights_total_gib=weights.total / GIB,
        reserves=reserves,
        kv_bytes_per_token=kv_bytes_per_token(arch, dep.kv_dtype),
        kv_sequence_gib=seq,
        kv_needed_gib=seq * dep.batch,
        kv_pool_gib=max(pool, 0.0),
        max_sessions=int(max(pool, 0.0) // seq) if seq else 0,
        gpu_layers=gpu_layers,
        layers=arch.num_hidden_layers,
        offload_gib=offload,
        basis=basis,
        lora=dep.lora,
    )


def _fraction_source(dep: Deployment) -> str:
    return "your --gpu-util" if dep.gpu_util is not None else dep.engine.memory_fraction.source


def _kv_basis(arch: Architecture, dep: Deployment) -> str:
    layer = kv_layer_bytes(arch, dep.kv_dtype)
    if arch.mla is not None:
        shape = f"MLA latent {arch.mla.kv_lora_rank} + rope {arch.mla.qk_rope_head_dim}"
    else:
        shape = f"2 × {arch.num_key_value_heads} KV heads × {arch.head_dim}"
    text = f"{shape} × {kv_bytes(dep.kv_dtype):g} B ({dep.kv_dtype}) = {layer:,.0f} B/token/layer"
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
    split: int,
) -> tuple[int, float]:
    """Layers that fit on the GPUs (llama.cpp -ngl) and the weight GiB left in RAM."""
    layers = arch.num_hidden_layers
    edges = (weights.components["embedding"] + weights.components["lm_head"]) / GIB
    per_layer = (weights.total / GIB - edges) / layers
    kv_layer = seq_gib * dep.batch * split / layers
    free = (budget - sum(r.gib for r in reserves)) * split - edges
    fit = max(0, min(layers, int(free // (per_layer + kv_layer)))) if free > 0 else 0
    if not dep.engine.is_gguf:
        fit = layers if budget * split >= weights.total / GIB else fit
    return fit, (layers - fit) * per_layer
