"""The held-out-task tables of docs/PERFORMANCE.md, from run.py's result JSON (markdown).

python benchmarks/route_quality/table.py benchmarks/route_quality/results/llmrouter-tasks.json
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

BASELINES = ("best_single", "cheapest_single", "random_mix", "tfidf-lr", "knn", "length")
SHORT = {"best_single": "best", "cheapest_single": "cheap", "random_mix": "mix",
         "tfidf-lr": "tfidf", "knn": "knn", "length": "len"}  # fmt: skip
MARK = {"win": "W", "loss": "**L**", "trade-off": "~", "tie": "="}


def cost(f: dict[str, Any], calls: bool) -> str:
    value = f["value"]
    return "-" if value is None else (f"{value:.3f}" if calls else f"{value * 1000:.3f}")


def share(f: dict[str, Any]) -> str:
    if f["value"] is None:
        return "-"
    ci = f["ci"]
    return f"{f['value']:.2f}" + (f" ({ci[0]:.2f}–{ci[1]:.2f})" if ci else "")


def rows(result: dict[str, Any]) -> list[str]:
    calls = result["data"].get("cost_unit") != "USD per request"
    unit = "calls" if calls else "$/1k"
    head = (f"| held-out task | n | router {unit} | share (95% CI) | mix {unit} | mix share | "
            + " | ".join(SHORT[b] for b in BASELINES) + " |")  # fmt: skip
    out = [head, "|" + " --- |" * (6 + len(BASELINES))]
    for split in result["splits"]:
        router = split["methods"]["router"]["figures"]
        mix = split["methods"]["random_mix"]["figures"]
        marks = {v["baseline"]: MARK[v["outcome"]] for v in split["verdicts"]
                 if v["target"] == "q95"}  # fmt: skip
        out.append(
            f"| {split['name']} | {split['rows']} | {cost(router['q95_cost'], calls)} | "
            f"{share(router['q95_share'])} | {cost(mix['q95_cost'], calls)} | "
            f"{share(mix['q95_share'])} | " + " | ".join(marks.get(b, "") for b in BASELINES) + " |"
        )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("result", type=Path)
    result = json.loads(parser.parse_args().result.read_text())
    print("\n".join(rows(result)))
    summary = result.get("summary") or {}
    if summary:
        tallies = summary["outcomes"]
        for base in BASELINES:
            counts = tallies.get(f"{base} @ q95", {})
            print(f"- {base} at 95%: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))


if __name__ == "__main__":
    main()
