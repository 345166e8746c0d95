"""Contexts beyond what a model's config.json allows: which RoPE scaling reaches them.

Engines refuse a context above the config's limit (vLLM: "User-specified max_model_len is
greater than the derived max_model_len") unless told to scale RoPE. The catalog records the
scaling a vendor documents (``Architecture.long_context``, e.g. Qwen3's YaRN × 4 from 32,768);
recipes turn it into each engine's flags.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from modelyard.catalog.schema import Model
from modelyard.errors import PlanError
from modelyard.plan.weights import require_arch


@dataclass(frozen=True)
class RopeExtension:
    """The RoPE scaling one plan needs."""

    rope_type: str
    factor: float
    original: int
    """Positions the model was trained at."""
    rope_theta: float | None

    @property
    def reaches(self) -> int:
        return int(self.original * self.factor)


def native_context(model: Model) -> int:
    """The longest context the config allows without RoPE scaling."""
    arch = require_arch(model)
    return max(arch.max_position_embeddings, arch.model_max_length or 0)


def longest_context(model: Model) -> int:
    """The longest context any documented scaling reaches."""
    arch = require_arch(model)
    scaling = arch.long_context
    reach = int(scaling.original_max_position_embeddings * scaling.factor) if scaling else 0
    return max(native_context(model), reach)


def rope_extension(model: Model, context: int) -> RopeExtension | None:
    """The scaling a ``context``-token plan needs: None within the native limit; the vendor's
    method at the smallest whole factor that reaches ``context`` above it.

    Raises:
        PlanError: no documented scaling reaches ``context``.
    """
    arch = require_arch(model)
    if context <= native_context(model):
        return None
    scaling = arch.long_context
    if scaling is None or context > longest_context(model):
        raise PlanError(
            f"context {context:,} is above {model.id}'s config limit ({native_context(model):,} "
            f"positions) and no documented RoPE scaling reaches it"
            + (f" (the vendor's reaches {longest_context(model):,})" if scaling else "")
        )
    original = scaling.original_max_position_embeddings
    factor = min(scaling.factor, float(math.ceil(context / original)))
    return RopeExtension(scaling.rope_type, factor, original, arch.rope_theta)
