"""Calibration files: what `yard measure` measured, on which device, for the planner to read.

One JSON document per model, device and dtype (and layer count, for scaled-down models), stored
under YARD_HOME/calibration/. This module does not import torch, so the planner can read
calibrations on machines without it.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from modelyard.catalog.schema import Architecture
from modelyard.config import yard_home
from modelyard.errors import MeasureError
from modelyard.yamlfile import format_validation

VERSION = 1


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class DecodePoint(_Doc):
    """One decode step of ``batch`` sequences that each hold ``context`` tokens."""

    batch: int
    """Sequences decoded together."""
    context: int
    """Tokens each sequence holds in the cache (the new one included)."""
    step_ms: float | None = None
    """Mean time of one step (None when the point failed or was skipped)."""
    tok_s_per_sequence: float | None = None
    """1000 / step_ms."""
    tok_s_total: float | None = None
    """batch × 1000 / step_ms."""
    kv_cache_gib: float | None = None
    """Bytes of the static KV cache tensors, GiB."""
    peak_gib: float | None = None
    """Peak memory while the point ran (CUDA: max_memory_allocated; CPU: weights + cache)."""
    cuda_graph: bool = False
    """The step was captured in a CUDA graph and timed over replays."""
    split_attention: bool | None = None
    """Attention split the cache in chunks (flash-decoding) rather than one SDPA call."""
    error: str | None = None
    """Why the point has no figures (out of memory, skipped, capture failure)."""


class PrefillPoint(_Doc):
    """Processing one prompt of ``tokens`` tokens (batch 1, eager)."""

    tokens: int
    """Prompt length."""
    ms: float | None = None
    """Median wall time of the prefill forward pass."""
    tok_s: float | None = None
    """tokens / seconds."""
    peak_gib: float | None = None
    """Peak memory while it ran (as for decode)."""
    error: str | None = None
    """Why the point has no figures."""


class Calibration(_Doc):
    """Everything one `yard measure` run measured for one model."""

    version: int = VERSION
    """Document version; bumped when fields change order or meaning."""
    model_id: str
    """Catalog model id."""
    model_layers: int
    """Layers the catalog architecture has."""
    layers: int
    """Layers that were built (fewer for a scaled-down model)."""
    dtype: str
    """Weights and KV cache dtype (bf16, fp16, fp32)."""
    device: Literal["cuda", "cpu"]
    """Where it ran."""
    device_name: str
    """torch.cuda.get_device_name, or the CPU's name."""
    gpu_id: str | None
    """Catalog GPU id the device name matches (``cpu`` on CPU); None when none matches."""
    driver: str | None = None
    """NVIDIA driver version (nvidia-smi), when known."""
    torch_version: str
    """torch.__version__."""
    cuda_version: str | None = None
    """torch.version.cuda."""
    date: dt.datetime
    """When the run finished (UTC)."""
    expert_kernel: str | None = None
    """How routed experts ran: grouped_mm (reads touched experts only) or gather_bmm."""
    decode_compiled: bool = False
    """Decode steps ran through torch.compile'd blocks (element-wise kernels fused)."""
    params: int
    """Parameters of the built module."""
    weights_gib: float
    """Resident weight memory after building (CUDA: memory_allocated; CPU: tensor bytes)."""
    memory_basis: str
    """How memory was read."""
    timing_basis: str
    """How time was taken (CUDA graphs and replays, or plain timed steps)."""
    decode: list[DecodePoint]
    """The decode grid."""
    prefill: list[PrefillPoint]
    """Prefill at each context of the grid."""

    @property
    def scaled(self) -> bool:
        """Fewer layers were built than the model has."""
        return self.layers < self.model_layers


def measured_architecture(arch: Architecture, layers: int | None) -> Architecture:
    """The architecture that was built: its first ``layers`` blocks, without extra_params.

    Layer kinds, MoE placement (first_k_dense_replace, interval) and every shape stay as in
    the full model; parameters outside the decoder (vision tower, MTP head) are not built.
    """
    if layers is not None and not 1 <= layers <= arch.num_hidden_layers:
        raise MeasureError(
            f"--layers {layers}: must be between 1 and the model's {arch.num_hidden_layers}"
        )
    update = {"num_hidden_layers": layers or arch.num_hidden_layers, "extra_params": 0}
    return arch.model_copy(update={**update, "extra_params_note": None})


def calibration_dir() -> Path:
    """YARD_HOME/calibration, where `yard measure` writes and `yard plan` reads."""
    return yard_home() / "calibration"


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9.]+", "-", text.lower()).strip("-")


def calibration_filename(cal: Calibration) -> str:
    """``MODEL--GPU--DTYPE[--NL].json``."""
    layers = f"--{cal.layers}L" if cal.scaled else ""
    device = cal.gpu_id or _slug(cal.device_name)
    return f"{cal.model_id}--{device}--{cal.dtype}{layers}.json"


def save_calibration(cal: Calibration, path: Path | None = None) -> Path:
    """Write ``cal`` as JSON to ``path`` (default: the calibration directory); return it."""
    path = path or calibration_dir() / calibration_filename(cal)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cal.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def load_calibration(path: Path) -> Calibration:
    """Read one calibration file; errors name the file and field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise MeasureError(f"{path}: cannot read calibration: {exc}; delete or re-measure") from exc
    try:
        return Calibration.model_validate(data)
    except ValidationError as exc:
        raise MeasureError("\n".join(format_validation(exc, path))) from exc


def load_calibrations(directory: Path | None = None) -> list[Calibration]:
    """Every calibration in ``directory`` (default YARD_HOME/calibration), by file name."""
    directory = directory or calibration_dir()
    if not directory.is_dir():
        return []
    return [load_calibration(p) for p in sorted(directory.glob("*.json"))]
