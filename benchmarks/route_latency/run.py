"""Decision latency of `model: "auto"`: policy + features + prediction, p50/p99 on this CPU.

Trains a router on the RouteLLM GSM8K labels (or loads --router), then times
``Router.decide`` on real prompts from ../shared/data (MMLU, GSM8K, MT-Bench), one at a time.
It also times the full all-MiniLM-L6-v2 forward pass against the static embedder and measures
how faithful the static one is on --faithful prompts drawn evenly from MMLU, GSM8K, MT-Bench and
LLMRouter: the Spearman correlation between the two models' pairwise cosine similarities.

    OPENBLAS_NUM_THREADS=1 python benchmarks/route_latency/run.py [--n 2000] [--faithful 600]
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


def even_prompts(limit: int) -> list[str]:
    """Up to ``limit`` prompts, as evenly as the files allow from the four label files."""
    files = [SHARED / "routellm" / f"{n}.jsonl" for n in ("mt_bench", "gsm8k", "mmlu")]
    files.append(SHARED / "llmrouter" / "train.jsonl")
    out: list[str] = []
    for left, path in zip(range(len(files), 0, -1), files, strict=True):
        texts = read_labels(path).prompts
        take = (limit - len(out)) // left
        out += [texts[i] for i in np.random.default_rng(0).permutation(len(texts))[:take]]
    return out


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation (ties are negligible for float similarities)."""
    ra, rb = (np.argsort(np.argsort(v)).astype(float) for v in (a, b))
    return float(np.corrcoef(ra, rb)[0, 1])


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
    # steady state: every token's vector already computed (as after `yard route embed-table`)
    router.featurizer.embedder.embed(texts)
    for t in texts[:50]:
        router.decide([{"role": "user", "content": t}], cands)
    samples = []
    for t in texts:
        start = time.perf_counter()
        router.decide([{"role": "user", "content": t}], cands)
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def faithfulness(texts: list[str]) -> dict[str, float]:
    """Speed of both embedders and their agreement on which prompts are similar."""
    full = TransformerEmbedder(model_files())
    static = static_embedder()
    static.embed(texts)  # compute the unseen tokens' vectors first: not part of the timing
    full.embed(texts[:5])
    start = time.perf_counter()
    reference = full.embed(texts)
    full_s = (time.perf_counter() - start) / len(texts)
    start = time.perf_counter()
    fast = static.embed(texts)
    static_s = (time.perf_counter() - start) / len(texts)
    upper = np.triu_indices(len(texts), 1)
    ref_sims, fast_sims = (reference @ reference.T)[upper], (fast @ fast.T)[upper]
    return {
        "prompts": len(texts),
        "pairwise_similarity_spearman": spearman(ref_sims, fast_sims),
        "pairwise_similarity_pearson": float(np.corrcoef(ref_sims, fast_sims)[0, 1]),
        "full_ms_per_prompt": full_s * 1000,
        "static_ms_per_prompt": static_s * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--faithful", type=int, default=600)
    parser.add_argument("--router", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    path = args.router or Path("/tmp/route-latency-router.json")
    if args.router is None:
        train(TrainSpec(SHARED / "routellm" / "gsm8k.jsonl", (WEAK, STRONG)), path)
    texts = prompts(args.n)
    result = {"decide": time_decisions(Router(load(path), Featurizer(static_embedder())), texts)}
    if args.faithful:
        result["embedder"] = faithfulness(even_prompts(args.faithful))
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
