"""Serving engines, one profile per engine version, every factor with its source (engines.yaml).

A profile applies from its ``since`` version until the next profile of the same engine;
``vllm`` names the newest, ``vllm@0.16`` the one in force at 0.16. The profile's version is
printed in every basis line that uses its factors.
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from modelyard.catalog.schema import Model
from modelyard.errors import CatalogError, PlanError
from modelyard.yamlfile import read_yaml, validate

ActivationClass = Literal["llama", "qwen", "moe", "multimodal", "dense"]
KvAccounting = Literal["window", "vllm_groups"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Factor(_Strict):
    """A number the planner uses, with where it comes from."""

    value: float
    """The figure."""
    source: str
    """Measurement, code location or assumption behind it."""


class ActivationTable(_Strict):
    """A profiled activation peak per model class (vLLM up to 0.16 reserved these)."""

    kind: Literal["table"] = "table"
    by_class: dict[str, Factor]
    """Peak GiB by class (llama, qwen, moe, multimodal, dense); ``dense`` is the fallback."""


class ActivationModel(_Strict):
    """The profile run's peak from what it runs: a forward pass and a sampler warm-up.

    peak = max(forward, sampler) + MoE workspace + multimodal extra, in bytes:
    forward = ``forward_bytes`` × batched tokens × MLP width (per GPU); sampler =
    ``sampler_bytes`` × max_num_seqs × vocab; MoE workspace = ``moe_scale`` × batched
    tokens × top-k × (gate-up + down widths per GPU + hidden) × 2 bytes.
    """

    kind: Literal["model"] = "model"
    forward_bytes: Factor
    sampler_bytes: Factor
    moe_scale: Factor
    multimodal_gib: Factor


class PerParallelism(_Strict):
    """A per-GPU figure that depends on how the model is split."""

    single: Factor
    """One GPU."""
    tensor_parallel: Factor
    """Each GPU of a tensor-parallel group (all-reduce buffers)."""
    pipeline: Factor
    """Each GPU of a pipeline-parallel split without tensor parallelism."""


class SchedulerDefaults(_Strict):
    """The engine's default batch limits, which size its profiled activation peak."""

    large_gpu_gib: float
    """GPUs with at least this much memory (A100s excepted) get the large defaults."""
    max_num_seqs: tuple[int, int]
    """(large GPUs, others)."""
    max_num_batched_tokens: tuple[int, int]
    """(large GPUs, others)."""
    source: str


class SmallBatch(_Strict):
    """A separate kernel path for small decode batches (llama.cpp: quantized matrix-vector
    kernels up to 8 tokens, tiled MMQ kernels above)."""

    max_batch: int
    """Largest batch (tokens per step) the path serves."""
    eta_compute: Factor
    """Achieved share of peak tensor FLOPS on that path."""


class CpuFactors(_Strict):
    """How the engine runs on a CPU-only host."""

    eta_bw: Factor
    """Achieved share of the host's theoretical RAM bandwidth in decode."""
    core_gflops: dict[str, Factor]
    """Matrix GFLOP/s per physical core, by the best instruction set the host has
    (``avx2``, ``avx512``, ``amx``; ``avx2`` is the fallback): bounds decode at large
    batches and sizes prefill."""

    def gflops(self, isa: str) -> Factor:
        return self.core_gflops.get(isa) or self.core_gflops["avx2"]


class Engine(_Strict):
    """One serving engine version as the planner models it."""

    id: str
    """Key users type (vllm, sglang, tgi, llamacpp, ollama)."""
    name: str
    """Display name."""
    version: str
    """Version the factors were measured or fitted on."""
    since: str = "0"
    """First version the profile applies to."""
    kv_dtypes: list[str]
    """KV cache dtypes the engine offers; the first is its default."""
    kv_block_tokens: int
    """Tokens per KV page; sequences are rounded up to a whole page."""
    kv_accounting: KvAccounting = "window"
    """How local-attention layers are charged: their window (steady state), or vLLM's KV cache
    groups with its admission bound (sliding groups hold window + a prefill chunk)."""
    mxfp4_intermediate_multiple: int
    """MXFP4 expert width (per tensor-parallel shard) is padded up to a multiple of this."""
    mxfp4_hidden_multiple: int = 1
    """MXFP4 expert hidden dimension is padded up to a multiple of this."""
    memory_fraction: Factor
    """Share of GPU memory the engine lets itself use."""
    cuda_hidden_gib: Factor | None = None
    """Memory the driver keeps out of CUDA's total (the share is taken of what is left)."""
    context_gib: PerParallelism
    """CUDA context and runtime memory (NCCL communicators at TP > 1)."""
    context_outside_budget: bool = False
    """The context lives outside the engine's memory share (vLLM: in the 1 - share headroom)."""
    cuda_graph_gib: Factor | None = None
    """CUDA graph pool, captured after the KV cache is sized: it must fit the headroom."""
    non_torch: PerParallelism
    """Memory outside torch's allocator inside the budget (NCCL buffers, cuBLAS workspaces)."""
    activation: ActivationTable | ActivationModel = Field(discriminator="kind")
    scheduler: SchedulerDefaults | None = None
    eta_bw: Factor
    """Achieved share of peak memory bandwidth in decode."""
    step_overhead_ms: Factor
    """Fixed GPU time per decode step (launches, synchronisation)."""
    cpu_floor_ms: Factor | None = None
    """Shortest step the engine's CPU side allows (scheduling, input preparation, detokenizing):
    small models on fast GPUs wait for it."""
    sampling_passes: Factor | None = None
    """Passes over each sequence's fp32 logits per step when sampling (softmax, top-p sort):
    bytes read per step = passes × 4 × vocab × batch."""
    moe_layer_us: Factor
    """Time each MoE layer adds to a step beyond its bytes (routing, expert dispatch)."""
    allreduce_us: Factor | None = None
    """Time of one tensor-parallel all-reduce of a decode step's activations (two per layer)."""
    eta_compute: Factor
    """Achieved share of peak tensor FLOPS in prefill and compute-bound decode."""
    small_batch: SmallBatch | None = None
    compute_overlaps: bool = True
    """Decode compute hides under the weight reads (step = max of the two); False where the
    engine's kernels read and then compute (step = their sum)."""
    cpu: CpuFactors | None = None
    """Factors on a CPU-only host (None: the engine needs a GPU)."""

    @property
    def key(self) -> str:
        """``id@version``, as basis lines and JSON name the profile."""
        return f"{self.id}@{self.version}"

    @property
    def label(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def is_gguf(self) -> bool:
        return self.id in ("llamacpp", "ollama")

    def bare(self) -> Engine:
        """The kernels alone, as `yard measure` times them: no sampler, scheduler or fixed
        per-step overhead."""
        zero = Factor(value=0.0, source="bare model (no engine)")
        update = {"sampling_passes": None, "cpu_floor_ms": None, "step_overhead_ms": zero}
        return self.model_copy(update=update)

    def activation_table(self, model: Model) -> Factor:
        """The class peak for a table profile."""
        if not isinstance(self.activation, ActivationTable):
            raise PlanError(f"{self.key} models its activation peak; there is no class table")
        table = self.activation.by_class
        return table.get(activation_class(model)) or table["dense"]


def activation_class(model: Model) -> ActivationClass:
    """The class vLLM's profiled activation peak depended on (up to 0.16)."""
    if model.is_moe:
        return "moe"
    if "image" in model.modalities:
        return "multimodal"
    model_type = model.architecture.model_type if model.architecture else ""
    if model_type.startswith("llama"):
        return "llama"
    if model_type.startswith("qwen"):
        return "qwen"
    return "dense"


class _EngineFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    engines: list[Engine]


def _path() -> Path:
    return Path(str(resources.files("modelyard.plan") / "data" / "engines.yaml"))


@lru_cache(maxsize=1)
def load_engines() -> tuple[Engine, ...]:
    """Every profile in engines.yaml, newest first within each engine."""
    path = _path()
    data, node = read_yaml(path, CatalogError)
    parsed, errors = validate(_EngineFile, data, path, node)
    if parsed is None:
        raise CatalogError("\n".join(errors))
    return tuple(sorted(parsed.engines, key=lambda e: (e.id, _version(e.since)), reverse=True))


def engine_ids() -> list[str]:
    """Engine ids, in the order engines.yaml lists them first."""
    return sorted({e.id for e in load_engines()})


def _version(text: str) -> tuple[int, ...]:
    parts = text.strip().lstrip("vb").split(".")
    if not all(p.isdigit() for p in parts):
        raise PlanError(
            f"engine version {text!r}: write numbers like 0.19 or 0.19.1 (llama.cpp: b6400)"
        )
    return tuple(int(p) for p in parts)


def get_engine(name: str) -> Engine:
    """The profile named ``name``: ``vllm`` (newest), ``vllm@0.16``, ``llama.cpp``."""
    base, _, wanted = name.partition("@")
    key = base.lower().replace(".", "").replace("-", "").replace("_", "").strip()
    profiles = [e for e in load_engines() if e.id == key]
    if not profiles:
        raise PlanError(f"unknown engine {name!r}; choose one of {', '.join(engine_ids())}")
    if not wanted:
        return profiles[0]
    version = _version(wanted)
    for profile in profiles:
        if _version(profile.since) <= version:
            return profile
    raise PlanError(f"no {profiles[0].name} profile for version {wanted}")
