"""Training frameworks and their sourced factors (activation bytes, loss buffers, MFU), from
finetune.yaml, for the fine-tuning planner."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from modelyard.errors import CatalogError, PlanError
from modelyard.plan.engines import Factor
from modelyard.yamlfile import read_yaml, validate


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Activations(_Strict):
    """Bytes per token per layer that autograd keeps for the backward pass (no checkpointing)."""

    hidden: float
    """Per unit of hidden size."""
    intermediate: float
    """Per unit of MLP width (MoE: summed over the experts a token visits)."""
    q: float
    """Per unit of query width (heads × head_dim)."""
    kv: float
    """Per unit of key/value width (KV heads × head_dim)."""
    heads: float
    """Per attention head (softmax statistics)."""
    rank: float
    """Per unit of LoRA rank per adapted matrix the token passes."""
    source: str
    """How the coefficients were obtained."""


class PerMethod(_Strict):
    """One factor per fine-tuning method."""

    full: Factor
    lora: Factor
    qlora: Factor


class Framework(_Strict):
    """One training framework as the planner models it."""

    id: str
    """Key users type (hf, unsloth, torchtune)."""
    name: str
    """Display name."""
    adapter_bytes: Factor
    """Bytes per LoRA parameter (and per gradient of one)."""
    activations_full: Activations
    """Saved activations when every weight trains."""
    activations_lora: Activations
    """Saved activations with frozen base weights and LoRA adapters."""
    checkpoint_hidden_bytes: Factor
    """Bytes per hidden unit each checkpointed layer keeps (its input)."""
    logits_bytes: Factor
    """Peak bytes per token per vocabulary entry around the loss."""
    activation_scale: Factor
    """Multiplier on the per-layer activation coefficients (fused kernels keep less)."""
    qlora_unquantized_bytes: Factor
    """Bytes per parameter QLoRA keeps unquantized (embeddings, head, norms) with an NF4 base."""
    full_keeps_grads: bool
    """A full fine-tune holds every gradient at once (false: the optimizer steps in backward)."""
    mfu: PerMethod
    """Achieved share of peak dense BF16 FLOPS, by method."""
    overhead_ms_per_layer: PerMethod
    """Fixed time per layer per micro-batch (kernel launches; 4-bit dequantization)."""


class Device(_Strict):
    """What the device holds beyond the framework's tensors."""

    context_gib: Factor
    """CUDA context and library workspaces per process (nvidia-smi sees them)."""
    allocator_slack: Factor
    """Share the caching allocator reserves beyond its peak allocation."""


class _File(_Strict):
    device: Device
    frameworks: list[Framework]


def _path() -> Path:
    return Path(str(resources.files("modelyard.plan") / "data" / "finetune.yaml"))


@lru_cache(maxsize=1)
def _load() -> _File:
    path = _path()
    data, node = read_yaml(path, CatalogError)
    parsed, errors = validate(_File, data, path, node)
    if parsed is None:
        raise CatalogError("\n".join(errors))
    return parsed


def device_factors() -> Device:
    """CUDA context and allocator slack, with their sources."""
    return _load().device


def frameworks() -> dict[str, Framework]:
    """Every framework in finetune.yaml, by id."""
    return {f.id: f for f in _load().frameworks}


def get_framework(name: str) -> Framework:
    """The framework called ``name`` (hf, unsloth, torchtune; trl/axolotl mean hf)."""
    key = name.strip().lower()
    key = {"trl": "hf", "axolotl": "hf", "llama-factory": "hf", "peft": "hf"}.get(key, key)
    found = frameworks()
    if key not in found:
        raise PlanError(f"unknown framework {name!r}; choose one of {', '.join(found)}")
    return found[key]
