"""Memory an engine holds on each GPU besides weights and KV, and the headroom it needs outside.

Inside the engine's budget: non-torch allocations (per parallelism) and the activation peak its
profiling run records (vLLM), or a compute buffer sized from the model (llama.cpp, Ollama).
Outside it: the CUDA context and, for vLLM, the CUDA graph pool captured after the KV cache is
sized; ``headroom_warnings`` says when those would not fit in what the budget leaves free.
"""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.catalog.params import count_params
from modelyard.catalog.schema import Architecture, Model
from modelyard.plan.deployment import Deployment
from modelyard.plan.engines import ActivationModel, Engine, Factor, PerParallelism
from modelyard.plan.weights import GIB, require_arch

COMPUTE_UBATCH = 512
"""llama.cpp / Ollama default physical batch (n_ubatch), which sizes their compute buffer."""


@dataclass(frozen=True)
class Reserve:
    """Memory an engine holds on each GPU besides weights and KV."""

    name: str
    gib: float
    basis: str


def by_parallelism(table: PerParallelism, tp: int, pp: int) -> Factor:
    """The figure for one GPU of a ``tp`` × ``pp`` split."""
    if tp > 1:
        return table.tensor_parallel
    return table.pipeline if pp > 1 else table.single


def batch_limits(engine: Engine, dep: Deployment) -> tuple[int, int]:
    """(max_num_seqs, max_num_batched_tokens) the engine defaults to on this GPU."""
    sched = engine.scheduler
    if sched is None:
        return 256, 2048
    gpu = dep.cluster.gpu
    large = gpu.memory_gib >= sched.large_gpu_gib and "a100" not in gpu.id
    pick = 0 if large else 1
    return max(sched.max_num_seqs[pick], dep.batch), sched.max_num_batched_tokens[pick]


def _moe_workspace(arch: Architecture, tokens: int, tp: int) -> float:
    """Bytes of fused-MoE intermediate caches for ``tokens`` routed tokens (0 for dense)."""
    if arch.moe is None:
        return 0.0
    moe = arch.moe
    width = moe.moe_intermediate_size / tp
    gated = 2 if arch.mlp_gated else 1
    return tokens * moe.num_experts_per_tok * (gated * width + width + arch.hidden_size) * 2


def _mlp_width(arch: Architecture) -> int:
    """Hidden width of the MLP a token passes through (top-k experts' widths for MoE)."""
    if arch.moe is None or count_params(arch).dense_mlp:
        return arch.intermediate_size
    return arch.moe.moe_intermediate_size * arch.moe.num_experts_per_tok


def _activation(model: Model, act: ActivationModel, dep: Deployment) -> Reserve:
    arch = require_arch(model)
    seqs, tokens = batch_limits(dep.engine, dep)
    tp = dep.placement.tp
    forward = act.forward_bytes.value * tokens * _mlp_width(arch) / tp
    sampler = act.sampler_bytes.value * seqs * arch.vocab_size
    moe = act.moe_scale.value * _moe_workspace(arch, tokens, tp)
    extra = act.multimodal_gib.value * GIB if "image" in model.modalities else 0.0
    gib = (max(forward, sampler) + moe + extra) / GIB
    basis = (
        f"max(forward {forward / GIB:.2f}, sampler warm-up {sampler / GIB:.2f} GiB for "
        f"{seqs} seqs × {arch.vocab_size:,} vocab)"
        + (f" + MoE workspace {moe / GIB:.2f}" if moe else "")
        + (f" + multimodal {extra / GIB:.2f}" if extra else "")
        + f"; {tokens:,} batched tokens; {dep.engine.label} fit ({act.sampler_bytes.source})"
    )
    return Reserve("activation peak", gib, basis)


def _compute_buffer(arch: Architecture, engine: Engine) -> Reserve:
    buffer = 4 * COMPUTE_UBATCH * (arch.hidden_size + arch.vocab_size) / GIB
    source = (
        f"4 B × n_ubatch {COMPUTE_UBATCH} × (hidden + vocab), the logits term of Ollama's "
        f"GraphSize (fs/ggml/ggml.go); flash attention assumed ({engine.label})"
    )
    return Reserve("compute buffer", buffer, source)


def engine_reserves(model: Model, dep: Deployment) -> list[Reserve]:
    """Non-torch memory and activation peak (or compute buffer) per GPU, inside the budget."""
    arch = require_arch(model)
    engine, tp, pp = dep.engine, dep.placement.tp, dep.placement.pp
    reserves = []
    ctx = by_parallelism(engine.context_gib, tp, pp)
    if ctx.value and not engine.context_outside_budget and not dep.on_cpu:
        reserves.append(Reserve("CUDA context", ctx.value, ctx.source))
    non_torch = by_parallelism(engine.non_torch, tp, pp)
    if non_torch.value:
        reserves.append(Reserve("non-torch", non_torch.value, non_torch.source))
    if engine.is_gguf:
        reserves.append(_compute_buffer(arch, engine))
    elif isinstance(engine.activation, ActivationModel):
        reserves.append(_activation(model, engine.activation, dep))
    else:
        act = engine.activation_table(model)
        if act.value:
            reserves.append(Reserve("activation peak", act.value, act.source))
    return reserves


def usable_gib(dep: Deployment) -> float:
    """Memory of one GPU the engine's share is taken of (CUDA's total where it sizes by it)."""
    hidden = dep.engine.cuda_hidden_gib
    return dep.cluster.usable_gib - (hidden.value if hidden else 0.0)


def headroom_warnings(dep: Deployment) -> list[str]:
    """Why the memory left outside the engine's share may not hold the CUDA context and graphs."""
    engine = dep.engine
    if not engine.context_outside_budget:
        return []
    ctx = by_parallelism(engine.context_gib, dep.placement.tp, dep.placement.pp).value
    graphs = engine.cuda_graph_gib.value if engine.cuda_graph_gib else 0.0
    headroom = usable_gib(dep) * (1 - dep.fraction())
    if headroom >= ctx + graphs:
        return []
    return [
        f"--gpu-memory-utilization {dep.fraction():.2f} leaves {headroom:.2f} GiB outside "
        f"{engine.label}'s share; its CUDA context ({ctx:.2f}) and CUDA graphs (about "
        f"{graphs:.2f} GiB) need more: lower it or pass --enforce-eager"
    ]
