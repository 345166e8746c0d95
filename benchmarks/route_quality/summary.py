"""Routing on prompts it never saw: leave one task out, on LLMRouter's families and RouteLLM's
files, every figure per held-out task (table.py draws the rows)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType
from typing import Any

from perfdoc import Section, goal, load

HERE = Path(__file__).resolve().parent
RUNS = {
    "LLMRouter train.jsonl, leave one task family out (USD per 1,000 requests)":
        HERE / "results" / "llmrouter-tasks.json",
    "RouteLLM, leave one file out (share of calls to the dearer model)":
        HERE / "results" / "routellm-files.json",
}  # fmt: skip
COMMAND = """YARD_MODEL_CACHE=.cache/models OPENBLAS_NUM_THREADS=1 \\
  .venv/bin/python benchmarks/route_quality/run.py --only llmrouter-tasks
YARD_MODEL_CACHE=.cache/models OPENBLAS_NUM_THREADS=1 \\
  .venv/bin/python benchmarks/route_quality/run.py --only routellm-files"""


def _table_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("route_quality_table", HERE / "table.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _part(title: str, run: dict[str, Any], tables: ModuleType) -> str:
    summary = run["summary"]
    tasks, cheapest = summary["tasks"], summary["router_cheapest_at_95"]
    beaten = summary["random_mix_beat_router"]
    tallies = [
        f"- {base} at 95%: "
        + ", ".join(f"{k} {v}" for k, v in sorted(summary["outcomes"][f"{base} @ q95"].items()))
        for base in tables.BASELINES
    ]
    verdicts = [
        goal("cheaper than every baseline at 95% on most held-out tasks",
             len(cheapest) * 2 > tasks,
             f"{len(cheapest)} of {tasks}" + (f": {', '.join(cheapest)}" if cheapest else "")),
        goal("never worse than the random mix beyond its interval", not beaten,
             f"beaten on {len(beaten)}" + (f": {', '.join(beaten)}" if beaten else "")),
    ]  # fmt: skip
    rows = "\n".join(tables.rows(run))
    return f"**{title}**\n\n{rows}\n\n" + "\n".join(tallies + verdicts)


def section() -> Section:
    tables = _table_module()
    runs = {title: load(path) for title, path in RUNS.items()}
    first = next(iter(runs.values()))
    return Section(
        title="Routing on prompts it never saw",
        command=COMMAND,
        results=tuple(RUNS.values()),
        when=", ".join(f"{run['when']}" for run in runs.values()) + " on the shared CPU machine",
        body="\n\n".join(_part(title, run, tables) for title, run in runs.items()),
        notes=(
            "Every choice (features, the router's threshold, whether it keeps its own ranking "
            "or falls back to the random mix) is made on the training tasks only; the held-out "
            "task is scored once. Shares are of the model best on the training rows, with "
            "paired bootstrap intervals. Marks against each baseline at the 95% target: W "
            "cheaper and at least as good, L dearer or worse beyond the interval, ~ a "
            "trade-off, = the same. *routes by* says whether the router kept its ranking "
            "(model) or stored the random mix because its out-of-fold ranking routed no "
            "better (docs/routing.md). "
            f"Models: {len(first['data']['models'])} on LLMRouter; the per-task HTML reports "
            "sit beside the JSON files."
        ),
    )
