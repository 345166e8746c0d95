"""Training calibration files: what `yard measure --train` measured, for `yard plan --finetune`.

One JSON document per model, device and method under YARD_HOME/calibration/train/ (apart
from the inference calibrations, which use a different schema). This module does not import
torch.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, ValidationError

from modelyard.errors import MeasureError
from modelyard.plan.calibration import calibration_dir
from modelyard.yamlfile import format_validation

VERSION = 1
TRAIN_SUFFIX = ".train.json"


class _Doc(BaseModel):
    model_config = ConfigDict(extra="forbid", use_attribute_docstrings=True)


class TrainPoint(_Doc):
    """Training steps at one sequence length, micro-batch and checkpointing setting."""

    seq_len: int
    """Tokens per sequence (every sequence full, no padding)."""
    micro_batch: int
    """Sequences per step."""
    grad_ckpt: bool
    """Gradient checkpointing of every decoder layer."""
    peak_allocated_gib: float | None = None
    """torch.cuda.max_memory_allocated over the timed steps (CPU: tensor bytes of weights and
    optimizer states only)."""
    peak_reserved_gib: float | None = None
    """torch.cuda.max_memory_reserved over the timed steps (CUDA only)."""
    step_ms: float | None = None
    """Mean time of one forward + backward + optimizer step."""
    tokens_per_s: float | None = None
    """seq_len × micro_batch / step time."""
    error: str | None = None
    """Why the point has no figures (out of memory, unsupported)."""


class TrainCalibration(_Doc):
    """Everything one `yard measure --train` run measured for one model and method."""

    version: int = VERSION
    """Document version."""
    model_id: str
    """Catalog model id."""
    method: Literal["full", "lora", "qlora"]
    """What was trained."""
    framework: str = "hf"
    """The planner framework profile this run exercises (transformers + PEFT: hf)."""
    versions: dict[str, str]
    """Library versions (torch, transformers, peft, bitsandbytes)."""
    model_layers: int
    """Layers the catalog architecture has."""
    layers: int
    """Layers that were built."""
    rank: int
    """LoRA rank (0 for full)."""
    targets: list[str]
    """LoRA targets (q, k, v, o, gate, up, down, router)."""
    optimizer: str
    """Optimizer (adamw, adamw-8bit, paged-adamw-8bit, sgd)."""
    precision: str
    """Weight dtype of the trained model (bf16, fp16)."""
    device: Literal["cuda", "cpu"]
    """Where it ran."""
    device_name: str
    """torch.cuda.get_device_name, or the CPU's name."""
    gpu_id: str | None
    """Catalog GPU id the device matches (cpu on CPU)."""
    date: dt.datetime
    """When the run finished (UTC)."""
    params: int
    """Parameters of the built model."""
    trainable: int
    """Parameters that received gradients."""
    weights_gib: float
    """Memory after building the model and its adapters (CUDA: memory_allocated)."""
    timing_basis: str
    """How steps were timed."""
    points: list[TrainPoint]
    """The grid."""

    @property
    def scaled(self) -> bool:
        return self.layers < self.model_layers


def train_calibration_dir() -> Path:
    """YARD_HOME/calibration/train, where `yard measure --train` writes."""
    return calibration_dir() / "train"


def train_calibration_filename(cal: TrainCalibration) -> str:
    """``MODEL--GPU--METHOD[--NL].train.json``."""
    layers = f"--{cal.layers}L" if cal.scaled else ""
    return f"{cal.model_id}--{cal.gpu_id or 'unknown'}--{cal.method}{layers}{TRAIN_SUFFIX}"


def save_train_calibration(cal: TrainCalibration, path: Path | None = None) -> Path:
    """Write ``cal`` as JSON (default: the calibration directory); return the path."""
    path = path or train_calibration_dir() / train_calibration_filename(cal)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(cal.model_dump_json(indent=2) + "\n", encoding="utf-8")
    return path


def load_train_calibration(path: Path) -> TrainCalibration:
    """Read one training calibration; errors name the file and field."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise MeasureError(f"{path}: cannot read calibration: {exc}; delete or re-measure") from exc
    try:
        return TrainCalibration.model_validate(data)
    except ValidationError as exc:
        raise MeasureError("\n".join(format_validation(exc, path))) from exc


def load_train_calibrations(directory: Path | None = None) -> list[TrainCalibration]:
    """Every training calibration in ``directory`` (default YARD_HOME/calibration/train)."""
    directory = directory or train_calibration_dir()
    if not directory.is_dir():
        return []
    return [load_train_calibration(p) for p in sorted(directory.glob(f"*{TRAIN_SUFFIX}"))]
