"""Bytes of a model's weights in a storage format, as an engine lays them out.

Parameter counts come from the catalog's component breakdown (``count_params``); a format's
scope says which components it quantizes (the rest stay BF16), and an engine's kernel padding
(vLLM pads MXFP4 expert matrices) is applied per tensor-parallel shard.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from modelyard.catalog.params import ParamBreakdown, count_params
from modelyard.catalog.schema import Architecture, Model
from modelyard.errors import PlanError
from modelyard.plan.engines import Engine
from modelyard.plan.formats import WeightFormat

GIB = float(2**30)
_LINEAR = ("attention", "dense_mlp", "routed_experts", "shared_experts")
_MLP = ("dense_mlp", "routed_experts", "shared_experts")
COMPONENTS = (*_LINEAR, "embedding", "lm_head", "router", "norms", "extra")


@dataclass(frozen=True)
class WeightBytes:
    """Bytes of every weight component once stored in a format."""

    components: dict[str, float]
    """Bytes per ParamBreakdown component (embedding, lm_head, attention, routed_experts, ...)."""
    basis: str
    """How the figure was computed."""

    @property
    def total(self) -> float:
        return sum(self.components.values())


def require_arch(model: Model) -> Architecture:
    """The model's architecture, or a PlanError saying the planner cannot size it."""
    if model.architecture is None:
        raise PlanError(
            f"model {model.id!r} has no architecture in the catalog (unverified); "
            "the planner cannot size it"
        )
    return model.architecture


def _quantized(fmt: WeightFormat, component: str) -> bool:
    scopes = {"all": COMPONENTS, "linear": _LINEAR, "mlp": _MLP, "experts": ("routed_experts",)}
    return component in scopes[fmt.scope]


def _round_up(value: float, multiple: int) -> float:
    return math.ceil(value / multiple) * multiple


def _expert_padding(arch: Architecture, fmt: WeightFormat, engine: Engine | None, tp: int) -> float:
    """Growth of MXFP4 expert matrices when an engine's kernels pad their widths per shard."""
    if fmt.key != "mxfp4" or engine is None or arch.moe is None:
        return 1.0
    width = arch.moe.moe_intermediate_size / tp
    hidden = arch.hidden_size
    padded = _round_up(width, engine.mxfp4_intermediate_multiple) / width
    return padded * _round_up(hidden, engine.mxfp4_hidden_multiple) / hidden


def _edge_mlp_params(arch: Architecture, counts: ParamBreakdown, layers: int) -> float:
    """MLP parameters of the first and last ``layers`` layers (dense layers only)."""
    dense_layers = arch.num_hidden_layers - counts.moe_layers
    if not layers or not dense_layers:
        return 0.0
    return counts.dense_mlp / dense_layers * min(2 * layers, dense_layers)


def weight_bytes(
    model: Model, fmt: WeightFormat, engine: Engine | None = None, tp: int = 1
) -> WeightBytes:
    """Bytes of the model's weights in ``fmt`` (as ``engine`` lays them out over ``tp`` GPUs)."""
    arch = require_arch(model)
    counts = count_params(arch)
    pad = _expert_padding(arch, fmt, engine, tp)
    components = {}
    for name in COMPONENTS:
        params = float(getattr(counts, name))
        bits = fmt.bits if _quantized(fmt, name) else 16.0
        factor = pad if name == "routed_experts" else 1.0
        components[name] = params * bits / 8 * factor
    edge = _edge_mlp_params(arch, counts, fmt.bf16_edge_layers)
    components["dense_mlp"] += edge * (16.0 - fmt.bits) / 8 if _quantized(fmt, "dense_mlp") else 0
    basis = f"{counts.total / 1e9:.2f}B params; {fmt.key}: {fmt.basis}"
    if pad != 1.0 and engine is not None:
        basis += f"; experts padded ×{pad:.4f} by {engine.label} MXFP4 kernels"
    return WeightBytes(components, basis)
