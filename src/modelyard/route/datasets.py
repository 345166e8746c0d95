"""Per-prompt, per-model quality labels: the shared RouteLLM/LLMRouter files and `yard eval` output.

Every source is read into one ``LabelSet``: prompts, a (prompts × models) score matrix scaled to
[0, 1], and a category per prompt. The row format is the one ``yard eval --labels`` writes:
``{"id": str, "prompt": str, "labels": {model: score}}``, plus optional ``category``/``subject``/
``task_name`` and ``contaminated`` fields, and ``responses`` (``{model: reply text}``), which the
cascade's scorer trains on (route/cascade.py).
"""

from __future__ import annotations

import csv
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelyard.errors import YardError

CATEGORY_FIELDS = ("category", "subject", "task_name")
"""Row fields used, in this order, as the per-category breakdown key."""
JUDGE_SCALE = (1.0, 10.0)
"""Scores above 1 are read as 1–10 judge grades (MT-Bench) and mapped onto [0, 1]."""


class LabelError(YardError):
    """A label file cannot be read."""


@dataclass
class LabelSet:
    """Prompts with one quality score per model, in [0, 1]."""

    ids: list[str]
    prompts: list[str]
    categories: list[str]
    models: list[str]
    scores: np.ndarray
    """(len(prompts), len(models)) float array; higher is better."""
    sha256: str
    """Hash of the source file's bytes (or of the combined sources)."""
    responses: dict[str, list[str]] = field(default_factory=dict)
    """Per model whose reply every row carries, the replies in row order."""

    def __len__(self) -> int:
        return len(self.prompts)

    def subset(self, index: np.ndarray) -> LabelSet:
        """The rows at ``index`` (same models, same hash)."""
        pick = [int(i) for i in index]
        return LabelSet(
            [self.ids[i] for i in pick],
            [self.prompts[i] for i in pick],
            [self.categories[i] for i in pick],
            self.models,
            self.scores[pick],
            self.sha256,
            {m: [replies[i] for i in pick] for m, replies in self.responses.items()},
        )

    def select_models(self, models: list[str]) -> LabelSet:
        """The same rows with only ``models``, in that order."""
        missing = [m for m in models if m not in self.models]
        if missing:
            raise LabelError(
                f"model {missing[0]!r} has no labels; the data has: {', '.join(self.models)}"
            )
        cols = [self.models.index(m) for m in models]
        return LabelSet(
            self.ids,
            self.prompts,
            self.categories,
            list(models),
            self.scores[:, cols],
            self.sha256,
            {m: r for m, r in self.responses.items() if m in models},
        )


def read_labels(path: Path, keep_contaminated: bool = False) -> LabelSet:
    """Read a labels JSONL file; rows marked ``contaminated`` are dropped unless asked.

    Raises:
        LabelError: the file is missing, a line is not JSON, or a row lacks prompt/labels.
    """
    if not path.is_file():
        raise LabelError(f"{path}: no such label file; give a JSONL of id/prompt/labels rows")
    data = path.read_bytes()
    rows = [
        _parse_line(path, n, line) for n, line in enumerate(data.splitlines(), 1) if line.strip()
    ]
    rows = [r for r in rows if keep_contaminated or not r.get("contaminated")]
    if not rows:
        raise LabelError(f"{path}: no usable rows")
    return _build(rows, hashlib.sha256(data).hexdigest(), path)


def _parse_line(path: Path, number: int, line: bytes) -> dict:
    try:
        row = json.loads(line)
    except json.JSONDecodeError as exc:
        raise LabelError(f"{path}:{number}: not JSON ({exc.msg})") from None
    if not isinstance(row.get("prompt"), str) or not isinstance(row.get("labels"), dict):
        raise LabelError(f"{path}:{number}: a row needs a 'prompt' string and a 'labels' object")
    if not isinstance(row.get("responses", {}), dict):
        raise LabelError(f"{path}:{number}: 'responses' must be an object of model: reply text")
    return row


def _build(rows: list[dict], sha: str, path: Path) -> LabelSet:
    models = sorted({m for r in rows for m in r["labels"]})
    scores = np.full((len(rows), len(models)), np.nan)
    for i, row in enumerate(rows):
        for model, value in row["labels"].items():
            scores[i, models.index(model)] = float(value)
    complete = ~np.isnan(scores).any(1)
    if not complete.any():
        raise LabelError(f"{path}: no row has a score for every model ({', '.join(models)})")
    rows = [r for r, ok in zip(rows, complete, strict=True) if ok]
    scores = scores[complete]
    if scores.max() > 1.0:
        low, high = JUDGE_SCALE
        scores = (scores - low) / (high - low)
    return LabelSet(
        [str(r.get("id", i)) for i, r in enumerate(rows)],
        [r["prompt"] for r in rows],
        [_category(r) for r in rows],
        models,
        scores,
        sha,
        _responses(rows, models),
    )


def _responses(rows: list[dict], models: list[str]) -> dict[str, list[str]]:
    """The replies of each model that has a reply text in every row."""
    replies = [r.get("responses", {}) for r in rows]
    return {
        m: [r[m] for r in replies]
        for m in models
        if all(isinstance(r.get(m), str) for r in replies)
    }


def join_replies(labels: Path, raw: Path, out: Path) -> Path:
    """``labels`` with each row's ``responses`` joined in from a RouteLLM raw response CSV
    (a ``<model>_response`` column per model; CSV row i is the label row whose id ends in
    ``.i``, and their prompts must match), written to ``out``.

    Raises:
        LabelError: a row's id has no index, or its CSV row is missing or holds another prompt.
    """
    with raw.open(newline="", encoding="utf-8") as handle:
        replies = list(csv.DictReader(handle))
    columns = [c for c in (replies[0] if replies else {}) if c.endswith("_response")]
    with labels.open(encoding="utf-8") as src, out.open("w", encoding="utf-8") as dst:
        for number, line in enumerate(src, 1):
            row = _parse_line(labels, number, line.encode())
            index = str(row.get("id", "")).rsplit(".", 1)[-1]
            source = replies[int(index)] if index.isdigit() and int(index) < len(replies) else {}
            if source.get("prompt") != row["prompt"]:
                raise LabelError(f"{labels}:{number}: no row of {raw} holds this prompt")
            row["responses"] = {c.removesuffix("_response"): source[c] for c in columns}
            dst.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out


def _category(row: dict) -> str:
    for name in CATEGORY_FIELDS:
        if row.get(name):
            return str(row[name])
    return "all"


@dataclass(frozen=True)
class Price:
    """USD per 1M tokens for one model."""

    input: float
    output: float


def read_prices(path: Path) -> dict[str, Price]:
    """Model prices from an LLMRouter ``default_llm.json`` (USD per 1M input/output tokens).

    Raises:
        LabelError: the file is missing or an entry lacks numeric prices.
    """
    try:
        raw = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise LabelError(f"{path}: cannot read prices ({exc})") from None
    prices = {}
    for name, entry in raw.items():
        try:
            prices[name] = Price(float(entry["input_price"]), float(entry["output_price"]))
        except (KeyError, TypeError, ValueError):
            raise LabelError(
                f"{path}: {name}: needs numeric input_price and output_price (USD per 1M tokens)"
            ) from None
    return prices
