"""Serving engines and their sourced factors (memory reserves, efficiencies), from engines.yaml."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from modelyard.catalog.schema import Model
from modelyard.errors import CatalogError, PlanError
from modelyard.yamlfile import read_yaml, validate

ENGINES: tuple[str, ...] = ("vllm", "sglang", "tgi", "llamacpp", "ollama")
ActivationClass = Literal["llama", "qwen", "moe", "multimodal", "dense"]


class Factor(BaseModel):
    """A number the planner uses, with where it comes from."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    value: float
    """The figure."""
    source: str
    """Measurement, code location or assumption behind it."""


class Engine(BaseModel):
    """One serving engine as the planner models it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    """Key users type (vllm, sglang, tgi, llamacpp, ollama)."""
    name: str
    """Display name."""
    kv_dtypes: list[str]
    """KV cache dtypes the engine offers."""
    kv_block_tokens: int
    """Tokens per KV page; sequences are rounded up to a whole page."""
    mxfp4_intermediate_multiple: int
    """MXFP4 expert width is padded up to a multiple of this."""
    memory_fraction: Factor
    """Share of GPU memory the engine lets itself use."""
    context_gib: Factor
    """CUDA context and runtime memory outside that share's accounting."""
    non_torch_gib: Factor
    """Non-torch allocations at TP1 (NCCL, cuBLAS workspaces)."""
    non_torch_tp_gib: Factor
    """Non-torch allocations at TP>1."""
    activation_gib: dict[str, Factor]
    """Activation peak by model class (llama, qwen, moe, multimodal, dense)."""
    eta_bw: Factor
    """Achieved share of peak memory bandwidth in decode."""
    step_overhead_ms: Factor
    """Fixed time per decode step (scheduler, sampling, launch)."""
    eta_compute: Factor
    """Achieved share of peak tensor FLOPS in prefill and compute-bound decode."""

    @property
    def is_gguf(self) -> bool:
        return self.id in ("llamacpp", "ollama")

    def activation(self, model: Model) -> Factor:
        """The activation reserve for the model's class, falling back to dense."""
        table = self.activation_gib
        return table.get(activation_class(model)) or table["dense"]


def activation_class(model: Model) -> ActivationClass:
    """The class vLLM's profiled activation peak depends on."""
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
def load_engines() -> dict[str, Engine]:
    """Every engine in engines.yaml, by id."""
    path = _path()
    data, node = read_yaml(path, CatalogError)
    parsed, errors = validate(_EngineFile, data, path, node)
    if parsed is None:
        raise CatalogError("\n".join(errors))
    return {e.id: e for e in parsed.engines}


def get_engine(name: str) -> Engine:
    """The engine named ``name`` ('llama.cpp' and 'llamacpp' both work)."""
    key = name.lower().replace(".", "").replace("-", "").replace("_", "")
    engines = load_engines()
    if key not in engines:
        raise PlanError(f"unknown engine {name!r}; choose one of {', '.join(engines)}")
    return engines[key]
