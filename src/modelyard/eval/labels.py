"""Router labels from an eval: per-item scores in the format `yard route train` reads.

One JSONL row per item, like shared/data/routellm/*.jsonl:
``{"id", "prompt", "labels": {model: score}, "responses": {model: reply}, "category"?,
"language"?}``. Models without a score for an item are left out of its ``labels`` and
``responses``; items no model scored are skipped. The replies train the cascade's reply
scorer (`yard route train`, route/cascade.py).
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

from modelyard.eval.schema import Item, RunReport


def label_rows(report: RunReport, items: list[Item]) -> list[dict[str, Any]]:
    """The label rows, in suite order."""
    scores: dict[str, dict[str, float]] = defaultdict(dict)
    replies: dict[str, dict[str, str]] = defaultdict(dict)
    for r in report.items:
        if r.score.value is not None:
            scores[r.item_id][r.model] = r.score.value
            replies[r.item_id][r.model] = r.completion.text
    rows = []
    for item in items:
        if not scores.get(item.id):
            continue
        row: dict[str, Any] = {
            "id": item.id,
            "prompt": item.text(),
            "labels": scores[item.id],
            "responses": replies[item.id],
        }
        row.update(
            {
                k: v
                for k, v in (("category", item.category), ("language", item.language))
                if v is not None
            }
        )
        rows.append(row)
    return rows


def write_labels(report: RunReport, items: list[Item], path: Path) -> int:
    """Write the label rows to ``path`` (JSONL); returns how many rows."""
    rows = label_rows(report, items)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as handle:
        for row in rows:
            handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    return len(rows)
