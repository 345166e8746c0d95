"""Decision latency of `model: "auto"`: policy + features + prediction, p50/p99 on this CPU.

Trains a router on the RouteLLM GSM8K labels (or loads --router), then times
``Router.decide`` on real prompts from ../shared/data (MMLU, GSM8K, MT-Bench), one at a time.
It also times the full all-MiniLM-L6-v2 forward pass against the distilled static embedder and
measures how closely they agree (cosine) on the same prompts.

    python benchmarks/route_latency/run.py [--n 2000] [--faithful 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from modelyard.route import Candidate, Router, TrainSpec, train
from modelyard.route.artifact import load
from modelyard.route.datasets import read_labels
from modelyard.route.embed import TransformerEmbedder, model_files, static_embedder
from modelyard.route.features import Featurizer

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
STRONG, WEAK = "gpt-4-1106-preview", "mistralai/Mixtral-8x7B-Instruct-v0.1"


def prompts(limit: int) -> list[str]:
    """A mix of real prompts from the three RouteLLM files, shuffled reproducibly."""
    texts = [
        p
        for name in ("mmlu", "gsm8k", "mt_bench")
        for p in read_labels(SHARED / "routellm" / f"{name}.jsonl").prompts
    ]
    rng = np.random.default_rng(0)
    return [texts[i] for i in rng.permutation(len(texts))[:limit]]


def percentiles(samples: list[float]) -> dict[str, float]:
    ms = np.array(samples) * 1000
    return {
        "p50_ms": float(np.percentile(ms, 50)),
        "p99_ms": float(np.percentile(ms, 99)),
        "mean_ms": float(ms.mean()),
    }


def time_decisions(router: Router, texts: list[str]) -> dict[str, float]:
    cands = [
        Candidate(WEAK, local=True, context_window=32768),
        Candidate(STRONG, 10.0, 30.0, context_window=128000),
    ]
    for t in texts[:50]:
        router.decide([{"role": "user", "content": t}], cands)
    samples = []
    for t in texts:
        start = time.perf_counter()
        router.decide([{"role": "user", "content": t}], cands)
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def faithfulness(texts: list[str]) -> dict[str, float]:
    full = TransformerEmbedder(model_files())
    static = static_embedder()
    start = time.perf_counter()
    reference = np.stack([full.embed([t])[0] for t in texts])
    full_s = (time.perf_counter() - start) / len(texts)
    start = time.perf_counter()
    fast = static.embed(texts)
    static_s = (time.perf_counter() - start) / len(texts)
    cos = (reference * fast).sum(1)
    # do both agree on which prompts are similar? correlation of the pairwise similarity matrices
    upper = np.triu_indices(len(texts), 1)
    sim_corr = np.corrcoef((reference @ reference.T)[upper], (fast @ fast.T)[upper])[0, 1]
    return {
        "cosine_mean": float(cos.mean()),
        "cosine_p10": float(np.percentile(cos, 10)),
        "pairwise_similarity_correlation": float(sim_corr),
        "full_ms_per_prompt": full_s * 1000,
        "static_ms_per_prompt": static_s * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--faithful", type=int, default=200)
    parser.add_argument("--router", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    path = args.router or Path("/tmp/route-latency-router.json")
    if args.router is None:
        train(TrainSpec(SHARED / "routellm" / "gsm8k.jsonl", (WEAK, STRONG)), path)
    texts = prompts(args.n)
    result = {"decide": time_decisions(Router(load(path), Featurizer(static_embedder())), texts)}
    if args.faithful:
        result["embedder"] = faithfulness(texts[: args.faithful])
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
