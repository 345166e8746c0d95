"""`yard plan`: rank models for hardware and a workload, or break one model's plan down."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.panel import Panel

from modelyard.cli._render import console, err_console, print_json, table
from modelyard.cli.models import load
from modelyard.policy import LICENSE_POLICIES

if TYPE_CHECKING:
    from modelyard.catalog import Catalog
    from modelyard.plan import Cluster, MeasuredCheck, ModelPlan, Ranking

Opt = typer.Option


def _cluster(catalog: Catalog, gpu: str | None) -> Cluster:
    from modelyard.plan import detect_cluster, parse_cluster

    if gpu:
        return parse_cluster(catalog, gpu)
    cluster, probe = detect_cluster(catalog)
    err_console.print(f"[dim]no --gpu: detected {cluster.label} ({probe})[/]")
    return cluster


def plan(
    model: Annotated[str | None, typer.Argument(help="Model to break down (omit to rank)")] = None,
    gpu: Annotated[str | None, Opt("-g", "--gpu", help="GPUs, e.g. 1xH100, 2xA100-80G")] = None,
    context: Annotated[str, Opt("-c", "--context", help="Tokens per sequence")] = "8k",
    quant: Annotated[str, Opt("-q", "--quant", help="auto, bf16, fp8, awq, Q4_K_M, ...")] = "auto",
    kv_dtype: Annotated[str, Opt("--kv-dtype", help="bf16, fp16, fp8, q8_0, q4_0")] = "bf16",
    engine: Annotated[
        str, Opt("-e", "--engine", help="vllm, sglang, tgi, llamacpp, ollama")
    ] = "vllm",
    batch: Annotated[int, Opt("-b", "--batch", help="Concurrent sequences to hold")] = 1,
    gpu_util: Annotated[float | None, Opt("--gpu-util", help="Engine memory share")] = None,
    pp: Annotated[int, Opt("--pp", help="Pipeline-parallel stages")] = 1,
    workload_: Annotated[str, Opt("-w", "--workload", help="chat, rag, code, batch")] = "chat",
    tokens_per_day: Annotated[str, Opt("--tokens-per-day", help="In+out, e.g. 20M")] = "10M",
    prompt_tokens: Annotated[int | None, Opt("--prompt-tokens", help="Per request")] = None,
    output_tokens: Annotated[int | None, Opt("--output-tokens", help="Per request")] = None,
    peak_rps: Annotated[float | None, Opt("--peak-rps", help="Peak requests/s")] = None,
    p95: Annotated[float | None, Opt("--p95", help="Request latency target, s")] = None,
    price: Annotated[float | None, Opt("--price", help="USD per GPU-hour")] = None,
    utilization: Annotated[float, Opt("--utilization", help="Share of hours busy")] = 0.5,
    hybrid: Annotated[str, Opt("--hybrid", help="open/API/fine-tuned %")] = "90/8/2",
    hybrid_api: Annotated[str | None, Opt("--hybrid-api", help="API offer id")] = None,
    license_: Annotated[str, Opt("-l", "--license", help=", ".join(LICENSE_POLICIES))] = "any",
    languages: Annotated[str | None, Opt("--languages", help="e.g. fr,de")] = None,
    mau: Annotated[int | None, Opt("--mau", help="Your monthly active users")] = None,
    json_: Annotated[bool, Opt("--json", help="Output as JSON")] = False,
) -> None:
    """Plan fit, speed, cost and launch for models on GPUs

    \b
    Examples:
      yard plan --gpu 1xH100 --workload chat --tokens-per-day 20M \
        --license commercial --languages fr,de
      yard plan llama-3.3-70b-instruct --gpu 2xA100-80G --context 32k
      yard plan gpt-oss-20b --gpu rtx-4090 --engine llamacpp --json
    """
    from modelyard.catalog import find_model
    from modelyard.plan import (
        Deployment,
        get_engine,
        native_format,
        parse_amount,
        parse_split,
        plan_model,
        recommend,
        weight_format,
        workload,
    )
    from modelyard.policy import Policy, license_policy, parse_languages, parse_tokens

    catalog = load()
    cluster = _cluster(catalog, gpu)
    eng = get_engine(engine)
    load_ = workload(
        workload_, parse_amount(tokens_per_day), prompt_tokens, output_tokens, peak_rps, p95
    )
    cost = {
        "utilization": utilization,
        "usd_per_gpu_hour": price,
        "hybrid": parse_split(hybrid),
        "hybrid_api": hybrid_api,
    }
    fmt = weight_format("bf16" if quant == "auto" else quant)
    dep = Deployment(eng, fmt, kv_dtype, parse_tokens(context), batch, gpu_util, pp)
    if model is None:
        policy = Policy(
            license=license_policy(license_),
            monthly_active_users=mau,
            languages=parse_languages(languages),
        )
        ranking = recommend(catalog, cluster, dep, load_, policy, **cost)
        print_json(ranking) if json_ else render_ranking(ranking)
        return
    chosen = find_model(catalog, model)
    if quant == "auto":
        dep = Deployment(
            eng, native_format(chosen, eng.id), kv_dtype, dep.context, batch, gpu_util, pp
        )
    result = plan_model(chosen, cluster, dep, catalog, load_, auto=quant == "auto", **cost)
    print_json(result) if json_ else render_plan(result)


def _money(value: float | None) -> str:
    return "" if value is None else f"${value:,.0f}"


def render_ranking(r: Ranking) -> None:
    """Ranked models, then excluded ones with their reasons."""
    rows = [
        [
            i + 1,
            x.model_id,
            x.quant,
            f"{x.quality.metric} {x.quality.value:g}" if x.quality else "",
            x.max_sessions,
            f"{x.tok_s_single:,.0f}",
            f"{x.tok_s_batch:,.0f} @{x.batch}",
            x.replicas or "",
            _money(x.monthly_usd),
            "" if x.usd_per_mtok_output is None else f"${x.usd_per_mtok_output:.2f}",
        ]
        for i, x in enumerate(r.ranked)
    ]
    cols = [
        "#",
        "model",
        "quant",
        "quality claim",
        "sessions",
        "tok/s 1",
        "tok/s batch",
        "replicas",
        "$/month",
        "$/M out",
    ]
    title = f"{r.workload} on {r.cluster} with {r.engine}, ranked by {r.order}"
    console.print(table(cols, rows, title=title, right=cols[4:]))
    if r.excluded:
        rows = [[e.model_id, "; ".join(e.reasons)] for e in r.excluded]
        console.print(table(["excluded", "why"], rows, title=f"{len(r.excluded)} excluded"))


def render_plan(p: ModelPlan) -> None:
    """Memory, speed and cost with the basis of each figure, then the recipes."""
    m = p.memory
    for note in p.notes:
        console.print(f"[yellow]{note}[/]")
    rows = [
        ["weights", f"{m.weights_gib:.2f} GiB/GPU ({m.weights_total_gib:.2f} GiB total)"],
        *[[r.name, f"{r.gib:.2f} GiB"] for r in m.reserves],
        ["KV per sequence", f"{m.kv_sequence_gib:.3f} GiB at {m.context:,} tokens"],
        ["KV pool", f"{m.kv_pool_gib:.2f} GiB of {m.budget_gib:.2f} GiB budget"],
        ["max sessions", f"{m.max_sessions} at {m.context:,} tokens"],
        ["layers on GPU", f"{m.gpu_layers} of {m.layers}"],
    ]
    title = f"{p.model_id} on {p.cluster}, {p.engine}, {m.quant}, KV {m.kv_dtype}"
    title += f", TP {m.tensor_parallel} PP {m.pipeline_parallel}"
    console.print(table(["memory (per GPU)", "value"], rows, title=title))
    console.print(Panel("\n".join(m.basis), title="memory basis"))
    _render_speed(p)
    for check in p.measured:
        _render_measured(check)
    if p.cost is not None:
        _render_cost(p)
    for recipe in p.recipes:
        name = f"{recipe.title}" + (f" → {recipe.filename}" if recipe.filename else "")
        console.print(Panel(recipe.text, title=name, title_align="left"))


def _render_speed(p: ModelPlan) -> None:
    rows = []
    for d in (p.decode_single, p.decode_batch):
        rows.append(
            [
                f"decode batch {d.batch} @ {d.context:,}",
                f"{d.tok_s_per_sequence:,.1f}",
                f"{d.tok_s_total:,.0f}",
                f"{d.step_ms:.2f} ms ({d.bound})",
            ]
        )
    if p.prefill:
        rows.append(
            [
                f"prefill {p.prefill.tokens:,} tokens",
                "",
                f"{p.prefill.tok_s:,.0f}",
                f"TTFT {p.prefill.ttft_s * 1e3:,.0f} ms",
            ]
        )
    cols = ["speed", "tok/s per seq", "tok/s total", "time"]
    console.print(table(cols, rows, right=cols[1:]))
    basis = p.decode_batch.basis + (p.prefill.basis if p.prefill else [])
    console.print(Panel("\n".join(basis), title="speed basis"))


def _render_measured(c: MeasuredCheck) -> None:
    layers = f", {c.layers} of {c.model_layers} layers" if c.layers < c.model_layers else ""
    weights = f"{c.weights_measured_gib:.2f} GiB"
    rows = [["weights", weights, f"{c.weights_estimated_gib:.2f} GiB", ""]]
    rows += [
        [
            f"decode batch {d.batch} @ {d.context:,} (tok/s per seq)",
            f"{d.measured_tok_s:,.1f}",
            f"{d.estimated_tok_s:,.1f} ({d.error:+.0%})",
            f"{d.achieved_eta_bw:.2f}",
        ]
        for d in c.decode
    ]
    rows += [
        [
            f"prefill {f.tokens:,} tokens (ms)",
            f"{f.measured_ms:,.1f}",
            f"{f.estimated_ms:,.1f} ({f.error:+.0%})",
            f"eta_compute {f.achieved_eta_compute:.2f}",
        ]
        for f in c.prefill
    ]
    cols = ["measured vs estimated", "measured", "estimated", "achieved eta"]
    title = f"yard measure: {c.source}{layers} (estimates without engine step overhead)"
    console.print(table(cols, rows, title=title, right=cols[1:]))


def _render_cost(p: ModelPlan) -> None:
    c = p.cost
    assert c is not None
    rows = [
        ["replicas", f"{c.replicas} × ${c.hourly_usd:.2f}/h = {_money(c.monthly_usd)}/month"],
        ["$/1M output", f"${c.usd_per_mtok_output:.3f} at {c.utilization:.0%} utilization"],
        ["$/1M input", f"${c.usd_per_mtok_input:.3f} at {c.utilization:.0%} utilization"],
        ["capacity", f"{c.capacity_tokens_per_day / 1e6:,.1f}M tokens/day"],
    ]
    if c.hybrid:
        h = c.hybrid
        rows.append(
            [
                "hybrid",
                f"{_money(h.total_monthly_usd)} vs all-API "
                f"{_money(h.all_api_monthly_usd)} ({h.savings:.0%} saved)",
            ]
        )
    console.print(table(["cost", "value"], rows))
    console.print(
        Panel("\n".join(c.basis + ([c.hybrid.basis] if c.hybrid else [])), title="cost basis")
    )
    even = [
        [
            b.api_id,
            f"${b.blended_usd_per_mtok:.2f}",
            _money(b.api_monthly_usd),
            f"{b.breakeven_tokens_per_day / 1e6:,.1f}M" + ("" if b.within_capacity else " (>cap)"),
            "self-host" if b.self_host_cheaper else "API",
        ]
        for b in c.breakeven
    ]
    cols = ["API offer", "$/M blended", "API $/month", "break-even tok/day", "cheaper"]
    console.print(table(cols, even, title="break-even", right=cols[1:4]))
