"""The whole fine-tune plan for one model on one cluster: memory, time, cost, methods compared,
measurements beside the estimate, and training recipes."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace
from pathlib import Path

from modelyard.catalog.schema import Model
from modelyard.plan.cluster import Cluster
from modelyard.plan.engines import Factor
from modelyard.plan.finetune import GIB, METHODS, FinetuneMemory, FinetuneSpec, plan_finetune_memory
from modelyard.plan.finetune_recipes import training_recipes
from modelyard.plan.finetune_time import FinetuneTime, plan_finetune_time, train_flops
from modelyard.plan.recipes import Recipe
from modelyard.plan.train_calibration import TrainCalibration, load_train_calibrations


@dataclass(frozen=True)
class MethodRow:
    """One method at the plan's other settings: the "fine-tuning doubles VRAM" question."""

    method: str
    device_gib: float
    fits: bool
    vs_serving: float
    """device_gib / the bf16 weights alone (what serving the model needs at least)."""


@dataclass(frozen=True)
class TrainCheck:
    """One measured training point beside the planner's estimate for the same settings."""

    seq_len: int
    micro_batch: int
    grad_ckpt: bool
    measured_gib: float
    estimated_gib: float
    memory_error: float
    """estimated / measured - 1."""
    measured_tok_s: float | None
    estimated_tok_s: float
    """The planner's tokens/s with the framework's default MFU and overhead."""
    achieved_mfu: float | None
    """FLOPs the planner counts per token × measured tokens/s / peak FLOPS."""


@dataclass(frozen=True)
class MeasuredTraining:
    """One training calibration of this model and method on this GPU."""

    source: str
    points: list[TrainCheck]


@dataclass(frozen=True)
class FinetunePlan:
    """Everything `yard plan MODEL --finetune ...` prints."""

    model_id: str
    cluster: str
    memory: FinetuneMemory
    time: FinetuneTime
    methods: list[MethodRow]
    measured: list[MeasuredTraining] = field(default_factory=list)
    recipes: list[Recipe] = field(default_factory=list)


def _memory(model: Model, spec: FinetuneSpec, cluster: Cluster) -> FinetuneMemory:
    gpu = cluster.gpu
    return plan_finetune_memory(model, spec, cluster.count, gpu.name, cluster.usable_gib)


def compare_methods(model: Model, spec: FinetuneSpec, cluster: Cluster) -> list[MethodRow]:
    """Device memory of full, LoRA and QLoRA with the plan's other settings."""
    rows = []
    for method in METHODS:
        mem = _memory(model, replace(spec, method=method), cluster)
        serving = mem.params * 2 / GIB / (1 if spec.sharding == "ddp" else cluster.count)
        rows.append(MethodRow(method, mem.device_gib, mem.fits, mem.device_gib / serving))
    return rows


def _check(model: Model, cal: TrainCalibration, cluster: Cluster, spec: FinetuneSpec) -> list:
    checks = []
    peak = cluster.gpu.bf16_tflops
    for p in cal.points:
        if p.peak_allocated_gib is None:
            continue
        point = replace(
            spec,
            seq_len=p.seq_len,
            micro_batch=p.micro_batch,
            grad_ckpt="full" if p.grad_ckpt else "none",
            grad_accum=1,
            framework=cal.framework,
        )
        mem = plan_finetune_memory(model, point, 1, cluster.gpu.name, cluster.usable_gib)
        flops = train_flops(model.architecture, point, mem.trainable).total  # type: ignore[arg-type]
        mfu = flops * p.tokens_per_s / (peak * 1e12) if p.tokens_per_s and peak else None
        time = plan_finetune_time(model, point, Cluster(cluster.gpu, 1), mem.trainable)
        checks.append(
            TrainCheck(
                seq_len=p.seq_len,
                micro_batch=p.micro_batch,
                grad_ckpt=p.grad_ckpt,
                measured_gib=p.peak_allocated_gib,
                estimated_gib=mem.peak_allocated_gib,
                memory_error=mem.peak_allocated_gib / p.peak_allocated_gib - 1,
                measured_tok_s=p.tokens_per_s,
                estimated_tok_s=time.tokens_per_s,
                achieved_mfu=mfu,
            )
        )
    return checks


def measured_training(
    model: Model, spec: FinetuneSpec, cluster: Cluster, directory: Path | None = None
) -> list[MeasuredTraining]:
    """Full-model training calibrations of ``model`` on this GPU for the plan's method."""
    found = []
    for cal in load_train_calibrations(directory):
        if (cal.model_id, cal.gpu_id, cal.method) != (model.id, cluster.gpu.id, spec.method):
            continue
        if cal.scaled:
            continue
        matched = replace(spec, rank=cal.rank or spec.rank, optimizer=cal.optimizer)  # type: ignore[arg-type]
        source = f"{cal.device_name}, {cal.method}, {cal.date:%Y-%m-%d}, " + ", ".join(
            f"{k} {v}" for k, v in sorted(cal.versions.items())
        )
        found.append(MeasuredTraining(source, _check(model, cal, cluster, matched)))
    return found


def _measured_mfu(measured: list[MeasuredTraining], spec: FinetuneSpec) -> Factor | None:
    ckpt = spec.grad_ckpt != "none"
    mfus = [
        c.achieved_mfu
        for m in measured
        for c in m.points
        if c.achieved_mfu is not None and c.grad_ckpt == ckpt
    ]
    if not mfus:
        return None
    source = f"median of {len(mfus)} `yard measure --train` points ({measured[0].source})"
    return Factor(value=statistics.median(mfus), source=source)


def plan_finetune(
    model: Model,
    spec: FinetuneSpec,
    cluster: Cluster,
    usd_per_gpu_hour: float | None = None,
    calibrations: Path | None = None,
) -> FinetunePlan:
    """Memory per GPU, fit, time, cost, the three methods side by side, measurements, recipes."""
    memory = _memory(model, spec, cluster)
    measured = measured_training(model, spec, cluster, calibrations)
    mfu = _measured_mfu(measured, spec) if spec.framework == "hf" else None
    time = plan_finetune_time(model, spec, cluster, memory.trainable, mfu, usd_per_gpu_hour)
    return FinetunePlan(
        model_id=model.id,
        cluster=cluster.label,
        memory=memory,
        time=time,
        methods=compare_methods(model, spec, cluster),
        measured=measured,
        recipes=training_recipes(model, spec, cluster.count),
    )
