"""How a model is served: the engine, the formats, and where it runs, resolved and checked once.

``Placement`` is the hardware side (GPUs, tensor and pipeline split, the tensor TFLOPS the
format runs at); ``Deployment`` adds the engine and the serving shape. Both are frozen and
validated when built (``place``, ``deploy``), so planning code reads ``dep.placement.tp``
instead of recomputing it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

from modelyard.errors import PlanError
from modelyard.plan.cluster import Cluster
from modelyard.plan.cpu import CpuHost, cpu_host, generic_cpu
from modelyard.plan.engines import Engine, Factor
from modelyard.plan.formats import WeightFormat


@dataclass(frozen=True)
class Placement:
    """``cluster`` split into ``pp`` pipeline stages of ``tp`` tensor-parallel GPUs."""

    cluster: Cluster
    tp: int
    pp: int
    peak_tflops: float | None
    """Dense tensor TFLOPS of one GPU at the format's compute type (None: no figure, e.g. CPU)."""

    @property
    def gpus(self) -> int:
        return self.cluster.count


def place(cluster: Cluster, fmt: WeightFormat, pp: int = 1) -> Placement:
    """The placement of ``fmt`` weights on ``cluster`` in ``pp`` stages.

    Raises:
        PlanError: ``pp`` is not a positive divisor of the GPU count.
    """
    if pp < 1 or cluster.count % pp:
        raise PlanError(f"--pp {pp} does not divide {cluster.count} GPUs evenly")
    gpu = cluster.gpu
    tflops = gpu.fp8_tflops if fmt.key.startswith("fp8") and gpu.fp8_tflops else gpu.bf16_tflops
    return Placement(cluster, cluster.count // pp, pp, tflops)


@dataclass(frozen=True)
class MeasuredEta:
    """The share of peak bandwidth one measured decode point achieved."""

    batch: int
    context: int
    eta: Factor


@dataclass(frozen=True)
class Offload:
    """Weights llama.cpp leaves in system RAM, read at the host's bandwidth each step."""

    gib: float
    host_bandwidth_gbps: float


@dataclass(frozen=True)
class LoraSlots:
    """LoRA adapters served on the base model (vLLM --enable-lora, llama.cpp --lora)."""

    max_loras: int
    """Adapters resident on the GPU at once (vLLM --max-loras)."""
    max_rank: int
    """Largest adapter rank (vLLM --max-lora-rank)."""
    adapters: tuple[str, ...] = ()
    """Adapter names, for --lora-modules NAME=PATH; empty: placeholders."""


@dataclass(frozen=True)
class Deployment:
    """A model served by ``engine`` in ``fmt`` on ``placement``."""

    engine: Engine
    fmt: WeightFormat
    placement: Placement
    kv_dtype: str = "bf16"
    context: int = 8192
    """Tokens per sequence the plan sizes for."""
    batch: int = 1
    """Concurrent sequences the plan must hold at ``context``."""
    gpu_util: float | None = None
    """Override of the engine's memory fraction (vLLM --gpu-memory-utilization)."""
    offload: Offload | None = None
    measured_eta_bw: tuple[MeasuredEta, ...] = ()
    """Decode eta_bw measured for this model on this GPU (`yard measure`)."""
    host: CpuHost | None = None
    """The CPU, on a CPU-only host (the cluster is the catalog's ``cpu`` entry)."""
    lora: LoraSlots | None = None
    """LoRA adapters served on the base model."""

    @property
    def cluster(self) -> Cluster:
        return self.placement.cluster

    @property
    def hardware(self) -> str:
        """What the plan runs on, as titles name it: '2×H100 SXM', or the CPU host."""
        if self.host is not None:
            return f"{self.host.label}, {self.host.bandwidth_gbps:g} GB/s RAM"
        return self.cluster.label

    @property
    def on_cpu(self) -> bool:
        return self.host is not None

    @property
    def can_prefill(self) -> bool:
        """Whether prefill can be sized: a TFLOPS figure, or a CPU's cores."""
        return bool(self.placement.peak_tflops) or self.host is not None

    def fraction(self) -> float:
        return self.gpu_util if self.gpu_util is not None else self.engine.memory_fraction.value

    def eta_bw(self, batch: int, context: int) -> Factor:
        """The measured decode eta_bw nearest to ``batch`` × ``context``, else the engine's."""
        return _nearest(self.measured_eta_bw, batch, context) or self.engine.eta_bw

    def with_format(self, fmt: WeightFormat) -> Deployment:
        """The same deployment in another format (its TFLOPS re-resolved)."""
        return replace(self, fmt=fmt, placement=place(self.cluster, fmt, self.placement.pp))

    def on(self, cluster: Cluster, pp: int = 1) -> Deployment:
        """The same deployment moved to ``cluster`` in ``pp`` stages."""
        return replace(self, placement=place(cluster, self.fmt, pp))


def deploy(
    engine: Engine,
    fmt: WeightFormat,
    cluster: Cluster,
    *,
    pp: int = 1,
    kv_dtype: str = "bf16",
    context: int = 8192,
    batch: int = 1,
    gpu_util: float | None = None,
    host: CpuHost | None = None,
    lora: LoraSlots | None = None,
) -> Deployment:
    """A checked Deployment. On a CPU-only cluster ``host`` describes the CPU (default: the
    catalog's bandwidth and an 8-core AVX2 CPU).

    Raises:
        PlanError: a value no engine accepts (non-positive context or batch, a memory share
            outside (0, 1], a KV dtype or weight format the engine does not offer), or a
            GPU-only engine on a CPU-only host.
    """
    if context < 1 or batch < 1:
        raise PlanError(f"context ({context}) and batch ({batch}) must be at least 1")
    if gpu_util is not None and not 0 < gpu_util <= 1:
        raise PlanError(f"--gpu-util {gpu_util:g}: a share of GPU memory, above 0 and at most 1")
    if kv_dtype.lower() not in engine.kv_dtypes:
        raise PlanError(
            f"{engine.name} has no {kv_dtype!r} KV cache; choose one of "
            f"{', '.join(engine.kv_dtypes)}"
        )
    if engine.id not in fmt.engines:
        raise PlanError(f"{engine.name} does not load {fmt.key} weights")
    cpu_only = cluster.gpu.vendor == "generic"
    if cpu_only and engine.cpu is None:
        raise PlanError(
            f"{engine.name} needs a GPU and {cluster.gpu.name} is a CPU-only host: "
            "use --engine llamacpp or ollama, or name GPUs with --gpu"
        )
    if cpu_only and host is None:
        basis = f"catalog '{cluster.gpu.id}' entry ({cluster.gpu.name})"
        host = cpu_host(generic_cpu(None), cluster.gpu.bandwidth_gbps, basis)
    return Deployment(
        engine,
        fmt,
        place(cluster, fmt, pp),
        kv_dtype.lower(),
        context,
        batch,
        gpu_util,
        host=host if cpu_only else None,
        lora=lora,
    )


def _nearest(points: tuple[MeasuredEta, ...], batch: int, context: int) -> Factor | None:
    """The point nearest to ``batch`` × ``context`` on a log scale."""

    def distance(point: MeasuredEta) -> float:
        return abs(math.log2(point.batch / batch)) + abs(math.log2(point.context / context))

    return min(points, key=distance).eta if points else None
