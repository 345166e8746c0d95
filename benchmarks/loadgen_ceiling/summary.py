"""Load generator ceiling: the highest constant rate `yard bench` and GuideLLM sustain, one core."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfdoc import Section, load, num, table

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
SUSTAINED = 0.95
"""A rate is sustained when at least this share of the offered requests/s complete, error-free."""


def _cells(row: dict[str, Any] | None) -> list[str]:
    """Achieved req/s (✗ when not sustained) and TTFT p50 / p99 ms."""
    if row is None:
        return ["", ""]
    offered = row.get("offered")
    held = offered is None or (row["achieved"] >= SUSTAINED * offered and not row["errors"])
    ttft = f"{num(row['ttft_p50_ms'], 1)} / {num(row['ttft_p99_ms'])}"
    return [num(row["achieved"], 1) + ("" if held else " ✗"), ttft]


def section() -> Section:
    run = load(RESULTS)
    ours, theirs = run["ours"], run["guidellm"]
    mine = {r["offered"]: r for r in ours["rates"]}
    peer = {r["offered"]: r for r in theirs["rates"]}
    rows = [[num(rate), *_cells(mine.get(rate)), *_cells(peer.get(rate))]
            for rate in sorted(mine.keys() | peer.keys())]  # fmt: skip
    rows.append(["**ceiling**", f"**{num(ours['ceiling_req_s'])}**", "",
                 f"**{num(theirs['ceiling_req_s'])}**", ""])  # fmt: skip
    rows.append(["closed loop, c=64", *_cells(ours["closed_loop_c64"]),
                 *_cells(theirs["throughput_profile"])])  # fmt: skip
    columns = ["offered req/s", "yard bench", "TTFT ms", "GuideLLM", "TTFT ms"]
    machine = run["machine"]
    loads = f"{num(machine['loadavg_before'][0], 1)} before, {num(machine['loadavg_after'][0], 1)}"
    ratio = ours["ceiling_req_s"] / theirs["ceiling_req_s"]
    return Section(
        title="Load generator ceiling",
        command=(
            "python3 -m venv benchmarks/loadgen_ceiling/.venv\n"
            "benchmarks/loadgen_ceiling/.venv/bin/pip install guidellm\n"
            ".venv/bin/python benchmarks/loadgen_ceiling/measure.py"
        ),
        results=(RESULTS,),
        when=f"{run['when']} on {machine['cpus']} CPUs shared with other jobs (load average "
        f"{loads} after)",
        body=f"Achieved req/s and TTFT p50 / p99 (ms), {run['duration_s']} s per rate; ✗ = not "
        f"sustained ({run['sustained_if']}):\n\n"
        + table(columns, rows)
        + f"\n\n`yard bench`'s ceiling is {num(ratio)}× GuideLLM's on the same core.",
        notes=(
            "Is `yard bench` ever the bottleneck? Each generator runs pinned to CPU 0 against "
            "`tests/serve/fault_upstream.py` pinned to CPU 1 (uvloop, keep-alive, one "
            "precomputed 16-chunk SSE stream with usage). The machine was shared, so "
            "differences of a fifth are noise; runs under heavier contention gave lower "
            "ceilings for both, with the ratio holding. The results' `send_lag_ms` shows when "
            "the generator falls behind its schedule. `vllm bench serve` was not tried: its "
            "PyPI wheel is built for CUDA. The run predates measure.py recording its date; the "
            "date is taken from performance-history.md."
        ),
    )
