"""Tables for `yard plan` that fit 80 columns: ids and numbers never wrap, prose does.

Recipes are printed as plain text, without borders and without markup, so what a user copies
from the terminal is exactly the recipe ``--json`` holds (Rich would read ``[gpu]`` as a tag).
"""

from __future__ import annotations

from collections.abc import Sequence

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from modelyard.cli._render import console as default_console
from modelyard.plan import TRUSTED_PRICES, CostEstimate, MeasuredCheck, ModelPlan, Ranking, Recipe


def money(value: float | None) -> str:
    """$980, $1.6k, $12k, $1.2M: short enough for a narrow column."""
    if value is None:
        return ""
    for unit, size in (("M", 1e6), ("k", 1e3)):
        if abs(value) >= size:
            scaled = value / size
            return f"${scaled:.1f}{unit}" if scaled < 10 else f"${scaled:.0f}{unit}"
    return f"${value:.0f}"


def money_range(low: float | None, high: float | None) -> str:
    if low is None or high is None:
        return ""
    return money(low) if money(low) == money(high) else f"{money(low)}-{money(high)[1:]}"


def tokens(value: float) -> str:
    """12.8M, 950k, 1.2B tokens."""
    for unit, size in (("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if value >= size:
            scaled = value / size
            return f"{scaled:.1f}{unit}" if scaled < 10 else f"{scaled:.0f}{unit}"
    return f"{value:.0f}"


def grid(
    columns: Sequence[str],
    rows: Sequence[Sequence[object]],
    title: str | None = None,
    right: Sequence[str] = (),
    prose: Sequence[str] = (),
) -> RenderableType:
    """A borderless table: every column keeps its cells whole except ``prose`` ones; the title
    above it wraps at the terminal's width, not the table's."""
    t = Table(box=box.SIMPLE_HEAD, header_style="bold", pad_edge=False)
    for col in columns:
        wraps = col in prose
        t.add_column(
            col,
            justify="right" if col in right else "left",
            no_wrap=not wraps,
            overflow="fold" if wraps else "ellipsis",
            ratio=1 if wraps else None,
        )
    for row in rows:
        t.add_row(*(Text("" if v is None else str(v)) for v in row))
    return Group(Text(title, style="bold"), t) if title else t


def _quality(value: float | None) -> str:
    return "?" if value is None else f"{value:g}"


def render_ranking(r: Ranking, out: Console = default_console) -> None:
    """Ranked models, unknown-quality ones unranked after them, then exclusions."""
    rows = [
        [
            x.rank or "-",
            x.model_id,
            x.quant + ("*" if x.origin == "convert" else ""),
            _quality(x.quality.value if x.quality else None),
            f"{x.tok_s_single:,.0f}",
            money_range(x.monthly_low, x.monthly_high),
        ]
        for x in r.ranked
    ]
    cols = ["#", "model", "weights", "quality", "tok/s", "$/month"]
    title = f"{r.workload} on {r.cluster}, {r.engine}; quality: {r.basis}"
    out.print(grid(cols, rows, title=title, right=["#", "quality", "tok/s", "$/month"]))
    out.print(
        Text(
            f"Ranked by {r.order}. '?': no {r.basis} score (unranked). '*': no release in "
            "that format is catalogued, you convert the weights. tok/s: one sequence "
            "at the workload's context; $/month: the GPU offers' range for the replicas "
            "needed. --json has sessions, batch speed, replicas and $/1M tokens.",
            style="dim",
        )
    )
    if r.excluded:
        rows = [[e.model_id, "; ".join(e.reasons)] for e in r.excluded]
        out.print(
            grid(["excluded", "why"], rows, title=f"{len(r.excluded)} excluded", prose=["why"])
        )


def render_plan(p: ModelPlan, out: Console = default_console) -> None:
    """Memory, speed and cost with the basis of each figure, the other formats, the recipes."""
    m = p.memory
    for note in p.notes:
        out.print(Text(note, style="yellow"))
    on_gpu = m.device == "GPU"
    weights = (
        f"{m.weights_gib:.2f} GiB/GPU ({m.weights_total_gib:.2f} GiB total)"
        if on_gpu
        else f"{m.weights_gib:.2f} GiB"
    )
    rows = [
        ["weights", weights],
        *[[r.name, f"{r.gib:.2f} GiB"] for r in m.reserves],
        ["KV per sequence", f"{m.kv_sequence_gib:.3f} GiB at {m.context:,} tokens"],
        ["KV pool", f"{m.kv_pool_gib:.2f} GiB of {m.budget_gib:.2f} GiB budget"],
        ["KV tokens", f"{m.kv_tokens:,}"],
        ["max sessions", f"{m.max_sessions} at {m.context:,} tokens"],
    ]
    if m.gpu_layers < m.layers:
        rows.append(["layers on GPU", f"{m.gpu_layers} of {m.layers} (-ngl)"])
    title = (
        f"{p.model_id} on {p.cluster}, {p.engine}, {p.checkpoint}, KV {m.kv_dtype}, "
        f"TP {m.tensor_parallel} PP {m.pipeline_parallel}"
    )
    head = "memory (per GPU)" if on_gpu else "memory (RAM)"
    out.print(grid([head, "value"], rows, title=title, prose=["value"]))
    out.print(Panel(Text("\n".join(m.basis)), title="memory basis"))
    _render_speed(p, out)
    for check in p.measured:
        _render_measured(check, out)
    if p.cost is not None:
        _render_cost(p.cost, out)
    if p.alternatives:
        _render_alternatives(p, out)
    for recipe in p.recipes:
        render_recipe(recipe, out)


def render_recipe(recipe: Recipe, out: Console) -> None:
    """A title line, then the recipe exactly as ``--json`` holds it (no markup, no wrapping)."""
    name = recipe.title + (f" -> {recipe.filename}" if recipe.filename else "")
    out.print(Text(f"--- {name} ---", style="bold"))
    out.print(recipe.text, markup=False, highlight=False, soft_wrap=True, emoji=False)


def _render_speed(p: ModelPlan, out: Console) -> None:
    rows = [
        [
            f"decode ×{d.batch} @ {d.context:,}",
            f"{d.tok_s_per_sequence:,.1f}",
            f"{d.tok_s_total:,.0f}",
            f"{d.step_ms:.2f} ms",
        ]
        for d in (p.decode_single, p.decode_batch)
    ]
    if p.prefill:
        rows.append(
            [
                f"prefill {p.prefill.tokens:,}",
                "",
                f"{p.prefill.tok_s:,.0f}",
                f"TTFT {p.prefill.ttft_s * 1e3:,.0f} ms",
            ]
        )
    cols = ["speed", "tok/s/seq", "tok/s", "time"]
    out.print(grid(cols, rows, right=cols[1:]))
    basis = p.decode_batch.basis + (p.prefill.basis if p.prefill else [])
    out.print(Panel(Text("\n".join(basis)), title="speed basis"))


def _render_measured(c: MeasuredCheck, out: Console) -> None:
    layers = f", {c.layers} of {c.model_layers} layers" if c.layers < c.model_layers else ""
    rows = [["weights GiB", f"{c.weights_measured_gib:.2f}", f"{c.weights_estimated_gib:.2f}", ""]]
    rows += [
        [
            f"decode ×{d.batch} @ {d.context:,}",
            f"{d.measured_tok_s:,.1f}",
            f"{d.estimated_tok_s:,.1f} ({d.error:+.0%})",
            f"{d.achieved_eta_bw:.2f}",
        ]
        for d in c.decode
    ]
    rows += [
        [
            f"prefill {f.tokens:,} (ms)",
            f"{f.measured_ms:,.1f}",
            f"{f.estimated_ms:,.1f} ({f.error:+.0%})",
            f"{f.achieved_eta_compute:.2f}",
        ]
        for f in c.prefill
    ]
    cols = ["measured", "tok/s", "planned", "eta"]
    title = (
        f"yard measure, measured vs estimated: {c.source}{layers} (the bare model: no "
        "sampler, scheduler or step overhead)"
    )
    out.print(grid(cols, rows, title=title, right=cols[1:]))


def _render_cost(c: CostEstimate, out: Console) -> None:
    rows = [
        ["replicas", f"{c.replicas} for peak {c.peak_rps:.2f} req/s ({c.peak_basis})"],
        [
            "$/month",
            f"{money_range(c.monthly_low, c.monthly_high)} (median offer {money(c.monthly_usd)})",
        ],
        ["$/1M output", f"${c.usd_per_mtok_output:.3f} at {c.utilization:.0%} utilization"],
        ["$/1M input", f"${c.usd_per_mtok_input:.3f} at {c.utilization:.0%} utilization"],
        ["capacity", f"{tokens(c.capacity_tokens_per_day)} tokens/day"],
        ["compared with", f"{c.comparator or 'none'}: {c.comparator_basis}"],
    ]
    if c.hybrid:
        h = c.hybrid
        rows.append(
            [
                "hybrid",
                f"{money(h.total_monthly_usd)} vs all on {c.comparator} "
                f"{money(h.all_api_monthly_usd)} ({h.savings:+.0%} saved)",
            ]
        )
    out.print(grid(["cost", "value"], rows, prose=["value"]))
    out.print(
        Panel(Text("\n".join(c.basis + ([c.hybrid.basis] if c.hybrid else []))), title="cost basis")
    )
    even = [
        [
            b.api_id + ("" if b.confidence in TRUSTED_PRICES else " !"),
            f"${b.blended_usd_per_mtok:.2f}",
            f"{tokens(b.breakeven_low)}-{tokens(b.breakeven_high)}",
            {True: "yes", False: "no", None: "?"}[b.meets_bar],
            {True: "self", False: "API", None: "either"}[b.self_host_cheaper],
        ]
        for b in c.breakeven
    ]
    cols = ["API offer", "$/M", "even/day", "bar", "cheaper"]
    out.print(
        grid(cols, even, title="break-even (tokens/day, over the GPU price range)", right=cols[1:3])
    )
    if any(b.confidence not in TRUSTED_PRICES for b in c.breakeven):
        out.print(Text("!: a low-confidence price (--low-confidence)", style="dim"))


def _render_alternatives(p: ModelPlan, out: Console) -> None:
    rows = [
        [
            o.quant,
            o.origin,
            f"{o.weights_gib:.1f}",
            o.max_sessions if o.fits else "no fit",
            f"{o.tok_s_single:,.0f}" if o.fits else "",
            "" if o.usd_per_mtok_output is None else f"${o.usd_per_mtok_output:.2f}",
        ]
        for o in p.alternatives
    ]
    on_gpu = p.memory.device == "GPU"
    cols = ["weights", "from", "GiB/GPU" if on_gpu else "GiB", "sess", "tok/s", "$/M out"]
    where = "GPUs" if on_gpu else "host"
    out.print(grid(cols, rows, title=f"formats on the same {where}", right=cols[2:]))
    for source, items in loss_notes(p).items():
        out.print(Text(f"quality cost ({source}): {'; '.join(items)}", style="dim"))


def loss_notes(p: ModelPlan) -> dict[str, list[str]]:
    """Each alternative's published quality cost, grouped by the study it comes from."""
    found: dict[str, list[str]] = {}
    for o in p.alternatives:
        if not o.loss:
            continue
        value, _, source = o.loss.partition(" (")
        item = f"{o.quant.removeprefix('gguf-')} {value}"
        bucket = found.setdefault(source.rstrip(")") or "published", [])
        if item not in bucket:
            bucket.append(item)
    return found
