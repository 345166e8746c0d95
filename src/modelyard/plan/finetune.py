"""Memory a fine-tune needs per GPU: weights, adapters, gradients, optimizer, activations, loss.

A full fine-tune trains every weight; LoRA freezes the base weights (bf16) and trains
r·(d_in + d_out) parameters per adapted matrix; QLoRA stores the frozen linear weights in
4-bit NF4 with double-quantized block constants. Activations are what autograd keeps per token
per layer (finetune.yaml, per framework), all of it without checkpointing, one bf16 hidden
vector per layer with it (the layer's input), none on the GPU when checkpoints go to CPU; the
layer being recomputed and the loss over the vocabulary come on top. Several GPUs split the
batch (DDP) and, with ZeRO-2 / ZeRO-3 / FSDP, shard optimizer, gradients and weights.
All sizes are bytes internally and GiB (2**30) in results.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Literal

from modelyard.catalog.lora import adapted_per_layer, lora_params, matrices
from modelyard.catalog.params import ParamBreakdown, count_params
from modelyard.catalog.schema import Architecture, Model
from modelyard.errors import PlanError
from modelyard.plan.frameworks import Activations, Framework, device_factors, get_framework

GIB = float(2**30)
Method = Literal["full", "lora", "qlora"]
Checkpointing = Literal["none", "full", "offload"]
Optimizer = Literal["adamw", "adamw-8bit", "paged-adamw-8bit", "sgd"]
Precision = Literal["bf16", "fp16"]
Sharding = Literal["ddp", "zero2", "zero3", "fsdp"]
QloraBase = Literal["nf4", "gptq"]
METHODS: tuple[Method, ...] = ("full", "lora", "qlora")
CHECKPOINTING: tuple[Checkpointing, ...] = ("none", "full", "offload")
OPTIMIZERS: tuple[Optimizer, ...] = ("adamw", "adamw-8bit", "paged-adamw-8bit", "sgd")
PRECISIONS: tuple[Precision, ...] = ("bf16", "fp16")
SHARDINGS: tuple[Sharding, ...] = ("ddp", "zero2", "zero3", "fsdp")
NF4_DQ_BITS = 4 + 8 / 64 + 32 / (64 * 256)
"""NF4 with double quantization: 4-bit codes, an 8-bit absmax per 64 weights and an fp32
constant per 256 absmax blocks (QLoRA paper §3, bitsandbytes blocksize 64)."""
GPTQ_BITS = 4 + 16 / 128 + 4 / 128
"""GPTQ int4, group 128: an fp16 scale and a 4-bit zero per group (plan/formats.py)."""
_LINEAR = ("attention", "dense_mlp", "routed_experts", "shared_experts")
_STATE_BYTES = {"adamw": 2.0, "adamw-8bit": 2.0, "paged-adamw-8bit": 2.0, "sgd": 0.0}
"""Optimizer states per trainable parameter, as multiples of the parameter's bytes (AdamW:
two moments in the parameter's dtype) or absolute bytes for 8-bit AdamW (two 1-byte moments)."""


@dataclass(frozen=True)
class FinetuneSpec:
    """What to train and how: the settings `yard plan --finetune` takes."""

    method: Method
    rank: int = 16
    targets: tuple[str, ...] = ("q", "k", "v", "o", "gate", "up", "down", "router")
    seq_len: int = 2048
    micro_batch: int = 1
    grad_accum: int = 1
    grad_ckpt: Checkpointing = "full"
    optimizer: Optimizer = "adamw"
    precision: Precision = "bf16"
    sharding: Sharding = "ddp"
    cpu_offload: bool = False
    """Optimizer states (and, with zero3/fsdp, weights) live in CPU memory."""
    framework: str = "hf"
    qlora_base: QloraBase = "nf4"
    """QLoRA's frozen base: bitsandbytes NF4 (the QLoRA paper) or a GPTQ int4 checkpoint."""
    dataset_tokens: float | None = None
    epochs: float = 1.0

    @property
    def tokens_per_micro_batch(self) -> int:
        return self.seq_len * self.micro_batch


@dataclass(frozen=True)
class Part:
    """One line of the per-GPU memory breakdown."""

    name: str
    gib: float
    basis: str
    counted: bool = True
    """False for memory outside torch's allocator that may spill to CPU (paged optimizers)."""


@dataclass(frozen=True)
class FinetuneMemory:
    """Per-GPU memory of one fine-tune, and whether it fits."""

    model_id: str
    spec: FinetuneSpec
    framework: str
    gpus: int
    gpu_name: str
    gpu_gib: float
    params: int
    trainable: int
    parts: list[Part]
    peak_allocated_gib: float
    """What torch.cuda.max_memory_allocated would report."""
    device_gib: float
    """What nvidia-smi would show: allocated + allocator slack + CUDA context."""
    basis: list[str] = field(default_factory=list)

    @property
    def fits(self) -> bool:
        return self.device_gib <= self.gpu_gib

    @property
    def verdict(self) -> str:
        """Fit per GPU with the reason, and what would help when it does not fit."""
        share = f"{self.device_gib:.1f} of {self.gpu_gib:.1f} GiB per {self.gpu_name}"
        if self.fits:
            return f"fits: {share} ({self.gpu_gib - self.device_gib:.1f} GiB spare)"
        largest = max((p for p in self.parts if p.counted), key=lambda p: p.gib)
        return f"does not fit: needs {share}; largest part {largest.name} {largest.gib:.1f} GiB"


def _arch(model: Model) -> Architecture:
    if model.architecture is None:
        raise PlanError(f"model {model.id!r} has no architecture in the catalog; cannot plan")
    return model.architecture


def validate_spec(spec: FinetuneSpec, gpus: int) -> None:
    """Raise PlanError for settings no framework can run."""
    for name, value, allowed in (
        ("--finetune", spec.method, METHODS),
        ("--grad-ckpt", spec.grad_ckpt, CHECKPOINTING),
        ("--optimizer", spec.optimizer, OPTIMIZERS),
        ("--precision", spec.precision, PRECISIONS),
        ("--sharding", spec.sharding, SHARDINGS),
        ("--qlora-base", spec.qlora_base, ("nf4", "gptq")),
    ):
        if value not in allowed:
            raise PlanError(f"{name} {value!r}: choose one of {', '.join(allowed)}")
    for name, number in (
        ("--seq-len", spec.seq_len),
        ("--micro-batch", spec.micro_batch),
        ("--grad-accum", spec.grad_accum),
    ):
        if number < 1:
            raise PlanError(f"{name} {number}: must be at least 1")
    if spec.epochs <= 0:
        raise PlanError(f"--epochs {spec.epochs}: must be positive")
    if spec.method == "qlora" and spec.sharding in ("zero3", "fsdp") and gpus > 1:
        return  # FSDP-QLoRA (bitsandbytes quant_storage) shards 4-bit weights; allowed
    if spec.method == "qlora" and spec.precision == "fp16" and spec.framework == "torchtune":
        raise PlanError("torchtune's QLoRA runs in bf16 only; use --precision bf16")


def _weight_bytes(counts: ParamBreakdown, spec: FinetuneSpec, fw: Framework) -> tuple[float, str]:
    """Base weights on one GPU before sharding, and how they are stored."""
    if spec.method == "qlora":
        linear = sum(getattr(counts, c) for c in _LINEAR)
        rest = counts.decoder - linear
        nf4 = spec.qlora_base == "nf4"
        bits, name = (NF4_DQ_BITS, "NF4 + double quant") if nf4 else (GPTQ_BITS, "GPTQ int4 g128")
        rest_bytes = fw.qlora_unquantized_bytes.value if nf4 else 2.0
        total = linear * bits / 8 + rest * rest_bytes
        return total, (
            f"{linear / 1e9:.2f}B linear params in {name} ({bits:.3f} bits) + {rest / 1e9:.2f}B "
            f"embeddings/norms/router at {rest_bytes:g} B"
            + (f" ({fw.qlora_unquantized_bytes.source})" if nf4 else "")
        )
    if spec.method == "full" and spec.precision == "fp16":
        return counts.decoder * 6.0, "fp32 master weights (4 B) + fp16 autocast copies (2 B)"
    return counts.decoder * 2.0, f"{spec.precision} weights, 2 B per parameter"


def _trainable_bytes(spec: FinetuneSpec, fw: Framework) -> float:
    """Bytes per trainable parameter (and per gradient)."""
    if spec.method != "full":
        return fw.adapter_bytes.value
    return 4.0 if spec.precision == "fp16" else 2.0


def _optimizer_bytes(spec: FinetuneSpec, fw: Framework) -> float:
    per = _STATE_BYTES[spec.optimizer]
    return per * _trainable_bytes(spec, fw) if spec.optimizer == "adamw" else per


def _layer_bytes(arch: Architecture, act: Activations, spec: FinetuneSpec) -> float:
    """Bytes autograd keeps per token for one layer, without checkpointing."""
    moe = arch.moe
    width = float(arch.intermediate_size)
    if moe is not None:
        moe_layers = sum(arch.is_moe_layer(i) for i in range(arch.num_hidden_layers))
        moe_share = moe_layers / arch.num_hidden_layers
        routed = moe.num_experts_per_tok * moe.moe_intermediate_size
        shared_width = moe.shared_expert_intermediate_size or moe.moe_intermediate_size
        shared = moe.n_shared_experts * shared_width
        width = (1 - moe_share) * width + moe_share * (routed + shared)
    q = arch.num_attention_heads * arch.head_dim
    kv = arch.num_key_value_heads * arch.head_dim
    rank = spec.rank * adapted_per_layer(arch, spec.targets) if spec.method != "full" else 0
    return (
        act.hidden * arch.hidden_size
        + act.intermediate * width
        + act.q * q
        + act.kv * kv
        + act.heads * arch.num_attention_heads
        + act.rank * rank
    )


def layer_activation_bytes(arch: Architecture, spec: FinetuneSpec) -> float:
    """Bytes per token one layer keeps for backward under ``spec`` (no checkpointing)."""
    fw = get_framework(spec.framework)
    act = fw.activations_full if spec.method == "full" else fw.activations_lora
    return _layer_bytes(arch, act, spec) * fw.activation_scale.value


@dataclass(frozen=True)
class _Activations:
    saved: float
    """Bytes kept for backward at the end of the forward pass, one GPU."""
    layer: float
    """One layer's activations (recomputed under checkpointing), one GPU."""
    loss: float
    """Peak bytes around the loss over the vocabulary, one GPU."""
    basis: list[str]


def _activations(arch: Architecture, spec: FinetuneSpec, fw: Framework) -> _Activations:
    tokens = spec.tokens_per_micro_batch
    act = fw.activations_full if spec.method == "full" else fw.activations_lora
    per_layer = layer_activation_bytes(arch, spec)
    layers = arch.num_hidden_layers
    ckpt = fw.checkpoint_hidden_bytes.value * arch.hidden_size
    saved = {
        "none": per_layer * layers,
        "full": ckpt * layers,
        "offload": ckpt * 2,  # the layer in flight and the one being prefetched
    }[spec.grad_ckpt] * tokens
    layer = per_layer * tokens if spec.grad_ckpt != "none" else 0.0
    loss = fw.logits_bytes.value * arch.vocab_size * tokens
    basis = [
        f"{per_layer / 1024:,.1f} KiB per token per layer ({act.source}); "
        f"grad-ckpt {spec.grad_ckpt}: {saved / GIB:.2f} GiB kept for {tokens:,} tokens",
        f"loss: {fw.logits_bytes.value:g} B × {arch.vocab_size:,} vocab × {tokens:,} tokens "
        f"({fw.logits_bytes.source})",
    ]
    return _Activations(saved, layer, loss, basis)


def _shards(spec: FinetuneSpec, gpus: int) -> tuple[int, int, int]:
    """How many ways weights, gradients and optimizer states are split."""
    if gpus == 1 or spec.sharding == "ddp":
        return 1, 1, 1
    if spec.sharding == "zero2":
        return 1, gpus, gpus
    return gpus, gpus, gpus


def plan_finetune_memory(
    model: Model, spec: FinetuneSpec, gpus: int, gpu_name: str, gpu_gib: float
) -> FinetuneMemory:
    """Per-GPU memory breakdown and fit verdict for ``spec`` on ``gpus`` GPUs."""
    validate_spec(spec, gpus)
    arch = _arch(model)
    fw = get_framework(spec.framework)
    counts = count_params(arch)
    trainable = (
        counts.decoder if spec.method == "full" else lora_params(arch, spec.targets, spec.rank)
    )
    w_shard, g_shard, o_shard = _shards(spec, gpus)
    weights, weight_basis = _weight_bytes(counts, spec, fw)
    offload_weights = spec.cpu_offload and w_shard > 1
    per_param = _trainable_bytes(spec, fw)
    keeps = spec.method != "full" or fw.full_keeps_grads or spec.grad_accum > 1
    grads = trainable * per_param / g_shard if keeps else 0.0
    opt = trainable * _optimizer_bytes(spec, fw) / o_shard
    adapter = trainable * per_param if spec.method != "full" else 0.0
    acts = _activations(arch, spec, fw)
    listed: list[Part | None] = [
        Part("base weights", 0.0 if offload_weights else weights / w_shard / GIB, weight_basis),
        *_gathered(arch, counts, spec, w_shard, weights),
        Part("adapters", adapter / GIB, f"{trainable / 1e6:,.1f}M params × {per_param:g} B")
        if adapter
        else None,
        Part("gradients", grads / GIB, _grad_basis(spec, per_param, g_shard, keeps)),
        _optimizer_part(spec, fw, opt, o_shard),
        Part("activations kept", acts.saved / GIB, acts.basis[0]),
        Part("peak in backward", max(acts.loss, acts.layer) / GIB, _peak_basis(acts)),
    ]
    parts = [p for p in listed if p is not None]
    allocated = sum(p.gib for p in parts if p.counted)
    overlap = spec.method == "full" and spec.grad_accum == 1 and keeps
    if overlap:  # gradients fill in as backward frees activations
        backward = (acts.saved + max(acts.loss, acts.layer)) / GIB
        allocated -= min(grads / GIB, backward)
    dev = device_factors()
    device = allocated * (1 + dev.allocator_slack.value) + dev.context_gib.value
    basis = [
        f"{counts.decoder / 1e9:.2f}B params; trainable {trainable / 1e6:,.1f}M "
        f"({spec.method}, rank {spec.rank}, targets {','.join(_present(arch, spec))})"
        if spec.method != "full"
        else f"{counts.decoder / 1e9:.2f}B params, all trainable",
        f"framework: {fw.name}",
        acts.basis[1],
        *(
            ["gradients and activations peak at different times: the larger counts"]
            if overlap
            else []
        ),
        f"device = allocated × (1 + {dev.allocator_slack.value:g}) "
        f"({dev.allocator_slack.source}) + {dev.context_gib.value:g} GiB "
        f"({dev.context_gib.source})",
    ]
    return FinetuneMemory(
        model_id=model.id,
        spec=spec,
        framework=fw.id,
        gpus=gpus,
        gpu_name=gpu_name,
        gpu_gib=gpu_gib,
        params=counts.decoder,
        trainable=trainable,
        parts=parts,
        peak_allocated_gib=allocated,
        device_gib=device,
        basis=basis,
    )


def _present(arch: Architecture, spec: FinetuneSpec) -> list[str]:
    """The plan's targets the architecture has (a dense model has no router)."""
    have = {m.target for m in matrices(arch)}
    return [t for t in spec.targets if t in have]


def _gathered(
    arch: Architecture, counts: ParamBreakdown, spec: FinetuneSpec, w_shard: int, weights: float
) -> list[Part]:
    """ZeRO-3/FSDP gather a layer's full weights (and prefetch the next) around each use."""
    if w_shard == 1:
        return []
    layer = (weights - counts.embedding * 2 - counts.lm_head * 2) / arch.num_hidden_layers
    return [Part("gathered layers", 2 * layer / GIB, "2 decoder layers unsharded at a time")]


def _grad_basis(spec: FinetuneSpec, per_param: float, shard: int, keeps: bool) -> str:
    if not keeps:
        return "optimizer steps inside backward: one gradient at a time"
    text = f"{per_param:g} B per trainable parameter"
    return text + (f", sharded over {shard} GPUs" if shard > 1 else "")


def _optimizer_part(spec: FinetuneSpec, fw: Framework, opt: float, shard: int) -> Part:
    text = {
        "adamw": f"AdamW: 2 moments × {_trainable_bytes(spec, fw):g} B",
        "adamw-8bit": "8-bit AdamW: 2 moments × 1 B (bitsandbytes blockwise)",
        "paged-adamw-8bit": "paged 8-bit AdamW: 2 × 1 B in CUDA unified memory; outside "
        "torch's allocator, pages to CPU when the GPU is full",
        "sgd": "SGD without momentum: no state",
    }[spec.optimizer]
    if shard > 1:
        text += f", sharded over {shard} GPUs"
    if spec.cpu_offload:
        return Part("optimizer states", 0.0, text + "; offloaded to CPU memory")
    return Part("optimizer states", opt / GIB, text, counted=spec.optimizer != "paged-adamw-8bit")


def _peak_basis(acts: _Activations) -> str:
    if acts.loss >= acts.layer:
        return "loss over the vocabulary (transient at the start of backward)"
    return "one layer recomputed with its gradients (transient under checkpointing)"


def with_spec(spec: FinetuneSpec, **changes: object) -> FinetuneSpec:
    """A copy of ``spec`` with ``changes`` (for what-if variants)."""
    return replace(spec, **changes)  # type: ignore[arg-type]
