"""The full plan for one model on one cluster: memory, speed, cost, then launch recipes."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from modelyard.catalog.loader import Catalog
from modelyard.catalog.schema import Model
from modelyard.errors import PlanError
from modelyard.plan.cluster import Cluster
from modelyard.plan.cost import CostEstimate, Workload, estimate_cost
from modelyard.plan.fit import NODE_GPUS, auto_quant, does_not_fit, nodes_needed
from modelyard.plan.formats import FORMATS
from modelyard.plan.measured import MeasuredCheck, measured_checks, with_measured_speed
from modelyard.plan.memory import Deployment, MemoryPlan, plan_memory
from modelyard.plan.recipes import Recipe, multinode, recipes
from modelyard.plan.speed import DecodeEstimate, PrefillEstimate, decode, peak_tflops, prefill


@dataclass(frozen=True)
class ModelPlan:
    """Everything ``yard plan MODEL`` prints."""

    model_id: str
    cluster: str
    engine: str
    memory: MemoryPlan
    decode_single: DecodeEstimate
    """One sequence at the planned context."""
    decode_batch: DecodeEstimate
    """The planned batch at the planned context."""
    prefill: PrefillEstimate | None
    """A 4k-token prompt (None where the catalog has no TFLOPS figure, e.g. CPU)."""
    cost: CostEstimate | None
    recipes: list[Recipe] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    measured: list[MeasuredCheck] = field(default_factory=list)
    """`yard measure` calibrations of this model on this GPU, beside the estimates."""


def plan_model(
    model: Model,
    cluster: Cluster,
    dep: Deployment,
    catalog: Catalog,
    load: Workload | None = None,
    auto: bool = False,
    **cost_options: object,
) -> ModelPlan:
    """Size ``model`` on ``cluster``; with ``auto`` pick the least lossy format that fits.

    A model that fits on no single node gets a multi-node plan (vLLM on Ray, Kubernetes)
    instead of a traceback; one that fits nowhere raises PlanError with the figures.
    """
    mem = auto_quant(model, cluster, dep) if auto else plan_memory(model, cluster, dep)
    if mem is None:
        mem = plan_memory(model, cluster, dep)
    dep = replace(dep, fmt=FORMATS[mem.quant])
    if mem.fits:
        return _single(model, cluster, dep, mem, catalog, load, cost_options)
    if dep.engine.is_gguf and mem.gpu_layers > 0:
        return _offloaded(model, cluster, dep, mem, catalog, load, cost_options)
    return _multinode_plan(model, cluster, dep, catalog)


def _offloaded(
    model: Model,
    cluster: Cluster,
    dep: Deployment,
    mem: MemoryPlan,
    catalog: Catalog,
    load: Workload | None,
    cost_options: dict[str, object],
) -> ModelPlan:
    host = catalog.gpus.get("cpu")
    dep = replace(
        dep, offload_gib=mem.offload_gib, host_bandwidth_gbps=host.bandwidth_gbps if host else None
    )
    note = (
        f"partial offload: {mem.gpu_layers} of {mem.layers} layers on GPU (-ngl), "
        f"{mem.offload_gib:.1f} GiB of weights in system RAM"
    )
    return _single(model, cluster, dep, mem, catalog, load, cost_options, notes=[note])


def _single(
    model: Model,
    cluster: Cluster,
    dep: Deployment,
    mem: MemoryPlan,
    catalog: Catalog,
    load: Workload | None,
    cost_options: dict[str, object],
    extra: list[Recipe] | None = None,
    notes: list[str] | None = None,
) -> ModelPlan:
    checks = measured_checks(model, cluster.gpu, dep.engine)
    dep = with_measured_speed(dep, model, cluster, checks)
    cost = None
    if load is not None and peak_tflops(cluster, dep):
        cost = estimate_cost(model, cluster, dep, mem, load, catalog, **cost_options)  # type: ignore[arg-type]
    return ModelPlan(
        model_id=model.id,
        cluster=cluster.label,
        engine=dep.engine.id,
        memory=mem,
        decode_single=decode(model, cluster, dep, 1, dep.context),
        decode_batch=decode(model, cluster, dep, _full_batch(dep, mem), dep.context),
        prefill=prefill(model, cluster, dep, min(dep.context, 4096))
        if peak_tflops(cluster, dep)
        else None,
        cost=cost,
        recipes=extra or recipes(model, mem),
        notes=notes or [],
        measured=checks,
    )


def _multinode_plan(model: Model, cluster: Cluster, dep: Deployment, catalog: Catalog) -> ModelPlan:
    message = does_not_fit(model, cluster, dep, catalog)
    if dep.engine.is_gguf:
        raise PlanError(message + "; not even one layer fits on the GPU")
    nodes = nodes_needed(model, cluster, dep)
    if nodes is None or (nodes == 1 and cluster.count >= NODE_GPUS):
        raise PlanError(message)
    node_cluster = Cluster(cluster.gpu, NODE_GPUS * nodes)
    staged = replace(dep, pipeline_parallel=nodes)
    mem = plan_memory(model, node_cluster, staged)
    extra = multinode(model, mem, nodes, NODE_GPUS) if nodes > 1 else None
    note = f"{message}. Planned instead on {nodes} node(s) of {NODE_GPUS}×{cluster.gpu.name}."
    return _single(model, node_cluster, staged, mem, catalog, None, {}, extra, [note])


def _full_batch(dep: Deployment, mem: MemoryPlan) -> int:
    """The batch to show beside batch 1: the one asked for, else as many sequences as the KV
    pool holds at the planned context."""
    return dep.batch if dep.batch > 1 else max(1, mem.max_sessions)
