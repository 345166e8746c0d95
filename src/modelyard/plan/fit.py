"""Choosing weights that fit, native release first, and saying clearly when nothing does."""

from __future__ import annotations

from modelyard.catalog.loader import Catalog
from modelyard.catalog.schema import Model
from modelyard.errors import PlanError
from modelyard.plan.checkpoints import Checkpoint, checkpoints, native_format
from modelyard.plan.cluster import Cluster
from modelyard.plan.deployment import Deployment, deploy
from modelyard.plan.engines import get_engine
from modelyard.plan.memory import MemoryPlan, plan_memory

NODE_GPUS = 8
"""GPUs in the largest single node the planner considers (HGX / DGX boards)."""
FIT_ENGINES = ("vllm", "llamacpp")
"""Engines `best_fit` tries: vLLM's releases and FP8/AWQ formats, then llama.cpp's GGUF quants."""


def auto_quant(model: Model, dep: Deployment) -> tuple[Checkpoint, MemoryPlan] | None:
    """The first checkpoint, native release first, whose plan fits; None when none does."""
    for checkpoint in checkpoints(model, dep.engine.id):
        mem = plan_memory(model, dep.with_format(checkpoint.fmt))
        if mem.fits:
            return checkpoint, mem
    return None


def best_fit(model: Model, cluster: Cluster, context: int = 8192) -> MemoryPlan | None:
    """The plan holding one ``context``-token sequence of ``model`` entirely on ``cluster``,
    native release first, trying each of FIT_ENGINES; None when nothing fits."""
    if model.architecture is None:
        return None
    for engine_id in FIT_ENGINES:
        engine = get_engine(engine_id)
        options = checkpoints(model, engine_id)
        if not options or (cluster.gpu.vendor == "generic" and engine.cpu is None):
            continue
        dep = deploy(engine, options[0].fmt, cluster, context=context)
        found = auto_quant(model, dep)
        if found is not None and found[1].gpu_layers == found[1].layers:
            return found[1]
    return None


def largest_cluster(catalog: Catalog) -> Cluster:
    """A full node of the catalog's largest-memory GPU."""
    gpus = [g for g in catalog.gpus.values() if not g.unified_memory]
    if not gpus:
        raise PlanError("the catalog lists no GPUs (catalog/data/gpus.yaml)")
    biggest = max(gpus, key=lambda g: g.memory_gib * g.usable_fraction)
    return Cluster(biggest, NODE_GPUS)


def _total(mem: MemoryPlan) -> float:
    """Whole-cluster memory a plan needs, counting the engine's memory-fraction headroom."""
    fraction = mem.budget_gib / mem.gpu_gib if mem.gpu_gib else 1.0
    return mem.required_gib * mem.gpus / fraction


def does_not_fit(model: Model, dep: Deployment, catalog: Catalog) -> str:
    """'does not fit: needs 812 GiB; largest plan 8×H200 = 1,128 GiB; FP8 would need 690 GiB'."""
    need = plan_memory(model, dep)
    cluster = dep.cluster
    big = largest_cluster(catalog)
    text = (
        f"{model.id} does not fit on {cluster.label} with {dep.engine.label} at {dep.fmt.key}, "
        f"context {dep.context:,} × {dep.batch}: needs {_total(need):,.0f} GiB, "
        f"{cluster.label} gives {need.budget_gib * cluster.count:,.0f} GiB; "
        f"largest plan {big.label} = {big.usable_gib * big.count:,.0f} GiB"
    )
    for option in checkpoints(model, dep.engine.id):
        if option.fmt.bits < dep.fmt.bits:
            other = plan_memory(model, dep.with_format(option.fmt))
            text += f"; {option.fmt.key.upper()} would need {_total(other):,.0f} GiB"
            break
    return text


def nodes_needed(model: Model, dep: Deployment) -> int | None:
    """Full nodes of the deployment's GPU the model needs (None: more than 16 nodes)."""
    for nodes in range(1, 17):
        staged = dep.on(Cluster(dep.cluster.gpu, NODE_GPUS * nodes), pp=nodes)
        if plan_memory(model, staged).fits:
            return nodes
    return None


def start_format(model: Model, engine_id: str, quant: str) -> str:
    """The format a plan starts from: ``quant`` as asked, or with ``auto`` the native release
    (the first GGUF quant for engines that only load GGUF)."""
    if quant != "auto":
        return quant
    options = checkpoints(model, engine_id)
    return options[0].fmt.key if options else native_format(model).key
