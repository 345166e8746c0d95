"""The tables of docs/PERFORMANCE.md's *Private data* section, from a run.py result file.

python benchmarks/privacy/table.py [results/latest.json]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent


def pct(part: int, whole: int) -> str:
    return f"{part}/{whole} ({100 * part / whole:.1f}%)"


def ms(cell: dict[str, Any]) -> str:
    if "timeout_s" in cell:
        return f"> {cell['timeout_s']:.0f} s"
    if "error" in cell:
        return "error"
    return f"{cell['p50_ms']:.2f} / {cell['p99_ms']:.2f}"


def detection(results: dict[str, Any]) -> list[str]:
    rows = ["| scanner | split | leaked | look-alikes kept local |", "| --- | --- | --: | --: |"]
    for name, splits in results["detection"].items():
        for split, d in splits.items():
            rows.append(f"| {name} | {split} | {pct(d['leaked'], d['private'])} "
                        f"| {pct(d['kept_local'], d['look_alikes'])} |")  # fmt: skip
    return rows


def real(results: dict[str, Any]) -> list[str]:
    rows = ["| scanner | Arena-Hard prompts flagged | most frequent kinds |", "| --- | --: | --- |"]
    for name, d in results["real_prompts"].items():
        kinds = sorted(d["kinds"].items(), key=lambda kv: -kv[1])[:4]
        shown = ", ".join(f"{k} {n}" for k, n in kinds)
        rows.append(f"| {name} | {pct(d['flagged'], d['prompts'])} | {shown} |")
    return rows


LATENCY_COLUMNS = {"modelyard": "modelyard", "presidio": "Presidio",
                   "modelyard (default budget)": "budgeted"}  # fmt: skip
"""Latency columns (p50 / p99 ms), narrow enough for 80 columns."""


def latency(results: dict[str, Any]) -> list[str]:
    names = [n for n in LATENCY_COLUMNS if n in results["latency"]]
    head = " | ".join(LATENCY_COLUMNS[n] for n in names)
    rows = [f"| body, p50 / p99 ms | {head} |", "| --- |" + " --: |" * len(names)]
    cases = list(next(iter(results["latency"].values())))
    for case in cases:
        cells = " | ".join(ms(results["latency"][n][case]) for n in names)
        rows.append(f"| {case.replace('1 MB adversarial: ', 'adv. ')} | {cells} |")
    return rows


def main() -> None:
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE / "results" / "latest.json"
    results = json.loads(path.read_text())
    for block in (detection(results), real(results), latency(results)):
        print("\n".join(block), end="\n\n")
    for key in ("redaction", "redaction + NER"):
        for split, r in results.get(key, {}).items():
            print(f"{key}, {split}: {r['items_with_a_value_left']} item(s) with a value left "
                  f"({r['rate']:.1%}) {r['by_kind']}")  # fmt: skip


if __name__ == "__main__":
    main()
