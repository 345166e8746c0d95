"""Hold `yard plan --finetune` to published, measured fine-tuning points; weights-only rules beside.

Usage:  .venv/bin/python benchmarks/finetune_vs_published/run.py [--split fit|heldout|all]

Reads points.yaml (each point cited, with its conditions), asks the planner for the same
settings, and prints per point: the published peak, the planner's figure and error, and what
three weights-only rules say: weights alone (accelerate estimate-memory's size, llmfit's
minimum), accelerate's "training with Adam" (4 × that size), and the seed's "fine-tuning
doubles VRAM" (2 × bf16 weights). Tokens/s is compared where the point gives a speed.
Writes results/latest.json.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import yaml

from modelyard.catalog import (
    Architecture,
    Catalog,
    Model,
    Param,
    Ref,
    count_params,
    find_gpu,
    find_model,
    load_catalog,
    parse_targets,
)
from modelyard.plan import GIB, Cluster, FinetuneSpec, plan_finetune_memory, plan_finetune_time

HERE = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Row:
    id: str
    split: str
    fully_stated: bool
    metric: str
    published_gib: float
    planned_gib: float
    error: float
    weights_gib: float
    accelerate_adam_gib: float
    doubles_gib: float
    published_tok_s: float | None
    planned_tok_s: float | None
    tok_s_error: float | None


def _extra_model(key: str, entry: dict) -> Model:
    ref = Ref(source="bench", note=entry["source"])
    arch = Architecture(ref=ref, attention_bias=True, **entry["fields"])
    total = count_params(arch).total
    return Model(
        id=key,
        name=key,
        family="bench",
        vendor="bench",
        license="bench",
        context_window=arch.max_position_embeddings,
        architecture=arch,
        params_total=Param(value=total, ref=ref),
    )


def _model(catalog: Catalog, name: str, extra: dict[str, Model]) -> Model:
    return extra[name] if name in extra else find_model(catalog, name)


def _spec(p: dict) -> FinetuneSpec:
    return FinetuneSpec(
        method=p["method"],
        rank=p.get("rank", 16),
        targets=parse_targets(p.get("targets", "all-linear")),
        seq_len=p["seq_len"],
        micro_batch=p["micro_batch"],
        grad_accum=p.get("grad_accum", 1),
        grad_ckpt=p["grad_ckpt"],
        optimizer=p["optimizer"],
        precision=p["precision"],
        sharding=p.get("sharding", "ddp"),
        framework=p["framework"],
        qlora_base=p.get("base_quant", "nf4"),
    )


def _published_gib(p: dict) -> float:
    return p["peak"] * (1e9 / GIB if p["unit"] == "GB" else 1.0)


def _published_tok_s(p: dict) -> float | None:
    if "tokens_per_s" in p:
        return float(p["tokens_per_s"])
    if "step_s" in p:  # one optimizer step of grad_accum micro-batches
        return p["seq_len"] * p["micro_batch"] * p.get("grad_accum", 1) / p["step_s"]
    return None


def evaluate(catalog: Catalog, p: dict, extra: dict[str, Model]) -> Row:
    model = _model(catalog, p["model"], extra)
    gpu = find_gpu(catalog, p["gpu"])
    spec = _spec(p)
    mem = plan_finetune_memory(model, spec, p["gpus"], gpu.name, gpu.memory_gib)
    planned = mem.peak_allocated_gib if p["metric"] == "allocated" else mem.device_gib
    published = _published_gib(p)
    params = count_params(model.architecture).decoder  # type: ignore[arg-type]
    stored = params * (0.5 if p["method"] == "qlora" else 2.0) / GIB
    time = plan_finetune_time(model, spec, Cluster(gpu, p["gpus"]), mem.trainable)
    tok_s = _published_tok_s(p)
    planned_tok_s = time.tokens_per_s if tok_s is not None else None
    return Row(
        id=p["id"],
        split=p["split"],
        fully_stated=p["fully_stated"],
        metric=p["metric"],
        published_gib=published,
        planned_gib=planned,
        error=planned / published - 1,
        weights_gib=stored / p["gpus"],
        accelerate_adam_gib=4 * stored / p["gpus"],
        doubles_gib=2 * params * 2 / GIB / p["gpus"],
        published_tok_s=tok_s,
        planned_tok_s=planned_tok_s,
        tok_s_error=planned_tok_s / tok_s - 1 if planned_tok_s and tok_s else None,
    )


def _table(rows: list[Row]) -> str:
    head = f"{'point':<22}{'split':<8}{'pub':>6}{'plan':>6}{'err':>6}{'wts':>6}{'acc':>6}"
    head += f"{'2x':>6}{'tok/s':>7}{'err':>6}"
    lines = [head, "-" * len(head)]
    for r in rows:
        speed = f"{r.published_tok_s:>7,.0f}{r.tok_s_error:>+6.0%}" if r.tok_s_error else ""
        mark = "" if r.fully_stated else "~"
        lines.append(
            f"{(mark + r.id)[:21]:<22}{r.split:<8}{r.published_gib:>6.1f}{r.planned_gib:>6.1f}"
            f"{r.error:>+6.0%}{r.weights_gib:>6.1f}{r.accelerate_adam_gib:>6.1f}"
            f"{r.doubles_gib:>6.1f}{speed}"
        )
    return "\n".join(lines)


def _summary(rows: list[Row]) -> dict[str, object]:
    out: dict[str, object] = {}
    for split in ("fit", "heldout"):
        chosen = [r for r in rows if r.split == split]
        if not chosen:
            continue
        errors = [abs(r.error) for r in chosen]
        speed = [abs(r.tok_s_error) for r in chosen if r.tok_s_error is not None]
        out[split] = {
            "points": len(chosen),
            "memory_within_10pct": sum(e <= 0.10 for e in errors),
            "memory_median_abs_error": statistics.median(errors),
            "memory_max_abs_error": max(errors),
            "speed_points": len(speed),
            "speed_within_25pct": sum(e <= 0.25 for e in speed),
        }
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("fit", "heldout", "all"), default="all")
    args = parser.parse_args()
    data = yaml.safe_load((HERE / "points.yaml").read_text(encoding="utf-8"))
    catalog = load_catalog()
    extra = {k: _extra_model(k, v) for k, v in data["architectures"].items()}
    points = [p for p in data["points"] if args.split in ("all", p["split"])]
    rows = [evaluate(catalog, p, extra) for p in points]
    print(_table(rows))
    print("~ conditions partly inferred from config defaults; GiB per GPU; wts = weights only,")
    print("acc = accelerate 'training with Adam' (4 × weights), 2x = 'doubles VRAM' rule")
    summary = _summary(rows)
    print(json.dumps(summary, indent=2))
    out = HERE / "results" / "latest.json"
    out.parent.mkdir(exist_ok=True)
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    report = {"when": when, "split": args.split, "summary": summary,
              "rows": [asdict(r) for r in rows]}  # fmt: skip
    out.write_text(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
