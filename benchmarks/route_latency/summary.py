"""Routing decision latency: CPU time per decision, before and after, side by side."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfdoc import Section, goal, load, num, table

RESULTS = Path(__file__).resolve().parent / "results" / "ab-2026-12-07-head.json"
CASES = {
    "decide_2000_tokens_10_candidates": "2,000-token prompt, 10 candidates",
    "decide_short_10_candidates": "real short prompts, 10 candidates",
}
GOALS_MS = {"p50_ms": 1.0, "p99_ms": 3.0}
"""Issue #22, for a 2,000-token prompt and 10 candidates on one core."""
COMMAND = """git archive 5eb1f5a src | tar -x -C /tmp/route-main
YARD_MODEL_CACHE=.cache/models OPENBLAS_NUM_THREADS=1 taskset -c 0 \\
  .venv/bin/python benchmarks/route_latency/ab.py before=/tmp/route-main/src after=src \\
  --rounds 10 --n 200 --json benchmarks/route_latency/results/ab-2026-12-07-head.json"""


def _same(run: dict[str, Any], name: str, case: str) -> str:
    """The share of requests on which ``name`` chose what ``before`` chose."""
    share = run["same_decision_as_before"].get(name, {}).get(case)
    return "—" if share is None else f"{share:.0%}"


def section() -> Section:
    run = load(RESULTS)
    versions = run["versions"]
    rows = [
        [label, name, num(v[case]["cpu"]["p50_ms"], 2), num(v[case]["cpu"]["p99_ms"], 2),
         num(v[case]["wall"]["p99_ms"], 2), _same(run, name, case)]
        for case, label in CASES.items()
        for name, v in versions.items()
    ]  # fmt: skip
    after = versions["after"]["decide_2000_tokens_10_candidates"]["cpu"]
    verdicts = [
        goal(f"decision {key[:3]} ≤ {limit:g} ms (CPU, 2,000 tokens, 10 candidates)",
             after[key] <= limit, f"{after[key]:.2f} ms")
        for key, limit in GOALS_MS.items()
    ]  # fmt: skip
    columns = ["case", "code", "CPU p50 ms", "CPU p99 ms", "wall p99 ms", "same choice"]
    return Section(
        title="Routing decision latency",
        command=COMMAND,
        results=(RESULTS,),
        when=f"{run['when']}, load average {run['load_average'][0]:.1f} (shared 2-core machine)",
        body=table(columns, rows, right=2) + "\n\n" + "\n".join(verdicts),
        notes=(
            "`before` is main before the second routing pass (5eb1f5a), `after` the code "
            "now; both run as workers pinned to CPU 0 and are called in turn each round, every "
            "timed request new to the decision. CPU time is the process's own; wall time "
            "includes the other jobs that pre-empt the core on a shared machine."
        ),
    )
