"""Choosing a quantization that fits, and saying clearly when nothing does."""

from __future__ import annotations

from dataclasses import replace

from modelyard.catalog.loader import Catalog
from modelyard.catalog.schema import Model
from modelyard.errors import PlanError
from modelyard.plan.cluster import Cluster
from modelyard.plan.engines import get_engine
from modelyard.plan.formats import FORMATS, QUALITY_ORDER, WeightFormat
from modelyard.plan.memory import Deployment, MemoryPlan, plan_memory

NODE_GPUS = 8
"""GPUs in the largest single node the planner considers (HGX / DGX boards)."""
FIT_ENGINES = ("vllm", "llamacpp")
"""Engines `best_fit` tries: vLLM's FP8/AWQ formats, then llama.cpp's GGUF quants."""


def candidate_formats(model: Model, engine_id: str) -> list[WeightFormat]:
    """Formats ``engine_id`` loads for ``model``, least lossy first.

    MXFP4 is offered only where the vendor ships MXFP4 experts (gpt-oss); other formats
    can be produced from the BF16 checkpoint.
    """
    shipped = {q.format for q in model.quantized}
    formats = []
    for key in QUALITY_ORDER:
        fmt = FORMATS[key]
        if engine_id not in fmt.engines:
            continue
        if key == "mxfp4" and "mxfp4" not in shipped:
            continue
        formats.append(fmt)
    return formats


def native_format(model: Model, engine_id: str) -> WeightFormat:
    """The checkpoint's own precision for this engine: MXFP4 for gpt-oss, else BF16."""
    formats = candidate_formats(model, engine_id)
    if any(f.key == "mxfp4" for f in formats):
        return FORMATS["mxfp4"]
    return formats[0] if formats else FORMATS["bf16"]


def auto_quant(model: Model, cluster: Cluster, dep: Deployment) -> MemoryPlan | None:
    """The least lossy format whose plan fits, or None when none does."""
    start = native_format(model, dep.engine.id)
    formats = candidate_formats(model, dep.engine.id)
    for fmt in formats[formats.index(start) if start in formats else 0 :]:
        mem = plan_memory(model, cluster, replace(dep, fmt=fmt))
        if mem.fits:
            return mem
    return None


def best_fit(
    model: Model, cluster: Cluster, context: int = 8192, engines: tuple[str, ...] = FIT_ENGINES
) -> MemoryPlan | None:
    """The least lossy plan holding one ``context``-token sequence of ``model`` entirely on
    ``cluster``, trying each engine in turn; None when nothing fits (or no architecture)."""
    if model.architecture is None:
        return None
    for engine_id in engines:
        dep = Deployment(get_engine(engine_id), native_format(model, engine_id), context=context)
        mem = auto_quant(model, cluster, dep)
        if mem is not None and mem.gpu_layers == mem.layers:
            return mem
    return None


def largest_cluster(catalog: Catalog) -> Cluster:
    """A full node of the catalog's largest-memory GPU."""
    gpus = [g for g in catalog.gpus.values() if not g.unified_memory]
    if not gpus:
        raise PlanError("the catalog lists no GPUs (catalog/data/gpus.yaml)")
    biggest = max(gpus, key=lambda g: g.memory_gib * g.usable_fraction)
    return Cluster(biggest, NODE_GPUS)


def does_not_fit(model: Model, cluster: Cluster, dep: Deployment, catalog: Catalog) -> str:
    """'does not fit: needs 812 GiB; largest plan 8×H200 = 1,128 GiB; FP8 would need 690 GiB'."""
    need = plan_memory(model, cluster, dep)
    big = largest_cluster(catalog)
    text = (
        f"{model.id} does not fit on {cluster.label} with {dep.engine.name} at {dep.fmt.key}, "
        f"context {dep.context:,} × {dep.batch}: needs {_total(need):,.0f} GiB, "
        f"{cluster.label} gives {need.budget_gib * cluster.count:,.0f} GiB; "
        f"largest plan {big.label} = {big.usable_gib * big.count:,.0f} GiB"
    )
    for key in ("fp8", "awq", "gguf-q4_k_m"):
        if key != dep.fmt.key and key in {f.key for f in candidate_formats(model, dep.engine.id)}:
            other = plan_memory(model, cluster, replace(dep, fmt=FORMATS[key]))
            text += f"; {key.upper()} would need {_total(other):,.0f} GiB"
            break
    return text


def _total(mem: MemoryPlan) -> float:
    """Whole-cluster memory a plan needs, counting the engine's memory-fraction headroom."""
    fraction = mem.budget_gib / mem.gpu_gib if mem.gpu_gib else 1.0
    return mem.required_gib * mem.gpus / fraction


def nodes_needed(model: Model, cluster: Cluster, dep: Deployment) -> int | None:
    """Full nodes of ``cluster.gpu`` the model needs at ``dep`` (None: more than 16 nodes)."""
    for nodes in range(1, 17):
        node_cluster = Cluster(cluster.gpu, NODE_GPUS * nodes)
        staged = replace(dep, pipeline_parallel=nodes)
        if plan_memory(model, node_cluster, staged).fits:
            return nodes
    return None
