"""Cross-validated routing quality on the shared label files (the issue's goals).

RouteLLM MMLU and GSM8K (GPT-4 vs Mixtral, contaminated rows dropped): share of GPT-4 calls
needed for 95% of GPT-4's quality, per fold, for the router and every baseline. LLMRouter
(9 models, prices from default_llm.json): cost at 95% of the best single model's quality.

    python benchmarks/route_quality/run.py [--folds 5] [--only mmlu,gsm8k,llmrouter] [--out DIR]
        [--embedder static|full] [--seed N]

``--embedder full`` trains and tests on the full model's embeddings, read from the cache that
full_embeddings.py writes (to compare with the static ones the router serves with).
``--seed N`` splits the rows into other folds (results named ``<data>-seedN``): how much the
headline figures owe to one split.

GSM8K is read with both models' replies joined in from RouteLLM's raw responses (same row order
as the label file), so the cascade is scored beside the router.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from dataclasses import replace
from pathlib import Path

from full_embeddings import CachedFullEmbedder

from modelyard.route import TrainSpec, evaluate
from modelyard.route.datasets import join_replies
from modelyard.route.features import Featurizer
from modelyard.route.report import write

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
PAIR = ("mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview")
SPECS = {
    "mmlu": TrainSpec(SHARED / "routellm" / "mmlu.jsonl", PAIR),
    "gsm8k": TrainSpec(SHARED / "routellm" / "gsm8k.jsonl", PAIR),
    "mt_bench": TrainSpec(SHARED / "routellm" / "mt_bench.jsonl", PAIR),
    "llmrouter": TrainSpec(
        SHARED / "llmrouter" / "train.jsonl", prices=SHARED / "llmrouter" / "default_llm.json"
    ),
}
RAW_GSM8K = SHARED / "routellm" / "raw" / "gsm8k_responses.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--only", default="mmlu,gsm8k,llmrouter")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/route_quality/results"))
    parser.add_argument("--embedder", choices=["static", "full"], default="static")
    parser.add_argument("--seed", type=int, default=0, help="How the rows are split into folds")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix="route-quality-"))
    for name in args.only.split(","):
        spec = SPECS[name]
        if name == "gsm8k":
            joined = join_replies(spec.data, RAW_GSM8K, scratch / "gsm8k.jsonl")
            spec = replace(spec, data=joined)
        featurizer = None
        if args.embedder == "full":
            label_file = str(SPECS[name].data.relative_to(SHARED))
            featurizer = Featurizer(CachedFullEmbedder([label_file]))
        result = evaluate(
            spec,
            args.folds,
            featurizer,
            progress=lambda m, n=name: print(f"{n}: {m}", flush=True),
            seed=args.seed,
        )
        name = name if args.embedder == "static" else f"{name}-full"
        name = name if args.seed == 0 else f"{name}-seed{args.seed}"
        (args.out / f"{name}.json").write_text(
            json.dumps(result.to_json(), indent=1, default=float)
        )
        write(result, args.out / f"{name}.html")
        print(
            json.dumps(
                {"data": name, "spread": result.spread, "calibrated": result.calibrated},
                indent=1,
                default=float,
            )
        )


if __name__ == "__main__":
    main()
