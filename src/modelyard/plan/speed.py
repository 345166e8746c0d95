"""How fast a deployment decodes and prefills: bytes and FLOPs per step against the GPU's peaks.

Decode step time = max(GPU time, the engine's CPU floor), where GPU time =
max(bytes read / (eta_bw × bandwidth), FLOPs / (eta_compute × FLOPS)) + MoE layers × the
engine's per-MoE-layer time + tensor-parallel all-reduces + its fixed step overhead. Engines
whose kernels read and then compute (llama.cpp) add the two instead of taking the larger, and
use a separate compute efficiency for small batches. On a CPU-only host the bandwidth is the
RAM's and the FLOPS are cores × GFLOP/s per core of the best instruction set.

Bytes read are the weights a step touches (for MoE only the experts the batch routes to:
E·(1-(1-k/E)^B) per layer; the input embedding is a row gather, not a read), every
sequence's KV, and the sampler's passes over each sequence's logits. Under load, the prompt
tokens a step also prefills (chunked prefill: batch × prompt / output on average) add FLOPs.
Efficiencies come from the engine profile (engines.yaml), with their sources, and are printed
as the basis of every figure.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from modelyard.catalog.params import count_params
from modelyard.catalog.schema import Architecture, Model
from modelyard.errors import PlanError
from modelyard.plan.deployment import Deployment
from modelyard.plan.kvcache import kv_bytes_per_sequence
from modelyard.plan.weights import GIB, WeightBytes, require_arch, weight_bytes


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
    moe_ms: float
    """Time the MoE layers add beyond their bytes (routing, expert dispatch)."""
    comm_ms: float
    """Tensor-parallel all-reduces."""
    overhead_ms: float
    """The engine's fixed GPU time per step."""
    cpu_floor_ms: float
    """The engine's CPU time per step; the step is never shorter."""
    prefill_tokens: float
    """Prompt tokens the step also processes (chunked prefill under load)."""
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


def _weights_read(
    arch: Architecture, weights: WeightBytes, batch: int
) -> tuple[float, float | None]:
    """Bytes of weights one decode step reads, and the routed experts touched per layer."""
    parts = dict(weights.components)
    if not arch.tie_word_embeddings:
        parts.pop("embedding")
    if arch.moe is None:
        return sum(parts.values()), None
    touched = experts_touched(arch.moe.n_routed_experts, arch.moe.num_experts_per_tok, batch)
    parts["routed_experts"] *= touched / arch.moe.n_routed_experts
    return sum(parts.values()), touched


def active_params(model: Model) -> int:
    """Parameters one token multiplies, the input embedding (a row gather) excluded."""
    counts = count_params(require_arch(model))
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


def _offload_ms(dep: Deployment) -> float:
    """Time to read the layers llama.cpp left in RAM, at the host's bandwidth."""
    if dep.offload is None:
        return 0.0
    host = dep.offload.host_bandwidth_gbps * 1e9 * dep.engine.eta_bw.value
    return dep.offload.gib * GIB / host * 1e3


def _moe_ms(arch: Architecture, dep: Deployment) -> float:
    moe_layers = count_params(arch).moe_layers
    return moe_layers * dep.engine.moe_layer_us.value / 1e3


def _allreduce_ms(arch: Architecture, dep: Deployment) -> float:
    """Two all-reduces per layer (after attention and after the MLP) at tensor parallel > 1."""
    factor = dep.engine.allreduce_us
    if dep.placement.tp == 1 or factor is None:
        return 0.0
    return 2 * arch.num_hidden_layers * factor.value / 1e3


def _sampling_bytes(arch: Architecture, dep: Deployment, batch: int) -> float:
    passes = dep.engine.sampling_passes
    return passes.value * 4 * arch.vocab_size * batch if passes else 0.0


@dataclass(frozen=True)
class _Rates:
    """What the hardware delivers to this engine: bytes/s, FLOP/s, and their sources."""

    bytes_per_s: float
    flops_per_s: float
    bw_basis: str
    flops_basis: str
    overlaps: bool


def _rates(dep: Deployment, batch: int, context: int, tokens: float) -> _Rates:
    engine, placement = dep.engine, dep.placement
    if dep.host is not None and engine.cpu is not None:
        host, cpu = dep.host, engine.cpu
        # llama.cpp's AMX kernels cover Q4_0/Q4_1 only; other formats run the AVX-512 ones
        isa = "avx512" if host.isa == "amx" and dep.fmt.key != "gguf-q4_0" else host.isa
        gflops = cpu.gflops(isa)
        return _Rates(
            host.bandwidth_gbps * 1e9 * cpu.eta_bw.value,
            host.cores * gflops.value * 1e9,
            f"RAM {host.bandwidth_gbps:g} GB/s ({host.bandwidth_basis}) × eta_bw "
            f"{cpu.eta_bw.value} ({engine.label}: {cpu.eta_bw.source})",
            f"{host.cores} cores × {gflops.value:g} GFLOP/s ({isa}; {engine.label}: "
            f"{gflops.source})",
            overlaps=True,
        )
    tp, gpu = placement.tp, dep.cluster.gpu
    eta = dep.eta_bw(batch, context)
    small = engine.small_batch
    eta_c = small.eta_compute if small and tokens <= small.max_batch else engine.eta_compute
    tflops = placement.peak_tflops or 0.0
    return _Rates(
        gpu.bandwidth_gbps * 1e9 * eta.value * tp,
        tflops * 1e12 * eta_c.value * tp,
        f"{gpu.bandwidth_gbps:g} GB/s × {tp} GPU(s) × eta_bw {eta.value} ({eta.source})",
        f"{tflops:g} TFLOPS × {tp} × eta {eta_c.value} ({engine.label}: {eta_c.source})",
        engine.compute_overlaps,
    )


def decode(
    model: Model, dep: Deployment, batch: int, context: int, prefill_tokens: float = 0.0
) -> DecodeEstimate:
    """Decode speed of ``batch`` sequences that each hold ``context`` tokens, while the step
    also prefills ``prefill_tokens`` prompt tokens of arriving requests."""
    arch, engine, placement = require_arch(model), dep.engine, dep.placement
    tp = placement.tp
    weights = weight_bytes(model, dep.fmt, engine, tp)
    w_read, touched = _weights_read(arch, weights, batch)
    w_read -= dep.offload.gib * GIB if dep.offload else 0.0
    kv = batch * kv_bytes_per_sequence(arch, context, dep.kv_dtype, 1, tp) * tp
    sampling = _sampling_bytes(arch, dep, batch)
    tokens = batch + prefill_tokens
    rates = _rates(dep, batch, context, tokens)
    memory_ms = (w_read + kv + sampling) / rates.bytes_per_s * 1e3 + _offload_ms(dep)
    flops = tokens * 2.0 * active_params(model) + batch * _attention_flops(arch, context)
    compute_ms = flops / rates.flops_per_s * 1e3 if rates.flops_per_s else 0.0
    moe_ms = _moe_ms(arch, dep)
    comm_ms = _allreduce_ms(arch, dep)
    overhead = engine.step_overhead_ms.value
    cpu = engine.cpu_floor_ms if dep.host is None else None
    floor = cpu.value if cpu else 0.0
    kernels = max(memory_ms, compute_ms) if rates.overlaps else memory_ms + compute_ms
    step = max(kernels + moe_ms + comm_ms + overhead, floor)
    basis = [
        f"bytes/step: weights {w_read / 1e9:.2f} GB + KV {kv / 1e9:.2f} GB + sampling "
        f"{sampling / 1e9:.3f} GB over {rates.bw_basis}",
        f"FLOPs/step: {flops / 1e12:.2f} TFLOP ({tokens:,.0f} tokens) over {rates.flops_basis}"
        + ("" if rates.overlaps else "; added to the read time (kernels do not overlap)"),
        f"step overhead {overhead} ms ({engine.label}: {engine.step_overhead_ms.source})",
    ]
    if cpu:
        basis.append(f"CPU floor {floor} ms per step ({engine.label}: {cpu.source})")
    if comm_ms and engine.allreduce_us:
        basis.append(
            f"tensor parallel: {comm_ms:.2f} ms of all-reduces (2 × {arch.num_hidden_layers} "
            f"layers × {engine.allreduce_us.value:g} µs; {engine.label}: "
            f"{engine.allreduce_us.source})"
        )
    if arch.moe is not None and touched is not None:
        basis.append(
            f"MoE: {touched:.1f} of {arch.moe.n_routed_experts} experts read per layer; "
            f"{moe_ms:.2f} ms routing ({engine.moe_layer_us.value:g} µs × MoE layers, "
            f"{engine.label}: {engine.moe_layer_us.source})"
        )
    if dep.offload is not None:
        basis.append(
            f"{dep.offload.gib:.2f} GiB of layers in RAM read at "
            f"{dep.offload.host_bandwidth_gbps:g} GB/s"
        )
    if placement.pp > 1:
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
        moe_ms=moe_ms,
        comm_ms=comm_ms,
        overhead_ms=overhead,
        cpu_floor_ms=floor,
        prefill_tokens=prefill_tokens,
        step_ms=step,
        bound="compute" if compute_ms > memory_ms else "memory",
        tok_s_per_sequence=1e3 / step,
        tok_s_total=batch * 1e3 / step,
        basis=basis,
    )


def prefill(model: Model, dep: Deployment, tokens: int) -> PrefillEstimate:
    """Time to process a ``tokens``-long prompt (compute-bound), and the time to first token."""
    arch = require_arch(model)
    if not dep.can_prefill:
        raise PlanError(
            f"{dep.cluster.gpu.id}: no TFLOPS figure in the catalog; cannot size prefill"
        )
    # average position is tokens/2 for causal attention
    attention = _attention_flops(arch, max(tokens // 2, 1)) * tokens
    flops = 2.0 * active_params(model) * tokens + attention
    rates = _rates(dep, tokens, tokens, float(tokens))
    seconds = flops / rates.flops_per_s
    first = decode(model, dep, 1, tokens)
    basis = [
        f"prefill FLOPs: 2 × {active_params(model) / 1e9:.2f}B active params × {tokens:,} "
        f"+ attention = {flops / 1e12:.1f} TFLOP over {rates.flops_basis}"
    ]
    return PrefillEstimate(
        tokens=tokens,
        tflop=flops / 1e12,
        seconds=seconds,
        tok_s=tokens / seconds,
        ttft_s=seconds + first.step_ms / 1e3,
        basis=basis,
    )
