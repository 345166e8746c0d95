"""Gateway overhead: added latency and sustained rate beside LiteLLM and Python floors."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfdoc import Section, goal, load, num, table

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"
CROSS = "cross-core, no relay"
BESIDE = "modelyard, upstream on its core"
BASELINE = {BESIDE: CROSS}
"""Rows whose added latency is over another row than the direct call (run.py's BASELINE)."""
GOALS_MS = {"added p50, like for like": 0.3, "added time to first token": 1.0}
TIMES_LITELLM = 50
"""Issues #4 and #20: sustained rate at least 50x LiteLLM's in the same run."""


def added(rows: dict[str, Any], name: str, key: str) -> float | None:
    if name == "direct":
        return None
    return float(rows[name][key] - rows[BASELINE.get(name, "direct")][key])


def section() -> Section:
    run = load(RESULTS)
    c1, ttft, sweep = run["c1"], run["ttft"], run["sweep"]
    rows = [
        [name, num(added(c1, name, "p50_ms"), 3), num(added(c1, name, "p99_ms"), 2),
         num(added(ttft, name, "p50_ms"), 3), num(sweep[name]["sustained_rps"]),
         num(sweep[name]["cpu_us_per_request"])]
        for name in c1
    ]  # fmt: skip
    like = added(c1, BESIDE, "p50_ms") or 0.0
    first = added(ttft, "modelyard", "p50_ms") or 0.0
    ratio = sweep["modelyard"]["sustained_rps"] / max(1, sweep.get("litellm", {}).get(
        "sustained_rps", 0))  # fmt: skip
    verdicts = [
        goal(f"added p50 like for like ≤ {GOALS_MS['added p50, like for like']} ms",
             like <= GOALS_MS["added p50, like for like"], f"{like:.3f} ms"),
        goal(f"added time to first token ≤ {GOALS_MS['added time to first token']} ms",
             first <= GOALS_MS["added time to first token"], f"{first:.3f} ms"),
        goal(f"sustained rate ≥ {TIMES_LITELLM}× LiteLLM's", ratio >= TIMES_LITELLM,
             f"{ratio:.0f}×" if "litellm" in sweep else "LiteLLM not run"),
    ]  # fmt: skip
    machine = run["machine"]
    columns = ["target", "+p50 ms", "+p99 ms", "+TTFT ms", "req/s", "CPU µs/req"]
    return Section(
        title="Gateway overhead",
        command=".venv/bin/python benchmarks/gateway_overhead/run.py",
        results=(RESULTS,),
        when=(
            f"{run['when']} on {machine['cpu']}, {machine['cores']} cores, load average "
            f"{machine['loadavg_before'][0]:.1f} before and {machine['loadavg_after'][0]:.1f} "
            f"after; " + ", ".join(f"{k} {v}" for k, v in run["versions"].items())
        ),
        body=table(columns, rows)
        + "\n\nAdded figures are over the direct call at concurrency 1 (`"
        + BESIDE
        + "`: over `"
        + CROSS
        + "`); req/s is the highest rate whose p99 stayed within the bound, CPU per request "
        "the gateway process's own.\n\n" + "\n".join(verdicts),
        notes=(
            "The fake upstream and the load generator share CPU 0, each gateway runs on CPU 1. "
            "`direct` never leaves CPU 0, so a relayed request pays two crossings between "
            "cores that the direct call does not: the like-for-like row puts a second fake "
            "upstream on CPU 1 and takes its added latency over calling that upstream "
            "directly. The floors are the thinnest gateways Python allows (uvicorn with an "
            "aiohttp client, and the stack modelyard runs on). On a shared VM the cost of a "
            "crossing moves with the hour; performance-history.md has every run."
        ),
    )
