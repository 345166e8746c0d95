"""`yard plan MODEL --finetune full|lora|qlora`: the fine-tune plan, parsed and rendered."""

from __future__ import annotations

from dataclasses import dataclass

from rich.panel import Panel

from modelyard.catalog import Catalog, find_model, parse_targets
from modelyard.cli._render import console, print_json, table
from modelyard.errors import PlanError, YardError
from modelyard.plan import (
    Cluster,
    FinetunePlan,
    FinetuneSpec,
    LoraSlots,
    MeasuredTraining,
    parse_amount,
    plan_finetune,
)
from modelyard.policy import parse_tokens


@dataclass(frozen=True)
class FinetuneArgs:
    """The `yard plan` options a fine-tune plan reads, as typed."""

    method: str
    rank: int
    targets: str
    seq_len: str
    micro_batch: int
    grad_accum: int
    grad_ckpt: str
    optimizer: str
    precision: str
    sharding: str
    cpu_offload: bool
    framework: str
    dataset_tokens: str | None
    epochs: float


def spec_from(args: FinetuneArgs) -> FinetuneSpec:
    """Typed spec from the options; errors name the option."""
    try:
        tokens = parse_amount(args.dataset_tokens) if args.dataset_tokens else None
    except PlanError as exc:
        raise PlanError(f"--dataset-tokens: {exc}") from None
    try:
        seq_len = parse_tokens(args.seq_len)
    except YardError as exc:
        raise PlanError(f"--seq-len: {exc}") from None
    return FinetuneSpec(
        method=args.method,  # type: ignore[arg-type]
        rank=args.rank,
        targets=parse_targets(args.targets),
        seq_len=seq_len,
        micro_batch=args.micro_batch,
        grad_accum=args.grad_accum,
        grad_ckpt=args.grad_ckpt,  # type: ignore[arg-type]
        optimizer=args.optimizer,  # type: ignore[arg-type]
        precision=args.precision,  # type: ignore[arg-type]
        sharding=args.sharding,  # type: ignore[arg-type]
        cpu_offload=args.cpu_offload,
        framework=args.framework,
        dataset_tokens=tokens,
        epochs=args.epochs,
    )


def lora_slots(max_loras: int | None, max_rank: int, adapters: str | None) -> LoraSlots | None:
    """The adapters an inference plan serves (`--max-loras`, `--max-lora-rank`, `--adapters`)."""
    names = tuple(n.strip() for n in adapters.split(",") if n.strip()) if adapters else ()
    if max_loras is None and not names:
        return None
    for name in names:
        if not name.replace("-", "").replace("_", "").replace(".", "").isalnum():
            raise PlanError(f"--adapters: {name!r} is not a name (letters, digits, - _ .)")
    slots = max_loras if max_loras is not None else len(names)
    if slots < 1 or max_rank < 1:
        raise PlanError("--max-loras and --max-lora-rank must be at least 1")
    return LoraSlots(slots, max_rank, names)


def run(
    catalog: Catalog,
    model: str | None,
    cluster: Cluster,
    args: FinetuneArgs,
    price: float | None,
    json_: bool,
) -> None:
    """Plan the fine-tune of ``model`` on ``cluster`` and print it (or its JSON)."""
    if model is None:
        raise PlanError("--finetune needs a model: yard plan MODEL --finetune lora")
    result = plan_finetune(find_model(catalog, model), spec_from(args), cluster, price)
    print_json(result) if json_ else render(result)


def render(p: FinetunePlan) -> None:
    """Memory per GPU, verdict, methods compared, time and cost, measurements, recipes."""
    m, s = p.memory, p.memory.spec
    title = f"{p.model_id} {s.method} on {p.cluster} ({m.framework}), per GPU"
    rows = [[part.name, f"{part.gib:,.2f}" + ("" if part.counted else "*")] for part in m.parts]
    rows += [
        ["= torch peak allocated", f"{m.peak_allocated_gib:,.2f}"],
        ["= on the device (nvidia-smi)", f"{m.device_gib:,.2f}"],
    ]
    console.print(table(["memory", "GiB"], rows, title=title, right=["GiB"]))
    style = "green" if m.fits else "red"
    console.print(f"[{style}]{m.verdict}[/]")
    if any(not part.counted for part in m.parts):
        console.print("[dim]* paged: outside torch's allocator, may spill to CPU[/]")
    lines = m.basis + [f"{pt.name}: {pt.basis}" for pt in m.parts]
    console.print(Panel("\n".join(lines), title="memory basis"))
    _render_methods(p)
    _render_time(p)
    for measured in p.measured:
        _render_measured(measured)
    for recipe in p.recipes:
        name = recipe.title + (f" → {recipe.filename}" if recipe.filename else "")
        console.print(Panel(recipe.text, title=name, title_align="left"))


def _render_methods(p: FinetunePlan) -> None:
    rows = [
        [r.method, f"{r.device_gib:,.1f}", f"{r.vs_serving:.1f}×", "yes" if r.fits else "no"]
        for r in p.methods
    ]
    cols = ["method", "GiB/GPU", "vs bf16 weights", "fits"]
    console.print(table(cols, rows, title="same settings, each method", right=cols[1:3]))


def _render_time(p: FinetunePlan) -> None:
    t = p.time
    rows = [
        ["throughput", f"{t.tokens_per_s:,.0f} tokens/s"],
        ["optimizer step", f"{t.step_s:,.2f} s"],
    ]
    if t.tokens is not None and t.hours is not None:
        rows.append(["run", f"{t.tokens / 1e6:,.1f}M tokens in {t.hours:,.2f} h"])
    if t.usd is not None and t.usd_per_hour is not None:
        rows.append(["cost", f"${t.usd:,.2f} at ${t.usd_per_hour:,.2f}/h"])
    elif t.usd_per_hour is None:
        rows.append(["cost", "no price in the catalog for this GPU; pass --price"])
    console.print(table(["time", "value"], rows))
    console.print(Panel("\n".join(t.basis), title="time basis"))


def _render_measured(m: MeasuredTraining) -> None:
    rows = [
        [
            f"{c.micro_batch}×{c.seq_len:,}" + (" ckpt" if c.grad_ckpt else ""),
            f"{c.measured_gib:,.2f}",
            f"{c.estimated_gib:,.2f} ({c.memory_error:+.0%})",
            "" if c.measured_tok_s is None else f"{c.measured_tok_s:,.0f}",
            "" if c.achieved_mfu is None else f"{c.achieved_mfu:.2f}",
        ]
        for c in m.points
    ]
    cols = ["batch×seq", "measured GiB", "estimated GiB", "tok/s", "MFU"]
    console.print(table(cols, rows, title=f"yard measure --train: {m.source}", right=cols[1:]))
