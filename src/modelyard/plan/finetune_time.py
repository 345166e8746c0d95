"""How long a fine-tune takes and what it costs: training FLOPs per token against the GPUs.

FLOPs per token: a forward pass is 2·N (N = active parameters doing matmuls) plus causal
attention; a full fine-tune's backward is twice the forward (gradients for activations and
weights: 6·N in all); LoRA's backward skips the frozen weights' gradients (4·N in all, plus
6 FLOPs per adapter parameter); gradient checkpointing adds one more forward. Throughput =
MFU × peak BF16 FLOPS per GPU, MFU from a `yard measure --train` calibration when one exists,
else the framework's factor in finetune.yaml; each micro-batch also pays a fixed time per
layer (kernel launches, and for 4-bit bases the dequantization of every weight).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from modelyard.catalog.params import count_params
from modelyard.catalog.schema import Architecture, Model
from modelyard.errors import PlanError
from modelyard.plan.cluster import Cluster
from modelyard.plan.engines import Factor
from modelyard.plan.finetune import FinetuneSpec
from modelyard.plan.frameworks import get_framework


@dataclass(frozen=True)
class TrainFlops:
    """FLOPs one trained token costs, split for the basis."""

    matmul: float
    attention: float
    adapters: float
    recompute: float

    @property
    def total(self) -> float:
        return self.matmul + self.attention + self.adapters + self.recompute


@dataclass(frozen=True)
class FinetuneTime:
    """Throughput, step time, run time and cost of one fine-tune."""

    flops_per_token: float
    mfu: Factor
    tokens_per_s: float
    """Trained tokens per second, all GPUs together."""
    step_s: float
    """One optimizer step: micro-batch × grad-accum sequences on every GPU."""
    tokens: float | None
    """Tokens the whole run trains (dataset × epochs); None without --dataset-tokens."""
    hours: float | None
    usd_per_hour: float | None
    usd: float | None
    basis: list[str] = field(default_factory=list)


def _matmul_params(arch: Architecture) -> float:
    """Active parameters that multiply per token (the input embedding is a lookup)."""
    counts = count_params(arch)
    head = counts.embedding if arch.tie_word_embeddings else 0
    return counts.active - counts.embedding + head


def _attention_forward(arch: Architecture, seq_len: int) -> float:
    """Causal attention FLOPs per token in the forward pass (QK and PV, half the window)."""
    if arch.mla is not None:
        m = arch.mla
        dims = m.qk_nope_head_dim + m.qk_rope_head_dim + m.v_head_dim
    else:
        dims = 2 * arch.head_dim
    window = arch.sliding_window or seq_len
    spans = [seq_len if k == "G" else min(seq_len, window) for k in arch.layer_kinds()]
    return 2.0 * arch.num_attention_heads * dims * sum(spans) / 2


def train_flops(arch: Architecture, spec: FinetuneSpec, trainable: int) -> TrainFlops:
    """FLOPs per trained token for ``spec``."""
    n = _matmul_params(arch)
    attn = _attention_forward(arch, spec.seq_len)
    passes = 3.0 if spec.method == "full" else 2.0
    recompute = (2.0 * n + attn) if spec.grad_ckpt != "none" else 0.0
    adapters = 6.0 * trainable if spec.method != "full" else 0.0
    return TrainFlops(2.0 * n * passes, 3.0 * attn, adapters, recompute)


def _mfu(spec: FinetuneSpec, measured: Factor | None) -> Factor:
    if measured is not None:
        return measured
    return getattr(get_framework(spec.framework).mfu, spec.method)


def _overhead(spec: FinetuneSpec) -> Factor:
    return getattr(get_framework(spec.framework).overhead_ms_per_layer, spec.method)


def plan_finetune_time(
    model: Model,
    spec: FinetuneSpec,
    cluster: Cluster,
    trainable: int,
    measured_mfu: Factor | None = None,
    usd_per_gpu_hour: float | None = None,
) -> FinetuneTime:
    """Throughput, step time and (with dataset tokens) hours and dollars of ``spec``."""
    if model.architecture is None:
        raise PlanError(f"model {model.id!r} has no architecture; cannot size training time")
    peak = cluster.gpu.bf16_tflops
    if not peak:
        raise PlanError(f"{cluster.gpu.id}: no BF16 TFLOPS in the catalog; cannot size time")
    arch = model.architecture
    flops = train_flops(arch, spec, trainable)
    mfu, overhead = _mfu(spec, measured_mfu), _overhead(spec)
    micro = spec.tokens_per_micro_batch
    micro_s = arch.num_hidden_layers * overhead.value / 1e3
    micro_s += micro * flops.total / (peak * 1e12 * mfu.value)
    rate = cluster.count * micro / micro_s
    step_tokens = micro * spec.grad_accum * cluster.count
    tokens = spec.dataset_tokens * spec.epochs if spec.dataset_tokens else None
    hours = tokens / rate / 3600 if tokens else None
    hourly = usd_per_gpu_hour * cluster.count if usd_per_gpu_hour else cluster.hourly_usd()
    basis = [
        f"FLOPs/token {flops.total / 1e9:,.1f} G: matmuls {flops.matmul / 1e9:,.1f} "
        f"({'6' if spec.method == 'full' else '4'}·N) + attention {flops.attention / 1e9:,.2f} "
        f"+ adapters {flops.adapters / 1e9:,.2f} + recompute {flops.recompute / 1e9:,.1f}",
        f"{cluster.count} × {peak:g} TFLOPS × MFU {mfu.value:.2f} ({mfu.source})",
        f"+ {overhead.value:g} ms per layer per micro-batch ({overhead.source})",
    ]
    if spec.cpu_offload:
        basis.append("CPU offload moves states over PCIe each step: expect slower steps")
    if cluster.count > 1:
        basis.append("data parallel: no gradient communication time counted")
    return FinetuneTime(
        flops_per_token=flops.total,
        mfu=mfu,
        tokens_per_s=rate,
        step_s=step_tokens / rate,
        tokens=tokens,
        hours=hours,
        usd_per_hour=hourly,
        usd=hours * hourly if hours is not None and hourly is not None else None,
        basis=basis,
    )
