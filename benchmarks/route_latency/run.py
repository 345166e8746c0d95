"""Decision latency of `model: "auto"`, and the embedders' speed and faithfulness.

1. ``decide``: ``Router.decide`` for a 2,000-token prompt (real prompts from ../shared/data
   joined until they reach 2,000 WordPiece tokens, behind a 300-token system prompt) with 10
   candidates, one decision at a time, p50/p99. The router is trained on LLMRouter's 9 models
   plus a tenth whose labels copy one of them (timing only: latency does not depend on the label
   values). The private kinds are given, as the gateway gives them (the scan is the privacy
   package's, timed apart as ``privacy_scan``). Token vectors are computed first (as after
   `yard route embed-table --build`).
2. ``short``: the same 10 candidates for the real prompts themselves (mostly under 200 tokens).
3. ``embedder``: the static table and the full model (onnxruntime) on --faithful prompts drawn
   evenly from MMLU, GSM8K, MT-Bench and LLMRouter: ms per prompt, and the Spearman correlation
   between the two models' pairwise cosine similarities (faithfulness).

    taskset -c 0 env OPENBLAS_NUM_THREADS=1 python benchmarks/route_latency/run.py \\
        [--n 2000] [--faithful 600] [--json benchmarks/route_latency/results.json]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from modelyard.privacy import Scanner
from modelyard.route import (
    Candidate,
    Featurizer,
    Router,
    TrainSpec,
    TransformerEmbedder,
    model_files,
    read_labels,
    static_embedder,
    train,
)

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
PRICES = SHARED / "llmrouter" / "default_llm.json"
TENTH = "llama-3.1-8b-instruct-copy"
SYSTEM = (
    "You are the support assistant of a mid-sized logistics company. Answer in the customer's "
    "language, cite the relevant policy section, never invent tracking numbers, and escalate "
    "to a human when the customer mentions legal action, a data-protection request or a safety "
    "incident. Keep answers under 200 words unless asked for more detail. "
) * 5


def real_prompts(limit: int) -> list[str]:
    """Real prompts from the three RouteLLM files and LLMRouter, shuffled reproducibly."""
    texts = [t for name in ("mmlu", "gsm8k", "mt_bench")
             for t in read_labels(SHARED / "routellm" / f"{name}.jsonl").texts]  # fmt: skip
    texts += read_labels(SHARED / "llmrouter" / "train.jsonl").texts
    order = np.random.default_rng(0).permutation(len(texts))
    return [texts[i] for i in order[:limit]]


def long_prompts(n: int, tokens: int, pieces) -> list[str]:
    """``n`` prompts of about ``tokens`` word pieces, each real prompts joined in its own order."""
    pool = real_prompts(20_000)
    rng = np.random.default_rng(1)
    out = []
    for _ in range(n):
        parts, count = [], 0
        for i in rng.permutation(len(pool)):
            parts.append(pool[i])
            count += len(pieces(pool[i]))
            if count >= tokens:
                break
        out.append("\n\n".join(parts))
    return out


def ten_model_labels(folder: Path) -> tuple[Path, Path]:
    """LLMRouter's labels and prices with a tenth model copying llama-3.1-8b-instruct."""
    rows = (SHARED / "llmrouter" / "train.jsonl").read_text().split("\n")
    out = folder / "ten.jsonl"
    with out.open("w") as handle:
        for line in filter(None, rows):
            row = json.loads(line)
            row["labels"][TENTH] = row["labels"]["llama-3.1-8b-instruct"]
            handle.write(json.dumps(row) + "\n")
    prices = json.loads(PRICES.read_text())
    prices[TENTH] = prices["llama-3.1-8b-instruct"]
    price_file = folder / "prices.json"
    price_file.write_text(json.dumps(prices))
    return out, price_file


def percentiles(samples: list[float], cpu: list[float] | None = None) -> dict[str, float]:
    """Wall-clock p50/p99/mean in ms; with ``cpu`` (this thread's CPU time per sample), the
    same for it: on a shared machine, what one core of its own would take."""
    ms = np.array(samples) * 1000
    out = {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
           "mean_ms": float(ms.mean()), "n": len(ms)}  # fmt: skip
    if cpu is not None:
        cpu_ms = np.array(cpu) * 1000
        out |= {"cpu_p50_ms": float(np.percentile(cpu_ms, 50)),
                "cpu_p99_ms": float(np.percentile(cpu_ms, 99))}  # fmt: skip
    return out


def time_decisions(
    router: Router, texts: list[str], candidates: list[Candidate], system: str = ""
) -> dict[str, float]:
    head = [{"role": "system", "content": system}] if system else []
    asks = [[*head, {"role": "user", "content": t}] for t in texts]
    router.featurizer.embedder.prepare(texts)  # steady state: every token's vector known
    for messages in asks[:50]:
        router.decide(messages, candidates, private=())
    samples, cpu = [], []
    for messages in asks:
        start, start_cpu = time.perf_counter(), time.thread_time()
        router.decide(messages, candidates, private=())
        samples.append(time.perf_counter() - start)
        cpu.append(time.thread_time() - start_cpu)
    return percentiles(samples, cpu)


def time_privacy(texts: list[str]) -> dict[str, float]:
    scanner = Scanner()
    samples = []
    for text in texts:
        start = time.perf_counter()
        scanner.scan_body([{"role": "user", "content": text}])
        samples.append(time.perf_counter() - start)
    return percentiles(samples)


def spearman(a: np.ndarray, b: np.ndarray) -> float:
    """Rank correlation (ties are negligible for float similarities)."""
    ra, rb = (np.argsort(np.argsort(v)).astype(float) for v in (a, b))
    return float(np.corrcoef(ra, rb)[0, 1])


def even_prompts(limit: int) -> list[str]:
    """Up to ``limit`` prompts, as evenly as the files allow from the four label files."""
    files = [SHARED / "routellm" / f"{n}.jsonl" for n in ("mt_bench", "gsm8k", "mmlu")]
    files.append(SHARED / "llmrouter" / "train.jsonl")
    out: list[str] = []
    for left, path in zip(range(len(files), 0, -1), files, strict=True):
        texts = read_labels(path).texts
        take = (limit - len(out)) // left
        out += [texts[i] for i in np.random.default_rng(0).permutation(len(texts))[:take]]
    return out


def faithfulness(texts: list[str]) -> dict[str, float]:
    """Speed of both embedders and their agreement on which prompts are similar."""
    full = TransformerEmbedder(model_files())
    static = static_embedder()
    static.prepare(texts)
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
        "full_onnx_ms_per_prompt": full_s * 1000,
        "static_ms_per_prompt": static_s * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="decisions timed per case")
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--faithful", type=int, default=600)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="route-latency-"))
    labels, prices = ten_model_labels(folder)
    train(TrainSpec(labels, prices=prices), folder / "ten.json")
    router = Router.load(folder / "ten.json")
    router.artifact = replace(router.artifact, mix=None)  # the quality model's (slower) path
    ten = [Candidate(m, 0.1 * j, 0.2 * j, context_window=128_000)
           for j, m in enumerate(router.artifact.candidates)]  # fmt: skip
    pieces = Featurizer(static_embedder()).embedder.token_ids
    long = long_prompts(args.n, args.tokens, pieces)
    result = {
        "load_average_before": list(os.getloadavg()),
        "decide_2000_tokens_10_candidates": time_decisions(router, long, ten, SYSTEM),
        "prompt_tokens_mean": float(np.mean([len(pieces(t)) for t in long[:200]])),
        "privacy_scan_2000_tokens": time_privacy(long[:500]),
        "decide_short_10_candidates": time_decisions(router, real_prompts(args.n), ten),
    }
    result["load_average_after"] = list(os.getloadavg())
    if args.faithful:
        result["embedder"] = faithfulness(even_prompts(args.faithful))
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
