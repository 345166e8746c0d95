"""`yard gpus`: the accelerators the planner knows, and what this machine has."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel

from modelyard.cli._render import console, print_json, table
from modelyard.cli.models import JsonOpt, load

if TYPE_CHECKING:
    from modelyard.catalog import GPU, Catalog, Hardware

app = typer.Typer(help="GPUs and other accelerators: specs, prices, and local detection.")


def _num(value: float | None) -> str:
    return "" if value is None else f"{value:g}"


@app.command("list")
def list_(
    vendor: Annotated[
        str | None, typer.Option("-v", "--vendor", help="Only this vendor (nvidia, amd, apple)")
    ] = None,
    json_: JsonOpt = False,
) -> None:
    """List known GPUs with memory, bandwidth, compute and the cheapest listed price

    \b
    Examples:
      yard gpus list
      yard gpus list --vendor nvidia --json
    """
    from modelyard.catalog import cheapest_price, list_gpus

    gpus = list_gpus(load(), vendor)
    if json_:
        print_json(gpus)
        return
    rows = []
    for g in gpus:
        price = cheapest_price(g)
        cheapest = f"{price.usd_per_hour:g} ({price.provider} {price.tier})" if price else ""
        usable = f"{g.memory_gib:g}" + (f" x{g.usable_fraction:g}" if g.unified_memory else "")
        row = [g.id, g.name, usable, _num(g.bandwidth_gbps), _num(g.bf16_tflops)]
        rows.append([*row, _num(g.fp8_tflops), cheapest])
    columns = ["id", "name", "GiB", "GB/s", "BF16 TF", "FP8 TF", "cheapest $/h"]
    numeric = ["GiB", "GB/s", "BF16 TF", "FP8 TF"]
    console.print(table(columns, rows, title=f"{len(rows)} GPUs (dense TFLOPS)", right=numeric))


@app.command()
def show(
    gpu_id: Annotated[str, typer.Argument(help="GPU id, alias or nvidia-smi name")],
    json_: JsonOpt = False,
) -> None:
    """Show a GPU's specs and prices, each with its source

    \b
    Examples:
      yard gpus show h100
      yard gpus show "NVIDIA A100-SXM4-80GB" --json
    """
    from modelyard.catalog import find_gpu, gpu_sources

    catalog = load()
    gpu = find_gpu(catalog, gpu_id)
    if json_:
        print_json({"gpu": gpu, "sources": gpu_sources(gpu, catalog)})
        return
    _render_gpu(gpu, catalog)


def _render_gpu(gpu: GPU, catalog: Catalog) -> None:
    from modelyard.catalog import gpu_sources

    sources = gpu_sources(gpu, catalog)
    number = {s.id: i + 1 for i, s in enumerate(sources)}
    fields = gpu.model_dump(exclude={"spec_ref", "prices"})
    rows = [[k, ", ".join(v) if isinstance(v, list) else str(v)] for k, v in fields.items()]
    console.print(
        table(["field", "value"], rows, title=f"{gpu.name} [{number[gpu.spec_ref.source]}]")
    )
    if gpu.spec_ref.note:
        console.print(Panel(gpu.spec_ref.note, title="spec notes"))
    prices = [
        [f"{p.usd_per_hour:g}", p.provider, p.tier, p.ref.confidence, f"[{number[p.ref.source]}]"]
        for p in sorted(gpu.prices, key=lambda p: p.usd_per_hour)
    ]
    if prices:
        columns = ["$/GPU-h", "provider", "tier", "confidence", "src"]
        console.print(table(columns, prices, title="Prices", right=["$/GPU-h"]))
    lines = [
        f"[{number[s.id]}] "
        + " · ".join(str(x) for x in (s.title, s.publisher, s.date, s.url) if x)
        for s in sources
    ]
    console.print(Panel("\n".join(lines), title="sources"))


@app.command("detect")
def detect_(json_: JsonOpt = False) -> None:
    """Print the GPUs, CPU cores and RAM of this machine, matched to catalog entries

    \b
    Examples:
      yard gpus detect
      yard gpus detect --json
    """
    from modelyard.catalog import detect

    hardware = detect(load())
    if json_:
        print_json(hardware)
        return
    _render_hardware(hardware)


def _render_hardware(hw: Hardware) -> None:
    rows = [
        [str(g.index), g.name, _num(g.memory_gib), _num(g.free_gib), g.catalog_id or "?"]
        for g in hw.gpus
    ]
    if rows:
        columns = ["#", "name", "GiB", "free GiB", "catalog id"]
        console.print(table(columns, rows, title="GPUs", right=["GiB", "free GiB"]))
    for g in hw.gpus:
        if g.note:
            console.print(f"[yellow]GPU {g.index}:[/] {g.note}")
    console.print(f"GPU probe: {hw.gpu_probe}")
    console.print(f"CPU cores: {hw.cpu_count or 'unknown'}")
    if hw.memory is not None:
        console.print(
            f"RAM: {hw.memory.total_gib:g} GiB total, {hw.memory.available_gib:g} GiB available"
        )
