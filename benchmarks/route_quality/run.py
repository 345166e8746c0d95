"""Routing quality on prompts the router never saw (issue 22's goals), and k-fold figures.

Runs (``--only``, comma-separated):

- ``llmrouter-tasks``: LLMRouter's train.jsonl (9 models, prices from default_llm.json), leave
  one task family (``task_name``) out;
- ``routellm-files``: RouteLLM's MMLU, GSM8K and MT-Bench (GPT-4 vs Mixtral), leave one file out;
- ``mmlu-folds``, ``gsm8k-folds``, ``llmrouter-folds``: 5-fold cross-validation, pooled.

Every threshold is chosen on training rows only (route/evaluation.py). Results: one JSON per run
in --out (and an HTML report), the terminal tables on stdout.

    python benchmarks/route_quality/run.py [--only llmrouter-tasks,routellm-files] [--out DIR]
        [--embedder static|full] [--seed N]

``--embedder full`` trains and tests on the full model's embeddings, read from the cache that
full_embeddings.py writes (to compare with the static ones the router serves with).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from full_embeddings import CachedFullEmbedder
from rich.console import Console

from modelyard.cli._route_tables import render
from modelyard.route import (
    EvalSpec,
    Featurizer,
    TrainSpec,
    evaluate,
    join_replies,
    write_report,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
PAIR = ("mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview")
ROUTELLM = SHARED / "routellm"
LLMROUTER = SHARED / "llmrouter"
RAW_GSM8K = ROUTELLM / "raw" / "gsm8k_responses.csv"


def specs(scratch: Path) -> dict[str, EvalSpec]:
    """Every run by name (GSM8K with both models' replies joined in, for the cascade)."""
    gsm8k = join_replies(ROUTELLM / "gsm8k.jsonl", RAW_GSM8K, scratch / "gsm8k.jsonl")
    files = (ROUTELLM / "mmlu.jsonl", gsm8k, ROUTELLM / "mt_bench.jsonl")
    prices = LLMROUTER / "default_llm.json"
    llmrouter = LLMROUTER / "train.jsonl"
    return {
        "llmrouter-tasks": EvalSpec(
            TrainSpec(llmrouter, prices=prices, by="task_name"), tasks=True
        ),
        "routellm-files": EvalSpec(TrainSpec(files, PAIR, by="file"), tasks=True),
        "mmlu-folds": EvalSpec(TrainSpec(ROUTELLM / "mmlu.jsonl", PAIR)),
        "gsm8k-folds": EvalSpec(TrainSpec(gsm8k, PAIR)),
        "llmrouter-folds": EvalSpec(TrainSpec(llmrouter, prices=prices)),
    }


def now() -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", default="llmrouter-tasks,routellm-files")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/route_quality/results"))
    parser.add_argument("--embedder", choices=["static", "full"], default="static")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    runs = specs(Path(tempfile.mkdtemp(prefix="route-quality-")))
    console = Console(width=100)
    for name in args.only.split(","):
        spec = runs[name]
        spec = EvalSpec(spec.train, spec.test, spec.tasks, spec.folds, args.seed)
        featurizer = None
        if args.embedder == "full":
            labels = [str(p.relative_to(SHARED)) for p in spec.train.paths if SHARED in p.parents]
            featurizer = Featurizer(CachedFullEmbedder(labels))
        result = evaluate(
            spec, featurizer, progress=lambda m, n=name: print(f"{n}: {m}", flush=True)
        )
        stem = name if args.embedder == "static" else f"{name}-full"
        stem = stem if args.seed == 0 else f"{stem}-seed{args.seed}"
        (args.out / f"{stem}.json").write_text(
            json.dumps({"when": now(), **result.to_json()}, indent=1, default=float)
        )
        write_report(result, args.out / f"{stem}.html")
        render(result.to_json(), console)


if __name__ == "__main__":
    main()
