"""`yard plan`: rank models for hardware and a workload, or break one model's plan down."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli._render import err_console, print_json
from modelyard.cli.models import load
from modelyard.errors import PlanError
from modelyard.policy import LICENSE_POLICIES

if TYPE_CHECKING:
    from modelyard.catalog import Catalog
    from modelyard.plan import (
        Cluster,
        CpuHost,
        Engine,
        EvalScores,
        QualityBasis,
        TrafficProfile,
    )

Opt = typer.Option


def _cluster(catalog: Catalog, gpu: str | None) -> Cluster:
    from modelyard.plan import detect_cluster, parse_cluster

    if gpu:
        return parse_cluster(catalog, gpu)
    cluster, probe = detect_cluster(catalog)
    err_console.print(f"no --gpu: detected {cluster.label} ({probe})", style="dim", markup=False)
    return cluster


def _engine(name: str | None, cluster: Cluster) -> Engine:
    """The engine asked for; by default vLLM on GPUs, llama.cpp on a CPU-only host."""
    from modelyard.plan import get_engine

    if name is not None:
        return get_engine(name)
    return get_engine("llamacpp" if cluster.gpu.vendor == "generic" else "vllm")


def _host(cluster: Cluster, bandwidth: float | None, cores: int | None) -> CpuHost | None:
    """This machine's CPU when the plan is for a CPU-only host (cores and bandwidth as given)."""
    from modelyard.plan import cpu_host, detect_cpu, generic_cpu

    if cluster.gpu.vendor != "generic":
        return None
    info = detect_cpu() or generic_cpu(cores)
    if cores is not None:
        if cores < 1:
            raise PlanError(f"--cores {cores}: at least 1")
        info = replace(info, cores=cores)
    if bandwidth is not None:
        return cpu_host(info, bandwidth, "your --ram-bandwidth")
    gpu = cluster.gpu
    basis = f"catalog '{gpu.id}': {gpu.name}; measure yours (STREAM, mbw) and pass --ram-bandwidth"
    return cpu_host(info, gpu.bandwidth_gbps, basis)


def _eval_scores(path: Path) -> EvalScores:
    """Mean quality per target from a `yard eval` report.json (or the folder holding it)."""
    from modelyard.eval import RunReport
    from modelyard.plan import EvalScores

    file = path / "report.json" if path.is_dir() else path
    try:
        report = RunReport.model_validate_json(file.read_bytes())
    except OSError as exc:
        raise PlanError(f"--quality {file}: cannot read: {exc.strerror}") from None
    except ValueError as exc:
        raise PlanError(f"--quality {file}: not a `yard eval` report.json ({exc})") from None
    means = {
        r.model: (r.quality.mean, r.quality.low, r.quality.high)
        for r in report.results
        if r.quality.mean is not None
    }
    return EvalScores(report.spec.suite, str(file), means)


def _traffic(since: str | None, db: str | None) -> TrafficProfile:
    """The gateway's hourly traffic from its ledger (hours without requests filled with 0)."""
    from modelyard.config import yard_home
    from modelyard.plan import TrafficProfile
    from modelyard.serve import by_hour, open_store, parse_since, store_url

    home = yard_home()
    start = parse_since(since) if since else None
    rows = by_hour(open_store(db, home), start)
    if not rows:
        raise PlanError(f"--from-ledger: no requests in {store_url(db, home)}" + (
            f" since {since}" if since else ""))  # fmt: skip
    counts = {r.hour: r.requests for r in rows}
    first = datetime.fromisoformat(start[:13] if start else rows[0].hour).replace(tzinfo=UTC)
    last = datetime.fromisoformat(rows[-1].hour).replace(tzinfo=UTC)
    hours = int((last - first).total_seconds() // 3600) + 1
    series = [
        counts.get((first + timedelta(hours=i)).strftime("%Y-%m-%dT%H"), 0) for i in range(hours)
    ]
    total = sum(r.requests for r in rows)
    return TrafficProfile(
        tuple(series),
        round(sum(r.prompt_tokens for r in rows) / total),
        round(sum(r.completion_tokens for r in rows) / total),
        f"the ledger {store_url(db, home)}",
    )


def _quality(catalog: Catalog, path: Path | None, workload_name: str) -> QualityBasis:
    from modelyard.plan import eval_basis, published_basis

    if path is None:
        return published_basis(catalog, workload_name)
    return eval_basis(catalog, _eval_scores(path))


def plan(
    model: Annotated[str | None, typer.Argument(help="Model to break down (omit to rank)")] = None,
    gpu: Annotated[str | None, Opt("-g", "--gpu", help="GPUs, e.g. 1xH100, 2xA100-80G")] = None,
    context: Annotated[str, Opt("-c", "--context", help="Tokens per sequence")] = "8k",
    quant: Annotated[str, Opt("-q", "--quant", help="auto, bf16, fp8, awq, Q4_K_M, ...")] = "auto",
    kv_dtype: Annotated[str, Opt("--kv-dtype", help="auto, bf16, fp16, fp8, q8_0, q4_0")] = "auto",
    engine: Annotated[
        str | None, Opt("-e", "--engine", help="vllm, vllm@0.16, sglang, tgi, llamacpp, ollama")
    ] = None,
    batch: Annotated[int, Opt("-b", "--batch", help="Concurrent sequences to hold")] = 1,
    gpu_util: Annotated[float | None, Opt("--gpu-util", help="Engine memory share")] = None,
    pp: Annotated[int, Opt("--pp", help="Pipeline-parallel stages")] = 1,
    ram_bandwidth: Annotated[
        float | None, Opt("--ram-bandwidth", help="CPU host: RAM GB/s (measured is best)")
    ] = None,
    cores: Annotated[int | None, Opt("--cores", help="CPU host: cores to use")] = None,
    workload_: Annotated[str, Opt("-w", "--workload", help="chat, rag, code, batch")] = "chat",
    tokens_per_day: Annotated[
        str | None, Opt("--tokens-per-day", help="In+out, e.g. 20M [default: 10M]")
    ] = None,
    prompt_tokens: Annotated[int | None, Opt("--prompt-tokens", help="Per request")] = None,
    output_tokens: Annotated[int | None, Opt("--output-tokens", help="Per request")] = None,
    peak_rps: Annotated[float | None, Opt("--peak-rps", help="Peak requests/s")] = None,
    from_ledger: Annotated[
        bool, Opt("--from-ledger", help="Traffic and peak from the gateway's ledger")
    ] = False,
    since: Annotated[str | None, Opt("--since", help="Ledger window: 7d, 12h, a date")] = None,
    db: Annotated[
        str | None, Opt("--db", envvar="YARD_LEDGER_URL", help="Ledger URL for --from-ledger")
    ] = None,
    p95: Annotated[float | None, Opt("--p95", help="Request latency target, s")] = None,
    quality: Annotated[
        Path | None, Opt("--quality", help="Rank by your `yard eval` report.json")
    ] = None,
    price: Annotated[float | None, Opt("--price", help="USD per GPU-hour")] = None,
    utilization: Annotated[float, Opt("--utilization", help="Share of hours busy")] = 0.5,
    compare_api: Annotated[
        str | None, Opt("--compare-api", help="API offer to compare with")
    ] = None,
    low_confidence: Annotated[
        bool, Opt("--low-confidence", help="Use low-confidence prices too")
    ] = False,
    hybrid: Annotated[str, Opt("--hybrid", help="open/API/fine-tuned %")] = "90/8/2",
    hybrid_api: Annotated[str | None, Opt("--hybrid-api", help="API offer id")] = None,
    license_: Annotated[str, Opt("-l", "--license", help=", ".join(LICENSE_POLICIES))] = "any",
    languages: Annotated[str | None, Opt("--languages", help="e.g. fr,de")] = None,
    mau: Annotated[int | None, Opt("--mau", help="Your monthly active users")] = None,
    json_: Annotated[bool, Opt("--json", help="Output as JSON")] = False,
    finetune: Annotated[
        str | None, Opt("--finetune", help="Plan training: full, lora, qlora")
    ] = None,
    rank: Annotated[int, Opt("--rank", help="Fine-tune: LoRA rank")] = 16,
    targets: Annotated[
        str, Opt("--targets", help="Fine-tune: attention, all-linear, q,v")
    ] = "all-linear",
    seq_len: Annotated[str, Opt("--seq-len", help="Fine-tune: tokens per sequence")] = "2k",
    grad_accum: Annotated[int, Opt("--grad-accum", help="Fine-tune: micro-batches per step")] = 1,
    grad_ckpt: Annotated[str, Opt("--grad-ckpt", help="Fine-tune: none, full, offload")] = "full",
    optimizer: Annotated[
        str, Opt("--optimizer", help="Fine-tune: adamw, adamw-8bit, paged-adamw-8bit, sgd")
    ] = "adamw",
    precision: Annotated[str, Opt("--precision", help="Fine-tune: bf16, fp16")] = "bf16",
    sharding: Annotated[str, Opt("--sharding", help="Fine-tune: ddp, zero2, zero3, fsdp")] = "ddp",
    cpu_offload: Annotated[bool, Opt("--cpu-offload", help="Fine-tune: states on CPU")] = False,
    framework: Annotated[str, Opt("--framework", help="Fine-tune: hf, unsloth, torchtune")] = "hf",
    dataset_tokens: Annotated[
        str | None, Opt("--dataset-tokens", help="Fine-tune: e.g. 50M")
    ] = None,
    epochs: Annotated[float, Opt("--epochs", help="Fine-tune: passes over the data")] = 1.0,
    max_loras: Annotated[int | None, Opt("--max-loras", help="Serve LoRA adapters: slots")] = None,
    max_lora_rank: Annotated[int, Opt("--max-lora-rank", help="Serve LoRA: largest rank")] = 64,
    adapters: Annotated[str | None, Opt("--adapters", help="Serve LoRA: names, a,b")] = None,
) -> None:
    """Plan fit, speed, cost and launch for models on GPUs or a CPU host

    \b
    Examples:
      yard plan --gpu 1xH100 --workload chat --tokens-per-day 20M \
        --license commercial --languages fr,de
      yard plan llama-3.3-70b-instruct --gpu 2xA100-80G --context 32k
      yard plan gpt-oss-20b --gpu rtx-4090 --engine llamacpp --json
      yard plan qwen3-8b --gpu 1xH100 --from-ledger --since 7d
      yard plan llama-3.1-8b-instruct --finetune qlora --gpu a100-80g --dataset-tokens 50M
    """
    from modelyard.catalog import find_model
    from modelyard.cli import finetune as finetune_cli
    from modelyard.cli.plan_render import render_plan, render_ranking
    from modelyard.plan import (
        CostOptions,
        PlanRequest,
        deploy,
        parse_amount,
        parse_split,
        plan_model,
        recommend,
        start_format,
        weight_format,
        workload,
    )
    from modelyard.policy import Policy, license_policy, parse_languages, parse_tokens

    catalog = load()
    cluster = _cluster(catalog, gpu)
    if finetune is not None:  # --batch is the micro-batch here (docs/finetune.md)
        args = finetune_cli.FinetuneArgs(
            finetune, rank, targets, seq_len, batch, grad_accum, grad_ckpt, optimizer,
            precision, sharding, cpu_offload, framework, dataset_tokens, epochs,
        )  # fmt: skip
        finetune_cli.run(catalog, model, cluster, args, price, json_)
        return
    eng = _engine(engine, cluster)
    host = _host(cluster, ram_bandwidth, cores)
    traffic = _traffic(since, db) if from_ledger else None
    amount = parse_amount(tokens_per_day) if tokens_per_day else None
    load_ = workload(workload_, amount, prompt_tokens, output_tokens, peak_rps, p95, traffic)
    options = CostOptions(
        utilization, price, parse_split(hybrid), hybrid_api, compare_api, low_confidence
    )
    basis = _quality(catalog, quality, workload_)
    kv = eng.kv_dtypes[0] if kv_dtype == "auto" else kv_dtype
    tokens = parse_tokens(context)
    if model is None:
        policy = Policy(
            license=license_policy(license_),
            monthly_active_users=mau,
            languages=parse_languages(languages),
        )
        fmt = weight_format(quant if quant != "auto" else "bf16" if not eng.is_gguf else "q8_0")
        dep = deploy(
            eng,
            fmt,
            cluster,
            pp=pp,
            kv_dtype=kv,
            context=tokens,
            batch=batch,
            gpu_util=gpu_util,
            host=host,
        )
        ranking = recommend(catalog, dep, load_, policy, basis, options)
        print_json(ranking) if json_ else render_ranking(ranking)
        return
    chosen = find_model(catalog, model)
    fmt = weight_format(start_format(chosen, eng.id, quant))
    dep = deploy(
        eng,
        fmt,
        cluster,
        pp=pp,
        kv_dtype=kv,
        context=tokens,
        batch=batch,
        gpu_util=gpu_util,
        host=host,
        lora=finetune_cli.lora_slots(max_loras, max_lora_rank, adapters),
    )
    request = PlanRequest(catalog, basis, load_, options, auto=quant == "auto")
    result = plan_model(chosen, dep, request)
    print_json(result) if json_ else render_plan(result)
