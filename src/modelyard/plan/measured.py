"""Estimates held against `yard measure` calibrations of the same model on the same GPU.

A calibration times the bare model (random weights, CUDA-graphed decode, no scheduler), so its
decode steps are compared with the planner's step *without* the engine's fixed step overhead
(the per-MoE-layer routing time stays: the bare model routes too).
For each point the achieved share of peak bandwidth (eta_bw) is derived as
bytes read / (bandwidth × measured step): the figure engines.yaml's eta_bw estimates.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from modelyard.catalog.schema import GPU, Model
from modelyard.errors import PlanError
from modelyard.plan.calibration import Calibration, load_calibrations, measured_architecture
from modelyard.plan.cluster import Cluster
from modelyard.plan.deployment import Deployment, MeasuredEta, place
from modelyard.plan.engines import Engine, Factor
from modelyard.plan.formats import WeightFormat, weight_format
from modelyard.plan.speed import decode, prefill
from modelyard.plan.weights import GIB, weight_bytes


@dataclass(frozen=True)
class MeasuredDecode:
    """One decode point: measured beside estimated."""

    batch: int
    context: int
    measured_tok_s: float
    """Per sequence."""
    estimated_tok_s: float
    """Per sequence, engine step overhead excluded."""
    error: float
    """estimated / measured - 1."""
    achieved_eta_bw: float
    """Bytes the planner counts for this step / (GPU bandwidth × measured step time)."""


@dataclass(frozen=True)
class MeasuredPrefill:
    """One prefill point (batch 1): measured beside estimated."""

    tokens: int
    measured_ms: float
    estimated_ms: float
    error: float
    """measured / estimated time - 1 (positive: the estimate is too fast)."""
    achieved_eta_compute: float
    """FLOPs the planner counts / (GPU TFLOPS × measured time)."""


@dataclass(frozen=True)
class MeasuredCheck:
    """One calibration of this model on this GPU, with the planner's figures beside it."""

    source: str
    """The calibration: device, dtype, torch version and date."""
    dtype: str
    layers: int
    model_layers: int
    weights_measured_gib: float
    weights_estimated_gib: float
    """The planner's weights for the layers that were built, extra_params excluded."""
    decode: list[MeasuredDecode] = field(default_factory=list)
    prefill: list[MeasuredPrefill] = field(default_factory=list)

    @property
    def full_model(self) -> bool:
        """Every layer was built, so the figures stand for the model itself."""
        return self.layers == self.model_layers


def compare(model: Model, cal: Calibration, gpu: GPU, engine: Engine) -> MeasuredCheck:
    """The planner's estimates for exactly what ``cal`` measured, beside the measurements."""
    if model.architecture is None:
        raise PlanError(f"model {model.id!r} has no architecture; nothing to compare")
    arch = measured_architecture(model.architecture, cal.layers)
    built = model.model_copy(update={"architecture": arch})
    fmt = weight_format(cal.dtype)
    base = Deployment(engine.bare(), fmt, place(Cluster(gpu), fmt), cal.dtype)
    rows = []
    for point in cal.decode:
        if point.step_ms is None:
            continue
        est = decode(built, base, point.batch, point.context)
        kernel_ms = est.step_ms
        rows.append(
            MeasuredDecode(
                batch=point.batch,
                context=point.context,
                measured_tok_s=1e3 / point.step_ms,
                estimated_tok_s=1e3 / kernel_ms,
                error=point.step_ms / kernel_ms - 1,
                achieved_eta_bw=_achieved_eta(est.memory_ms, est.moe_ms, point.step_ms, engine),
            )
        )
    prefills = _prefill_rows(built, cal, base)
    return MeasuredCheck(
        source=f"{cal.device_name}, {cal.dtype}, torch {cal.torch_version}, {cal.date:%Y-%m-%d}",
        dtype=cal.dtype,
        layers=cal.layers,
        model_layers=cal.model_layers,
        weights_measured_gib=cal.weights_gib,
        weights_estimated_gib=weight_bytes(built, fmt, engine).total / GIB,
        decode=rows,
        prefill=prefills,
    )


def _achieved_eta(memory_ms: float, moe_ms: float, step_ms: float, engine: Engine) -> float:
    """The eta_bw that makes the bytes take the measured step (less the MoE routing time)."""
    return memory_ms * engine.eta_bw.value / max(step_ms - moe_ms, 1e-9)


def _prefill_rows(built: Model, cal: Calibration, dep: Deployment) -> list[MeasuredPrefill]:
    """Measured prefill beside the estimate; none where the GPU has no TFLOPS figure."""
    if not dep.placement.peak_tflops:
        return []
    rows = []
    for point in cal.prefill:
        if point.ms is None:
            continue
        est_ms = prefill(built, dep, point.tokens).seconds * 1e3
        rows.append(
            MeasuredPrefill(
                tokens=point.tokens,
                measured_ms=point.ms,
                estimated_ms=est_ms,
                error=point.ms / est_ms - 1,
                achieved_eta_compute=dep.engine.eta_compute.value * est_ms / point.ms,
            )
        )
    return rows


SHIPPED = Path(__file__).parent / "data" / "calibrations"
"""Calibrations measured for this repository (docs/PERFORMANCE.md, "GPU measurements")."""


def calibrations() -> list[Calibration]:
    """The shipped calibrations, each replaced by the user's own of the same model, GPU, dtype
    and layer count (YARD_HOME/calibration, where `yard measure` writes)."""
    found = {}
    for cal in [*load_calibrations(SHIPPED), *load_calibrations()]:
        found[cal.model_id, cal.gpu_id, cal.dtype, cal.layers] = cal
    return list(found.values())


def measured_checks(model: Model, gpu: GPU, engine: Engine) -> list[MeasuredCheck]:
    """A check per calibration of ``model`` on ``gpu`` in a dtype the planner knows."""
    return [
        compare(model, cal, gpu, engine)
        for cal in calibrations()
        if cal.model_id == model.id and cal.gpu_id == gpu.id and cal.dtype in ("bf16", "fp16")
    ]


def measured_eta_bw(
    checks: list[MeasuredCheck], fmt: WeightFormat, engine: Engine
) -> tuple[MeasuredEta, ...]:
    """The eta_bw each decode point of a full-model calibration in ``fmt`` achieved."""
    return tuple(
        MeasuredEta(p.batch, p.context, _achieved(p, check, engine))
        for check in checks
        if check.full_model and weight_format(check.dtype) == fmt
        for p in check.decode
    )


def _achieved(point: MeasuredDecode, check: MeasuredCheck, engine: Engine) -> Factor:
    source = (
        f"achieved by `yard measure` at batch {point.batch}, {point.context:,} tokens; "
        f"{check.source}; {engine.name} default {engine.eta_bw.value}"
    )
    return Factor(value=round(point.achieved_eta_bw, 3), source=source)


def with_measured_speed(
    dep: Deployment, model: Model, checks: list[MeasuredCheck] | None = None
) -> Deployment:
    """``dep`` carrying the eta_bw measured for ``model`` on this GPU (``checks``, else looked
    up), where one GPU serves it with no offload; else ``dep`` unchanged."""
    if dep.placement.tp != 1 or dep.offload is not None:
        return dep
    if checks is None:
        checks = measured_checks(model, dep.cluster.gpu, dep.engine)
    return replace(
        dep,
        measured_eta_bw=measured_eta_bw(checks, dep.fmt, dep.engine),
    )
