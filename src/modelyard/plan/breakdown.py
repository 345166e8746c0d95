"""The full plan for one model: memory, speed, cost, the other formats it could run in, and
launch recipes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from modelyard.catalog.loader import Catalog
from modelyard.catalog.schema import Model
from modelyard.errors import PlanError
from modelyard.plan.checkpoints import Checkpoint, checkpoints
from modelyard.plan.cluster import Cluster
from modelyard.plan.cost import CostEstimate, CostOptions, estimate_cost
from modelyard.plan.deployment import Deployment, Offload
from modelyard.plan.engines import get_engine
from modelyard.plan.fit import NODE_GPUS, auto_quant, does_not_fit, nodes_needed
from modelyard.plan.measured import MeasuredCheck, measured_checks, with_measured_speed
from modelyard.plan.memory import MemoryPlan, plan_memory
from modelyard.plan.quality import QualityBasis
from modelyard.plan.recipes import Recipe, multinode, recipes
from modelyard.plan.speed import DecodeEstimate, PrefillEstimate, decode, prefill
from modelyard.plan.workload import Workload


@dataclass(frozen=True)
class FormatOption:
    """Another way to serve the model on the same GPUs, with what it costs."""

    quant: str
    engine: str
    origin: str
    repo: str | None
    weights_gib: float
    """Per GPU."""
    fits: bool
    max_sessions: int
    tok_s_single: float
    usd_per_mtok_output: float | None
    loss: str
    """Published quality cost of the format (empty: lossless)."""


@dataclass(frozen=True)
class ModelPlan:
    """Everything ``yard plan MODEL`` prints."""

    model_id: str
    cluster: str
    engine: str
    checkpoint: str
    """The weights planned (format and where they come from)."""
    repo: str | None
    memory: MemoryPlan
    decode_single: DecodeEstimate
    """One sequence at the planned context."""
    decode_batch: DecodeEstimate
    """The planned batch at the planned context."""
    prefill: PrefillEstimate | None
    """A 4k-token prompt (None where the catalog has no TFLOPS figure, e.g. CPU)."""
    cost: CostEstimate | None
    alternatives: list[FormatOption] = field(default_factory=list)
    recipes: list[Recipe] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    measured: list[MeasuredCheck] = field(default_factory=list)
    """`yard measure` calibrations of this model on this GPU, beside the estimates."""


@dataclass(frozen=True)
class PlanRequest:
    """What ``plan_model`` is asked besides the model and deployment."""

    catalog: Catalog
    quality: QualityBasis
    load: Workload | None = None
    options: CostOptions = field(default_factory=CostOptions)
    auto: bool = False
    """Pick the first checkpoint (native first) that fits instead of ``dep.fmt``."""


def _chosen(model: Model, dep: Deployment, auto: bool) -> tuple[Checkpoint, MemoryPlan]:
    options = {c.fmt.key: c for c in checkpoints(model, dep.engine.id)}
    found = auto_quant(model, dep) if auto else None
    if found is not None:
        return found
    checkpoint = options.get(dep.fmt.key) or Checkpoint(dep.fmt, "convert", None)
    return checkpoint, plan_memory(model, dep)


def plan_model(model: Model, dep: Deployment, request: PlanRequest) -> ModelPlan:
    """Size ``model`` served as ``dep``; with ``request.auto`` pick the first checkpoint that fits.

    A model that fits on no single node gets a multi-node plan (vLLM on Ray, Kubernetes)
    instead of a traceback; one that fits nowhere raises PlanError with the figures.
    """
    checkpoint, mem = _chosen(model, dep, request.auto)
    dep = dep.with_format(checkpoint.fmt)
    if mem.fits:
        return _single(model, dep, checkpoint, mem, request)
    if dep.engine.is_gguf and mem.gpu_layers > 0 and not dep.on_cpu:
        return _offloaded(model, dep, checkpoint, mem, request)
    return _multinode_plan(model, dep, checkpoint, request)


def _offloaded(
    model: Model, dep: Deployment, checkpoint: Checkpoint, mem: MemoryPlan, request: PlanRequest
) -> ModelPlan:
    host = request.catalog.gpus.get("cpu")
    if host is None:
        raise PlanError("partial offload needs the host RAM bandwidth (catalog entry 'cpu')")
    dep = replace(dep, offload=Offload(mem.offload_gib, host.bandwidth_gbps))
    note = (
        f"partial offload: {mem.gpu_layers} of {mem.layers} layers on GPU (-ngl), "
        f"{mem.offload_gib:.1f} GiB of weights in system RAM"
    )
    return _single(model, dep, checkpoint, mem, request, notes=[note])


def _single(
    model: Model,
    dep: Deployment,
    checkpoint: Checkpoint,
    mem: MemoryPlan,
    request: PlanRequest,
    extra: list[Recipe] | None = None,
    notes: list[str] | None = None,
) -> ModelPlan:
    checks = measured_checks(model, dep.cluster.gpu, dep.engine)
    dep = with_measured_speed(dep, model, checks)
    has_tflops = dep.can_prefill
    cost = None
    priced = request.options.usd_per_gpu_hour is not None or bool(dep.cluster.gpu.prices)
    if request.load is not None and has_tflops and priced:
        cost = estimate_cost(
            model, dep, mem, request.load, request.catalog, request.quality, request.options
        )
    elif request.load is not None and has_tflops:
        notes = [
            *(notes or []),
            f"no cost: the catalog has no price for {dep.cluster.gpu.name}; pass --price "
            "(USD per GPU-hour, or per hour of this machine)",
        ]
    return ModelPlan(
        model_id=model.id,
        cluster=dep.hardware,
        engine=dep.engine.key,
        checkpoint=checkpoint.label,
        repo=checkpoint.repo,
        memory=mem,
        decode_single=decode(model, dep, 1, dep.context),
        decode_batch=decode(model, dep, _full_batch(dep, mem), dep.context),
        prefill=prefill(model, dep, min(dep.context, 4096)) if has_tflops else None,
        cost=cost,
        alternatives=alternatives(model, dep, request) if has_tflops else [],
        recipes=extra or recipes(model, mem, checkpoint, dep.engine, dep.host),
        notes=[*(notes or []), *mem.warnings],
        measured=checks,
    )


def _multinode_plan(
    model: Model, dep: Deployment, checkpoint: Checkpoint, request: PlanRequest
) -> ModelPlan:
    message = does_not_fit(model, dep, request.catalog)
    if dep.on_cpu:
        raise PlanError(message + " (in RAM)")
    if dep.engine.is_gguf:
        raise PlanError(message + "; not even one layer fits on the GPU")
    nodes = nodes_needed(model, dep)
    if nodes is None or (nodes == 1 and dep.cluster.count >= NODE_GPUS):
        raise PlanError(message)
    staged = dep.on(Cluster(dep.cluster.gpu, NODE_GPUS * nodes), pp=nodes)
    mem = plan_memory(model, staged)
    extra = multinode(model, mem, checkpoint, staged.engine, nodes) if nodes > 1 else None
    note = f"{message}. Planned instead on {nodes} node(s) of {NODE_GPUS}×{dep.cluster.gpu.name}."
    no_cost = replace(request, load=None)
    return _single(model, staged, checkpoint, mem, no_cost, extra, [note])


def _full_batch(dep: Deployment, mem: MemoryPlan) -> int:
    """The batch to show beside batch 1: the one asked for, else as many sequences as the KV
    pool holds at the planned context."""
    return dep.batch if dep.batch > 1 else max(1, mem.max_sessions)


def alternatives(model: Model, dep: Deployment, request: PlanRequest) -> list[FormatOption]:
    """Every checkpoint of the engine, then GGUF on llama.cpp, on the same GPUs."""
    found = [_option(model, dep, c, request) for c in checkpoints(model, dep.engine.id)]
    if not dep.engine.is_gguf:
        llamacpp = get_engine("llamacpp")
        base = replace(dep, engine=llamacpp, kv_dtype="fp16", measured_eta_bw=())
        found += [
            _option(model, base, c, request)
            for c in checkpoints(model, llamacpp.id)
            if c.fmt.key in ("gguf-q8_0", "gguf-q4_k_m")
        ]
    return found


def _option(
    model: Model, dep: Deployment, checkpoint: Checkpoint, request: PlanRequest
) -> FormatOption:
    staged = dep.with_format(checkpoint.fmt)
    mem = plan_memory(model, staged)
    fits = mem.fits
    cost: float | None = None
    if fits and request.load is not None:
        try:
            estimate = estimate_cost(
                model, staged, mem, request.load, request.catalog, request.quality, request.options
            )
            cost = estimate.usd_per_mtok_output
        except PlanError:
            cost = None
    return FormatOption(
        quant=checkpoint.fmt.key,
        engine=dep.engine.key,
        origin=checkpoint.origin,
        repo=checkpoint.repo,
        weights_gib=mem.weights_gib,
        fits=fits,
        max_sessions=mem.max_sessions,
        tok_s_single=decode(model, staged, 1, dep.context).tok_s_per_sequence if fits else 0.0,
        usd_per_mtok_output=cost,
        loss=checkpoint.fmt.loss,
    )
