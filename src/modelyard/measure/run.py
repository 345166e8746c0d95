"""The measurement grid: build one model, time prefill and decode over batches × contexts.

Each grid point allocates its own static KV cache and frees it afterwards; a point that runs out
of memory is recorded with its error and the grid goes on, so one run always leaves a complete
calibration file behind.
"""

from __future__ import annotations

import datetime as dt
import gc
import os
import platform
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING

from rich.console import Console
from rich.progress import Progress

from modelyard.catalog import Catalog, Model, find_gpu
from modelyard.errors import CatalogError, MeasureError, MissingExtraError
from modelyard.plan.calibration import (
    Calibration,
    DecodePoint,
    PrefillPoint,
    measured_architecture,
    save_calibration,
)
from modelyard.policy import parse_tokens

if TYPE_CHECKING:
    import torch

    from modelyard.measure.model import Decoder

DTYPES = ("bf16", "fp16", "fp32")


@dataclass(frozen=True)
class Grid:
    """Batch sizes and contexts (tokens per sequence) to measure, and how long to time."""

    batches: tuple[int, ...] = (1, 8, 32)
    contexts: tuple[int, ...] = (1024, 8192)
    decode_repeats: int = 50
    """Timed decode steps (CUDA-graph replays on CUDA) per point."""
    prefill_repeats: int = 3
    """Timed prefill passes per context (the median is kept)."""
    compile: bool = True
    """On CUDA, compile each block's decode step (torch.compile) before capturing the graph."""


def parse_grid(
    batches: str, contexts: str, repeats: int | None = None, compile_: bool = True
) -> Grid:
    """'1,8,32' and '1k,8k' -> Grid; ``repeats`` overrides the decode repeats."""
    try:
        sizes = tuple(int(b) for b in batches.split(","))
    except ValueError:
        raise MeasureError(
            f"--batch {batches!r}: write comma-separated integers, e.g. 1,8,32"
        ) from None
    if not sizes or min(sizes) < 1:
        raise MeasureError(f"--batch {batches!r}: batch sizes must be at least 1")
    tokens = tuple(parse_tokens(c) for c in contexts.split(","))
    if repeats is None:
        return Grid(sizes, tokens, compile=compile_)
    return Grid(sizes, tokens, decode_repeats=repeats, compile=compile_)


def _torch() -> ModuleType:
    try:
        import torch
    except ImportError:
        raise MissingExtraError("torch", "measure", "yard measure") from None
    return torch


def _device(torch_: ModuleType, device: str | None) -> str:
    cuda = torch_.cuda.is_available()
    if device is None:
        return "cuda" if cuda else "cpu"
    if device not in ("cuda", "cpu"):
        raise MeasureError(f"--device {device!r}: choose cuda or cpu")
    if device == "cuda" and not cuda:
        raise MeasureError("--device cuda: torch sees no CUDA device; use --device cpu")
    return device


def _dtype(torch_: ModuleType, name: str) -> torch.dtype:
    if name not in DTYPES:
        raise MeasureError(f"--dtype {name!r}: choose one of {', '.join(DTYPES)}")
    attr = {"bf16": "bfloat16", "fp16": "float16", "fp32": "float32"}[name]
    return getattr(torch_, attr)


def _driver() -> str | None:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return None
    cmd = [smi, "--query-gpu=driver_version", "--format=csv,noheader"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=30, check=False)
    return done.stdout.strip().splitlines()[0] if done.returncode == 0 and done.stdout else None


def _device_facts(torch_: ModuleType, device: str, catalog: Catalog) -> dict[str, str | None]:
    if device == "cpu":
        name = platform.processor() or platform.machine() or "cpu"
        return {"device_name": name, "gpu_id": "cpu", "driver": None, "cuda_version": None}
    name = torch_.cuda.get_device_name()
    try:
        gpu_id: str | None = find_gpu(catalog, name).id
    except CatalogError:
        gpu_id = None
    cuda_version = torch_.version.cuda
    return {
        "device_name": name,
        "gpu_id": gpu_id,
        "driver": _driver(),
        "cuda_version": cuda_version,
    }


def _release(torch_: ModuleType, device: str) -> None:
    """Free what earlier points or models left: graphs and tracebacks sit in reference cycles."""
    if device == "cuda":
        gc.collect()
        torch_.cuda.empty_cache()


@contextmanager
def _point(torch_: ModuleType, device: str) -> Iterator[dict[str, str]]:
    """Run one grid point; an out-of-memory error becomes the point's ``error``."""
    failure: dict[str, str] = {}
    _release(torch_, device)
    try:
        yield failure
    except torch_.OutOfMemoryError as exc:
        failure["error"] = f"out of memory: {str(exc).splitlines()[0]}"
    except RuntimeError as exc:
        failure["error"] = f"{type(exc).__name__}: {str(exc).splitlines()[0]}"


def _parallel_units(torch_: ModuleType, device: str) -> int:
    if device == "cuda":
        return torch_.cuda.get_device_properties().multi_processor_count
    return os.cpu_count() or 1


def _decode_point(model: Decoder, batch: int, context: int, device: str, grid: Grid) -> DecodePoint:
    from modelyard.measure.kvcache import allocate_cache
    from modelyard.measure.timing import GIB, decode_step_ms, peak_bytes, reset_peak

    torch_ = _torch()
    dtype = model.norm.dtype
    with _point(torch_, device) as failure:
        reset_peak(device)
        split = model.split_decode_attention(batch, _parallel_units(torch_, device))
        cache = allocate_cache(model.arch, batch, context, dtype, device)
        ms, graphed = decode_step_ms(model, cache, device, grid.decode_repeats)
        return DecodePoint(
            batch=batch,
            context=context,
            step_ms=ms,
            tok_s_per_sequence=1e3 / ms,
            tok_s_total=batch * 1e3 / ms,
            kv_cache_gib=cache.nbytes / GIB,
            peak_gib=peak_bytes(model, cache, device) / GIB,
            cuda_graph=graphed,
            split_attention=split,
        )
    return DecodePoint(batch=batch, context=context, error=failure.get("error"))


def _prefill_point(model: Decoder, tokens: int, device: str, grid: Grid) -> PrefillPoint:
    from modelyard.measure.kvcache import allocate_cache
    from modelyard.measure.timing import GIB, peak_bytes, prefill_ms, reset_peak

    torch_ = _torch()
    with _point(torch_, device) as failure:
        reset_peak(device)
        cache = allocate_cache(model.arch, 1, tokens, model.norm.dtype, device)
        ms = prefill_ms(model, cache, device, grid.prefill_repeats)
        peak = peak_bytes(model, cache, device) / GIB
        return PrefillPoint(tokens=tokens, ms=ms, tok_s=tokens * 1e3 / ms, peak_gib=peak)
    return PrefillPoint(tokens=tokens, error=failure.get("error"))


def _timing_basis(device: str, grid: Grid) -> str:
    if device == "cuda":
        compiled = "blocks compiled by torch.compile, " if grid.compile else ""
        compiled += "cache split in chunks when batch × KV heads ≤ SMs / 2, "
        return (
            f"decode: {compiled}CUDA graph of one step over a static KV cache, mean of "
            f"{grid.decode_repeats} replays (CUDA events); prefill: eager, batch 1, median of "
            f"{grid.prefill_repeats}"
        )
    return (
        f"decode: eager steps, mean of {grid.decode_repeats} (wall clock); prefill: eager, "
        f"batch 1, median of {grid.prefill_repeats}"
    )


def measure(
    model: Model,
    catalog: Catalog,
    grid: Grid,
    dtype: str = "bf16",
    device: str | None = None,
    layers: int | None = None,
    out: Path | None = None,
    console: Console | None = None,
) -> tuple[Calibration, Path]:
    """Build ``model`` with random weights and measure it over ``grid``; save the calibration.

    Args:
        model: catalog model (verified: it needs an architecture).
        catalog: the catalog, to match the GPU's name to a catalog GPU id.
        grid: batch sizes and contexts.
        dtype: bf16, fp16 or fp32, for weights and KV cache.
        device: cuda or cpu; None picks cuda when torch sees one.
        layers: build only the first N layers (exact per-layer shapes).
        out: calibration file to write (default YARD_HOME/calibration/<name>.json).
        console: where the progress bar goes (default stderr).

    Returns:
        The calibration and the path it was written to.
    """
    from modelyard.measure.model import build_model, parameter_count
    from modelyard.measure.timing import GIB, resident_bytes

    torch_ = _torch()
    if model.architecture is None:
        raise MeasureError(f"model {model.id!r} has no architecture in the catalog; cannot build")
    where = _device(torch_, device)
    arch = measured_architecture(model.architecture, layers)
    torch_dtype = _dtype(torch_, dtype)
    _release(torch_, where)
    before = torch_.cuda.memory_allocated() if where == "cuda" else 0
    built = build_model(arch, where, torch_dtype)
    weights = resident_bytes(built, where) - before
    compiled = where == "cuda" and grid.compile
    if compiled:
        built.compile_decode()
    decode, prefill = _run_grid(built, grid, where, console or Console(stderr=True))
    cal = Calibration(
        model_id=model.id,
        model_layers=model.architecture.num_hidden_layers,
        layers=arch.num_hidden_layers,
        dtype=dtype,
        device=where,
        **_device_facts(torch_, where, catalog),
        torch_version=torch_.__version__,
        date=dt.datetime.now(dt.UTC).replace(microsecond=0),
        expert_kernel=built.expert_kernel if arch.moe else None,
        decode_compiled=compiled,
        params=parameter_count(built),
        weights_gib=weights / GIB,
        memory_basis=_memory_basis(where),
        timing_basis=_timing_basis(where, grid),
        decode=decode,
        prefill=prefill,
    )
    return cal, save_calibration(cal, out)


def _run_grid(
    model: Decoder, grid: Grid, device: str, console: Console
) -> tuple[list[DecodePoint], list[PrefillPoint]]:
    """Every decode point (context-major), then prefill at each context, under a progress bar."""
    points = [(b, c) for c in grid.contexts for b in grid.batches]
    decode, prefill = [], []
    with Progress(console=console, transient=True) as bar:
        task = bar.add_task(model.arch.model_type, total=len(points) + len(grid.contexts))
        for batch, context in points:
            bar.update(task, description=f"decode B={batch} ctx={context:,}")
            decode.append(_decode_point(model, batch, context, device, grid))
            bar.advance(task)
        for tokens in grid.contexts:
            bar.update(task, description=f"prefill {tokens:,} tokens")
            prefill.append(_prefill_point(model, tokens, device, grid))
            bar.advance(task)
    return decode, prefill


def _memory_basis(device: str) -> str:
    if device == "cuda":
        return "torch.cuda.memory_allocated (weights) and max_memory_allocated (peaks)"
    return "sum of tensor bytes: weights, and weights + KV cache for peaks (no activations)"
