"""Two or more versions of ``Router.decide`` side by side, in one run: each version a worker
process on CPU 0 with its own source tree first on PYTHONPATH, all loading the same router file
and timing the same prompts, called in turn round by round (so a change in the machine's load
falls on every version alike). Cases as in run.py: 2,000-token prompts behind a 300-token
system prompt with 10 candidates, and the real prompts themselves. Also checked: every version
makes the same decisions on the timed prompts (the share that agree is printed).

    git archive <commit> src | tar -x -C /tmp/before
    taskset -c 0 env OPENBLAS_NUM_THREADS=1 .venv/bin/python benchmarks/route_latency/ab.py \\
        before=/tmp/before/src after=src [--rounds 10] [--n 200] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

HERE = Path(__file__).resolve().parent
CASES = ("decide_2000_tokens_10_candidates", "decide_short_10_candidates")


WARM = 50
"""Requests decided before timing, none of them timed."""


def prepare(folder: Path, count: int, tokens: int) -> None:
    """The router file (LLMRouter's 9 models and a tenth) and both cases' requests: ``count``
    to time, then WARM to warm up on."""
    sys.path.insert(0, str(HERE))
    from run import SYSTEM, long_prompts, real_prompts, ten_model_labels

    from modelyard.route import TrainSpec, static_embedder, train

    labels, prices = ten_model_labels(folder)
    train(TrainSpec(labels, prices=prices), folder / "router.json")
    pieces = static_embedder().tokenizer.encode
    head = [{"role": "system", "content": SYSTEM}]
    long = long_prompts(count + WARM, tokens, lambda t: pieces(t, add_special_tokens=False).ids)
    asks = {
        CASES[0]: [[*head, {"role": "user", "content": t}] for t in long],
        CASES[1]: [[{"role": "user", "content": t}] for t in real_prompts(count + WARM)],
    }
    (folder / "asks.json").write_text(json.dumps(asks))


def worker(folder: Path) -> None:
    """Answer ``<case> <first> <last>`` lines on stdin with one JSON line: wall and CPU seconds
    per decision of those requests, and the model chosen for each.

    Every request is new to the decision when timed (a gateway meets each prompt once): only
    the static table's token vectors are computed beforehand, from the tokenizer itself (as
    `yard route embed-table --build` does), and WARM other requests are decided first. A router
    file that falls back to a random mix (route/mixes.py; LLMRouter's labels do) would skip the
    quality model: the mix is taken out, so the slower path is what is timed."""
    os.sched_setaffinity(0, {0})
    import modelyard
    from modelyard.route import Candidate, Router

    router = Router.load(folder / "router.json")
    if getattr(router.artifact, "mix", None) is not None:  # time the quality model's path
        router.artifact = replace(router.artifact, mix=None)
    ten = [Candidate(m, 0.1 * j, 0.2 * j, context_window=128_000)
           for j, m in enumerate(router.artifact.candidates)]  # fmt: skip
    asks = json.loads((folder / "asks.json").read_text())
    embedder = router.featurizer.embedder
    for case in asks.values():
        texts = [m["content"] for messages in case for m in messages]
        encoded = embedder.tokenizer.encode_batch(texts, add_special_tokens=False)
        embedder.table.rows(sorted({i for e in encoded for i in e.ids}))
        for messages in case[-WARM:]:
            router.decide(messages, ten, private=())
    print(json.dumps({"source": modelyard.__file__}), flush=True)
    for line in sys.stdin:
        case, first, last = line.split()
        wall, cpu, chosen = [], [], []
        for messages in asks[case][int(first) : int(last)]:
            start, start_cpu = time.perf_counter(), time.thread_time()
            decision = router.decide(messages, ten, private=())
            wall.append(time.perf_counter() - start)
            cpu.append(time.thread_time() - start_cpu)
            chosen.append(decision.order[0])
        print(json.dumps({"wall": wall, "cpu": cpu, "chosen": chosen}), flush=True)


def ask(proc: subprocess.Popen[str], line: str | None) -> dict[str, Any]:
    """Send a worker one line (None: just read its greeting); its answer."""
    assert proc.stdin is not None and proc.stdout is not None
    if line is not None:
        proc.stdin.write(line + "\n")
        proc.stdin.flush()
    return json.loads(proc.stdout.readline())


def summary(values: list[float]) -> dict[str, float]:
    ms = np.array(values) * 1000
    return {"p50_ms": float(np.percentile(ms, 50)), "p99_ms": float(np.percentile(ms, 99)),
            "mean_ms": float(ms.mean()), "n": len(ms)}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("versions", nargs="*", help="NAME=SRC_DIR")
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--n", type=int, default=200, help="new requests per case and round")
    parser.add_argument("--tokens", type=int, default=2000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        return worker(args.worker)
    folder = Path(tempfile.mkdtemp(prefix="route-ab-"))
    prepare(folder, args.n * args.rounds, args.tokens)
    procs = {}
    for name, src in (v.split("=", 1) for v in args.versions):
        env = {**os.environ, "PYTHONPATH": str(Path(src).resolve()), "OPENBLAS_NUM_THREADS": "1"}
        procs[name] = subprocess.Popen(
            [sys.executable, __file__, "--worker", str(folder)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env,
        )  # fmt: skip
    sources = {name: ask(p, None)["source"] for name, p in procs.items()}
    samples: dict[str, dict[str, dict[str, list[float]]]] = {
        n: {c: {"wall": [], "cpu": []} for c in CASES} for n in procs
    }
    chosen: dict[str, dict[str, list[str]]] = {n: {c: [] for c in CASES} for n in procs}
    order = list(procs)
    for r in range(args.rounds):
        for case in CASES:
            for name in order if r % 2 == 0 else order[::-1]:
                got = ask(procs[name], f"{case} {r * args.n} {(r + 1) * args.n}")
                samples[name][case]["wall"] += got["wall"]
                samples[name][case]["cpu"] += got["cpu"]
                chosen[name][case] += got["chosen"]
        print(f"round {r + 1}/{args.rounds}", file=sys.stderr, flush=True)
    for proc in procs.values():
        proc.communicate()
    first = order[0]
    result = {
        "load_average": list(os.getloadavg()),
        "sources": sources,
        "versions": {
            n: {c: {k: summary(v) for k, v in s.items()} for c, s in cases.items()}
            for n, cases in samples.items()
        },
        "same_decision_as_" + first: {
            n: {
                c: float(np.mean(np.array(chosen[n][c]) == np.array(chosen[first][c])))
                for c in CASES
            }
            for n in order[1:]
        },
    }
    print(json.dumps(result, indent=2))
    if args.json:
        when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
        args.json.write_text(json.dumps({"when": when, **result}, indent=2) + "\n")


if __name__ == "__main__":
    main()
