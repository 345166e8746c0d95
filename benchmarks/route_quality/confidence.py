"""Does a reply's mean token log-probability tell right from wrong? SmolLM2 on small sums.

The local llama.cpp engine runs the default SmolLM2-135M-Instruct (temperature 0, with
``logprobs``) on N questions "What is a + b?" (a, b drawn from 1–20, seeded: the 135M model
gets some right; two-digit sums it almost never does); a reply is right when its last integer is
the sum. Prints the accuracy, the AUC for being right of the gateway's confidence (its
``auto.cascade_min_logprob`` check, serve/auto.py ``reply_confidence``: the mean log-probability
of the reply's last number) and of the mean over all the reply's tokens, and what escalating
below a few thresholds would do.

    YARD_MODEL_CACHE=.cache/models .venv/bin/python benchmarks/route_quality/confidence.py [--n 300]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import re

import httpx
import numpy as np

from modelyard.pull import pull
from modelyard.serve import LocalEngine, reply_confidence

THRESHOLDS = (-0.05, -0.1, -0.2, -0.3, -0.5, -1.0)


def ask(url: str, a: int, b: int) -> tuple[bool, float, float]:
    """Whether SmolLM2 answers a + b right, the gateway's confidence in its reply, and the mean
    log-probability of all the reply's tokens."""
    body = {
        "model": "smollm2",
        "messages": [{"role": "user", "content": f"What is {a} + {b}? Reply with the number."}],
        "max_tokens": 12,
        "temperature": 0,
        "logprobs": True,
    }
    choice = httpx.post(f"{url}/chat/completions", json=body, timeout=60).json()["choices"][0]
    found = re.findall(r"-?\d+", choice["message"]["content"].replace(",", ""))
    every = [t["logprob"] for t in choice["logprobs"]["content"]]
    return bool(found) and int(found[-1]) == a + b, reply_confidence(choice), float(np.mean(every))


def auc(score: np.ndarray, right: np.ndarray) -> float:
    """Probability that a right reply outscores a wrong one (ties count half)."""
    pos, neg = score[right], score[~right]
    return float(((pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])).mean())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    pairs = [(rng.randint(1, 20), rng.randint(1, 20)) for _ in range(args.n)]
    engine = LocalEngine(pull("smollm2"), ctx_size=512, threads=2, parallel=1, alias="smollm2")
    url = asyncio.run(engine.start())
    try:
        results = [ask(url, a, b) for a, b in pairs]
    finally:
        asyncio.run(engine.stop())
    right = np.array([r for r, _, _ in results])
    score = np.array([c for _, c, _ in results])
    rows = []
    for t in THRESHOLDS:
        up = score < t
        kept = right[~up]
        rows.append({
            "threshold": t,
            "escalated": float(up.mean()),
            "right_among_kept": float(kept.mean()) if len(kept) else None,
            "wrong_caught": float((up & ~right).sum() / max(1, (~right).sum())),
        })  # fmt: skip
    print(json.dumps({
        "n": args.n,
        "accuracy": float(right.mean()),
        "auc": auc(score, right),
        "auc_mean_of_all_tokens": auc(np.array([m for _, _, m in results]), right),
        "thresholds": rows,
    }, indent=1))  # fmt: skip


if __name__ == "__main__":
    main()
