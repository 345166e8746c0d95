"""`yard measure`: time a model's architecture on this GPU (or CPU) with random weights."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli._render import console, err_console, print_json, table
from modelyard.cli.models import load

if TYPE_CHECKING:
    from modelyard.measure import Calibration, TrainCalibration

Opt = typer.Option


def measure_command(
    model: Annotated[str, typer.Argument(help="Catalog model to build")],
    dtype: Annotated[str, Opt("-d", "--dtype", help="bf16, fp16 or fp32")] = "bf16",
    batch: Annotated[str, Opt("-b", "--batch", help="Batch sizes, e.g. 1,8,32")] = "1,8,32",
    context: Annotated[str, Opt("-c", "--context", help="Contexts, e.g. 1k,8k")] = "1k,8k",
    layers: Annotated[
        int | None, Opt("-l", "--layers", help="Build only the first N layers")
    ] = None,
    device: Annotated[
        str | None, Opt("--device", help="cuda or cpu (default: cuda if seen)")
    ] = None,
    repeats: Annotated[int | None, Opt("--repeats", help="Timed decode steps per point")] = None,
    compile_: Annotated[
        bool, Opt("--compile/--no-compile", help="CUDA: torch.compile the decode step's blocks")
    ] = True,
    out: Annotated[Path | None, Opt("-o", "--out", help="Calibration file to write")] = None,
    json_: Annotated[bool, Opt("--json", help="Output as JSON")] = False,
    train: Annotated[str | None, Opt("--train", help="Measure training: lora, qlora, full")] = None,
    rank: Annotated[int, Opt("--rank", help="Training: LoRA rank")] = 16,
    targets: Annotated[
        str, Opt("--targets", help="Training: attention, all-linear, q,v")
    ] = "all-linear",
    optimizer: Annotated[
        str, Opt("--optimizer", help="Training: adamw, adamw-8bit, paged-adamw-8bit, sgd")
    ] = "adamw",
    seq_len: Annotated[
        str, Opt("--seq-len", help="Training: sequence lengths, e.g. 512,2k")
    ] = "512,2k",
    micro_batch: Annotated[
        str, Opt("--micro-batch", help="Training: micro-batches, e.g. 1,4")
    ] = "1,4",
    grad_ckpt: Annotated[str, Opt("--grad-ckpt", help="Training: on, off or on,off")] = "on,off",
) -> None:
    """Measure memory, prefill and decode speed of a model built with random weights

    \b
    Examples:
      yard measure llama-3.1-8b-instruct --batch 1,8,32 --context 1k,8k
      yard measure deepseek-v3 --layers 5 --context 1k
      yard measure qwen3-0.6b --device cpu --batch 1 --context 256 --json
      yard measure llama-3.1-8b-instruct --train qlora --seq-len 512,2k --micro-batch 1,4
    """
    from modelyard.catalog import find_model
    from modelyard.measure import (
        TrainSetup,
        measure,
        measure_training,
        parse_grid,
        parse_train_grid,
    )

    catalog = load()
    if train is not None:
        setup = TrainSetup(train, rank, targets, optimizer, dtype)
        train_grid = parse_train_grid(seq_len, micro_batch, grad_ckpt, repeats)
        chosen = find_model(catalog, model)
        tcal, path = measure_training(
            chosen, catalog, setup, train_grid, device, layers, out, err_console
        )
        print_json(tcal) if json_ else render_training(tcal)
        if not json_:
            console.print(
                f"[dim]written to {path}; `yard plan {model} --finetune {train}` reads it[/]"
            )
        return
    grid = parse_grid(batch, context, repeats, compile_)
    chosen = find_model(catalog, model)
    cal, path = measure(chosen, catalog, grid, dtype, device, layers, out, err_console)
    if json_:
        print_json(cal)
        return
    render(cal)
    console.print(f"[dim]written to {path}; `yard plan {cal.model_id} --gpu …` reads it[/]")


def _num(value: float | None, fmt: str) -> str:
    return "" if value is None else format(value, fmt)


def render(cal: Calibration) -> None:
    """The decode grid and prefill points as tables."""
    layers = f", {cal.layers} of {cal.model_layers} layers" if cal.scaled else ""
    title = (
        f"{cal.model_id} on {cal.device_name} ({cal.dtype}{layers}): "
        f"weights {cal.weights_gib:.2f} GiB, {cal.params / 1e9:.3g}B params"
    )
    rows = [
        [
            p.batch,
            f"{p.context:,}",
            _num(p.step_ms, ".2f"),
            _num(p.tok_s_per_sequence, ",.1f"),
            _num(p.tok_s_total, ",.0f"),
            _num(p.kv_cache_gib, ".3f"),
            _num(p.peak_gib, ".2f"),
            "yes" if p.cuda_graph else "no",
            {True: "split", False: "one call", None: ""}[p.split_attention],
            p.error or "",
        ]
        for p in cal.decode
    ]
    cols = [
        "batch",
        "context",
        "ms/step",
        "tok/s/seq",
        "tok/s",
        "KV GiB",
        "peak GiB",
        "graph",
        "attention",
        "error",
    ]
    console.print(table(cols, rows, title=title, right=cols[:7]))
    rows = [
        [
            f"{p.tokens:,}",
            _num(p.ms, ",.1f"),
            _num(p.tok_s, ",.0f"),
            _num(p.peak_gib, ".2f"),
            p.error or "",
        ]
        for p in cal.prefill
    ]
    cols = ["prefill tokens", "ms", "tok/s", "peak GiB", "error"]
    console.print(table(cols, rows, right=cols[:4]))
    console.print(f"[dim]{cal.timing_basis}; memory: {cal.memory_basis}[/]")


def render_training(cal: TrainCalibration) -> None:
    """The training grid as a table."""
    layers = f", {cal.layers} of {cal.model_layers} layers" if cal.scaled else ""
    title = (
        f"{cal.model_id} {cal.method} on {cal.device_name} ({cal.precision}{layers}): "
        f"{cal.trainable / 1e6:,.1f}M trainable of {cal.params / 1e9:.3g}B"
    )
    rows = [
        [
            f"{p.micro_batch}×{p.seq_len:,}",
            "on" if p.grad_ckpt else "off",
            _num(p.peak_allocated_gib, ".2f"),
            _num(p.peak_reserved_gib, ".2f"),
            _num(p.step_ms, ",.0f"),
            _num(p.tokens_per_s, ",.0f"),
            p.error or "",
        ]
        for p in cal.points
    ]
    cols = ["batch×seq", "ckpt", "alloc GiB", "reserved", "ms/step", "tok/s", "error"]
    console.print(table(cols, rows, title=title, right=cols[2:6]))
    console.print(f"[dim]{cal.timing_basis}[/]")
