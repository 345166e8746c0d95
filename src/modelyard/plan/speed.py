"""How fast a deployment decodes and prefills: bytes and FLOPs per step against the GPU's peaks.

Decode step time = max(bytes read / (eta_bw × bandwidth), FLOPs / (eta_compute × FLOPS))
+ the engine's fixed step overhead. Bytes read are the weights a step touches (for MoE only
the experts the batch routes to: E·(1-(1-k/E)^B) per layer; the input embedding is a row
gather, not a read) plus every sequence's KV. Efficiencies come from engines.yaml, with
their sources, and are printed as the basis of every figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from modelyard.catalog.params import count_params
from modelyard.catalog.schema import Architecture, Model
from modelyard.errors import PlanError
from modelyard.plan.cluster import Cluster
from modelyard.plan.memory import (
    GIB,
    Deployment,
    WeightBytes,
    kv_bytes_per_sequence,
    weight_bytes,
)


@dataclass(frozen=True)
class DecodeEstimate:
    """One decode step at ``batch`` sequences of ``context`` tokens."""

    batch: int
    context: int
    weight_gb_read: float
    """Weights read per step, whole cluster, GB (decimal)."""
    kv_gb_read: float
    """KV read per step, whole cluster, GB (decimal)."""
    experts_touched: float | None
    """Routed experts read per MoE layer at this batch (None for dense models)."""
    tflop: float
    """FLOPs per step, whole cluster, in TFLOP."""
    memory_ms: float
    compute_ms: float
    overhead_ms: float
    step_ms: float
    bound: Literal["memory", "compute"]
    tok_s_per_sequence: float
    tok_s_total: float
    basis: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PrefillEstimate:
    """Processing a prompt of ``tokens`` before the first output token."""

    tokens: int
    tflop: float
    seconds: float
    tok_s: float
    ttft_s: float
    """Prefill plus one decode step (no queueing)."""
    basis: list[str] = field(default_factory=list)


def experts_touched(n_experts: int, top_k: int, batch: int) -> float:
    """Expected distinct experts ``batch`` tokens route to, with uniform routing."""
    return n_experts * (1 - (1 - top_k / n_experts) ** batch)


def _arch(model: Model) -> Architecture:
    if model.architecture is None:
        raise PlanError(f"model {model.id!r} has no architecture; cannot estimate speed")
    return model.architecture


def _weights_read(model: Model, weights: WeightBytes, batch: int) -> tuple[float, float | None]:
    """Bytes of weights one decode step reads, and the routed experts touched per layer."""
    parts = dict(weights.components)
    arch = _arch(model)
    if not arch.tie_word_embeddings:
        parts.pop("embedding")
    if arch.moe is None:
        return sum(parts.values()), None
    touched = experts_touched(arch.moe.n_routed_experts, arch.moe.num_experts_per_tok, batch)
    parts["routed_experts"] *= touched / arch.moe.n_routed_experts
    return sum(parts.values()), touched


def _active_params(model: Model) -> int:
    counts = count_params(_arch(model))
    return counts.active - counts.embedding


def _attention_flops(arch: Architecture, context: int) -> float:
    """FLOPs one new token spends attending to ``context`` cached tokens (QK and PV)."""
    if arch.mla is not None:
        m = arch.mla
        dims = m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim
    else:
        dims = 2 * arch.head_dim
    window = arch.sliding_window or context
    spans = [context if k == "G" else min(context, window) for k in arch.layer_kinds()]
    return 2.0 * arch.num_attention_heads * dims * sum(spans)


def peak_tflops(cluster: Cluster, dep: Deployment) -> float | None:
    """Dense tensor TFLOPS of one GPU for the format's compute type (FP8 for fp8 weights)."""
    gpu = cluster.gpu
    if dep.fmt.key == "fp8" and gpu.fp8_tflops:
        return gpu.fp8_tflops
    return gpu.bf16_tflops


def _offload_ms(dep: Deployment) -> float:
    """Time to read the layers llama.cpp left in RAM, at the host's bandwidth."""
    if not dep.offload_gib:
        return 0.0
    if not dep.host_bandwidth_gbps:
        raise PlanError("partial offload needs the host RAM bandwidth (catalog entry 'cpu')")
    host = dep.host_bandwidth_gbps * 1e9 * dep.engine.eta_bw.value
    return dep.offload_gib * GIB / host * 1e3


def decode(
    model: Model, cluster: Cluster, dep: Deployment, batch: int, context: int
) -> DecodeEstimate:
    """Decode speed of ``batch`` sequences that each hold ``context`` tokens."""
    arch, engine = _arch(model), dep.engine
    tp = dep.tensor_parallel(cluster)
    w_read, touched = _weights_read(model, weight_bytes(model, dep.fmt, engine), batch)
    w_read -= dep.offload_gib * GIB
    kv = batch * kv_bytes_per_sequence(arch, context, dep.kv_dtype, 1, tp) * tp
    eta = dep.eta_bw(batch, context)
    bw = cluster.gpu.bandwidth_gbps * 1e9 * eta.value * tp
    memory_ms = (w_read + kv) / bw * 1e3 + _offload_ms(dep)
    flops = batch * (2.0 * _active_params(model) + _attention_flops(arch, context))
    tflops = peak_tflops(cluster, dep)
    compute_ms = flops / (tflops * 1e12 * engine.eta_compute.value * tp) * 1e3 if tflops else 0.0
    overhead = engine.step_overhead_ms.value
    step = max(memory_ms, compute_ms) + overhead
    basis = [
        f"bytes/step: weights {w_read / 1e9:.2f} GB + KV {kv / 1e9:.2f} GB "
        f"over {cluster.gpu.bandwidth_gbps:g} GB/s × {tp} GPU(s) × eta_bw "
        f"{eta.value} ({eta.source})",
        f"FLOPs/step: {flops / 1e12:.2f} TFLOP over {tflops or 0:g} TFLOPS × {tp} × eta "
        f"{engine.eta_compute.value} ({engine.eta_compute.source})",
        f"step overhead {overhead} ms ({engine.step_overhead_ms.source})",
    ]
    if touched is not None:
        basis.append(f"MoE: {touched:.1f} of {arch.moe.n_routed_experts} experts read per layer")  # type: ignore[union-attr]
    if dep.offload_gib:
        basis.append(
            f"{dep.offload_gib:.2f} GiB of layers in RAM read at {dep.host_bandwidth_gbps:g} GB/s"
        )
    if dep.pipeline_parallel > 1:
        basis.append("pipeline stages run one after another: no decode speed-up from PP")
    return DecodeEstimate(
        batch=batch,
        context=context,
        weight_gb_read=w_read / 1e9,
        kv_gb_read=kv / 1e9,
        experts_touched=touched,
        tflop=flops / 1e12,
        memory_ms=memory_ms,
        compute_ms=compute_ms,
        overhead_ms=overhead,
        step_ms=step,
        bound="compute" if compute_ms > memory_ms else "memory",
        tok_s_per_sequence=1e3 / step,
        tok_s_total=batch * 1e3 / step,
        basis=basis,
    )


def prefill(model: Model, cluster: Cluster, dep: Deployment, tokens: int) -> PrefillEstimate:
    """Time to process a ``tokens``-long prompt (compute-bound), and the time to first token."""
    arch = _arch(model)
    tp = dep.tensor_parallel(cluster)
    tflops = peak_tflops(cluster, dep)
    if not tflops:
        raise PlanError(f"{cluster.gpu.id}: no TFLOPS figure in the catalog; cannot size prefill")
    # average position is tokens/2 for causal attention
    attention = _attention_flops(arch, max(tokens // 2, 1)) * tokens
    flops = 2.0 * _active_params(model) * tokens + attention
    eta = dep.engine.eta_compute
    seconds = flops / (tflops * 1e12 * eta.value * tp)
    first = decode(model, cluster, dep, 1, tokens)
    basis = [
        f"prefill FLOPs: 2 × {_active_params(model) / 1e9:.2f}B active params × {tokens:,} "
        f"+ attention = {flops / 1e12:.1f} TFLOP over {tflops:g} TFLOPS × {tp} × eta "
        f"{eta.value} ({eta.source})"
    ]
    return PrefillEstimate(
        tokens=tokens,
        tflop=flops / 1e12,
        seconds=seconds,
        tok_s=tokens / seconds,
        ttft_s=seconds + first.step_ms / 1e3,
        basis=basis,
    )
