"""Eval throughput: `yard eval` on a fast fake endpoint, cold (every item requested) and warm."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfdoc import Section, load, num, table

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def _row(number: int, r: dict[str, Any]) -> list[object]:
    return [f"{r['kind']} #{number}", num(r["requests"]), num(r["cached"]), num(r["run_s"], 2),
            num(r["items"] / r["run_s"]), num(r["wall_s"], 2), num(r["peak_mib"])]  # fmt: skip


def section() -> Section:
    run = load(RESULTS)
    rows = [_row(i // 2 + 1, r) for i, r in enumerate(run["runs"])]
    rows.sort(key=lambda row: str(row[0]))  # cold runs first, then warm
    before = ", ".join(num(x, 1) for x in run["loadavg_before"])
    columns = ["run", "requests", "from store", "run s", "items/s", "wall s", "RSS MiB"]
    return Section(
        title="Eval throughput",
        command=".venv/bin/python benchmarks/eval_throughput/run.py --items 2000 --concurrency 32",
        results=(RESULTS,),
        when=f"{run['when']} on {run['cpus']} CPUs, load average {before} before",
        body=f"{num(run['items'])} items, concurrency {run['concurrency']}:\n\n"
        + table(columns, rows),
        notes=(
            "`yard eval` on single-turn items (numeric scorer) against "
            "`tests/serve/fault_upstream.py` replying at once, run as its own process with one "
            "model and a fresh `YARD_HOME` per cold/warm pair: the cold run requests and stores "
            'every reply, the warm rerun reads them all from the result store. "run s" is the '
            'runner (`stats.duration_s`: requests, scoring, statistics); "wall s" adds '
            "interpreter start-up, suite loading and writing the HTML/JSON/CSV report; RSS is "
            "the `yard eval` process's peak `ru_maxrss`. With a real model the endpoint "
            "dominates: these figures bound the runner's own overhead."
        ),
    )
