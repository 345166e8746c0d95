"""Per-prompt, per-model quality labels as users have them: the shared RouteLLM/LLMRouter files,
`yard eval --labels` output and labels built from the gateway's traffic.

One JSONL row per prompt (docs/routing.md, *Label files*)::

    {"id": str, "prompt": str | "messages": [chat messages],
     "labels": {model: score | null},            # any number of models; null: not known
     "costs": {model: USD}?,                      # what this request cost on that model
     "input_tokens": int?, "output_tokens": {model: int}?,
     "responses": {model: reply}?, "category" | "subject" | "task_name" | "task": str?,
     "contaminated": bool?}

Scores are continuous. Scores in [0, 1] are read as they are; scores in [1, 10] (MT-Bench judge
grades) are mapped onto [0, 1]; any other range needs ``score_range``. A null score is left
unknown and counted; a row with no known score is dropped and counted. Every other fault names
the file, the line and the field.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.errors import YardError
from modelyard.route.features import Prompt

CATEGORY_FIELDS = ("category", "subject", "task_name", "task")
"""Row fields used, in this order, as the per-category (and leave-one-task-out) key."""
JUDGE_SCALE = (1.0, 10.0)
"""Scores above 1 and within this range are read as 1–10 judge grades (MT-Bench)."""
MAX_LINE_BYTES = 16 << 20
"""A longer line is refused: a label row is a prompt and a few numbers, not a data dump."""


class LabelError(YardError):
    """A label file cannot be read."""


@dataclass
class LabelSet:
    """Prompts with a quality score per model in [0, 1] (NaN: not known), and what each
    request cost where the file says."""

    ids: list[str]
    prompts: list[Prompt]
    categories: list[str]
    models: list[str]
    scores: np.ndarray
    """(rows, models) float array; higher is better; NaN where the file gave no score."""
    sha256: str
    """Hash of the source file's bytes (or of the combined sources)."""
    costs: np.ndarray | None = None
    """(rows, models) USD per request where the file gave it, NaN elsewhere; None: no costs."""
    input_tokens: np.ndarray | None = None
    """(rows,) prompt tokens where the file gave them, NaN elsewhere."""
    output_tokens: np.ndarray | None = None
    """(rows, models) answer tokens where the file gave them, NaN elsewhere."""
    responses: dict[str, list[str | None]] = field(default_factory=dict)
    """Per model with replies in the file: its reply per row (None where missing)."""
    lines: list[int] = field(default_factory=list)
    """The source line of each row, for error messages."""
    source: str = ""
    dropped: dict[str, int] = field(default_factory=dict)
    """What was skipped and how often: ``null score`` cells, ``contaminated`` rows..."""

    def __len__(self) -> int:
        return len(self.prompts)

    @property
    def texts(self) -> list[str]:
        """The user turn of every row."""
        return [p.user for p in self.prompts]

    def subset(self, index: Any) -> LabelSet:
        """The rows at ``index`` (same models, same hash)."""
        pick = [int(i) for i in index]
        return replace(
            self,
            ids=[self.ids[i] for i in pick],
            prompts=[self.prompts[i] for i in pick],
            categories=[self.categories[i] for i in pick],
            scores=self.scores[pick],
            costs=None if self.costs is None else self.costs[pick],
            input_tokens=None if self.input_tokens is None else self.input_tokens[pick],
            output_tokens=None if self.output_tokens is None else self.output_tokens[pick],
            responses={m: [r[i] for i in pick] for m, r in self.responses.items()},
            lines=[self.lines[i] for i in pick] if self.lines else [],
        )

    def select_models(self, models: list[str]) -> LabelSet:
        """The same rows with only ``models``, in that order; rows that then hold no known
        score are dropped (and counted).

        Raises:
            LabelError: a model has no labels in the file.
        """
        missing = [m for m in models if m not in self.models]
        if missing:
            raise LabelError(
                f"{self.source}: model {missing[0]!r} has no labels; "
                f"the data has: {', '.join(self.models)}"
            )
        cols = [self.models.index(m) for m in models]
        picked = replace(
            self,
            models=list(models),
            scores=self.scores[:, cols],
            costs=None if self.costs is None else self.costs[:, cols],
            output_tokens=None if self.output_tokens is None else self.output_tokens[:, cols],
            responses={m: r for m, r in self.responses.items() if m in models},
        )
        return picked.keep(~np.isnan(picked.scores).all(1), "no score for any chosen model")

    def complete(self) -> LabelSet:
        """The rows with a known score for every model (what evaluation needs); the others
        are dropped and counted."""
        return self.keep(~np.isnan(self.scores).any(1), "a chosen model's score unknown")

    def keep(self, mask: np.ndarray, why: str) -> LabelSet:
        """The rows where ``mask`` holds; the others counted under ``why``."""
        gone = int((~mask).sum())
        if not gone:
            return self
        out = self.subset(np.flatnonzero(mask))
        out.dropped = {**self.dropped, why: self.dropped.get(why, 0) + gone}
        return out


def concat(sets: list[LabelSet], sha: str, source: str) -> LabelSet:
    """The rows of several label sets in order, over the union of their models (NaN where a
    set has no score, cost or token count for a model); each set was scaled on its own."""
    models = sorted({m for s in sets for m in s.models})

    def widen(s: LabelSet, values: np.ndarray | None) -> np.ndarray:
        out = np.full((len(s), len(models)), np.nan)
        if values is not None:
            out[:, [models.index(m) for m in s.models]] = values
        return out

    def optional(name: str) -> np.ndarray | None:
        present = [getattr(s, name) is not None for s in sets]
        if not any(present):
            return None
        if name == "input_tokens":
            return np.concatenate([s.input_tokens if s.input_tokens is not None
                                   else np.full(len(s), np.nan) for s in sets])  # fmt: skip
        return np.vstack([widen(s, getattr(s, name)) for s in sets])

    replied = {m for s in sets for m in s.responses}
    dropped: Counter[str] = Counter()
    for s in sets:
        dropped.update(s.dropped)
    return LabelSet(
        ids=[i for s in sets for i in s.ids],
        prompts=[p for s in sets for p in s.prompts],
        categories=[c for s in sets for c in s.categories],
        models=models,
        scores=np.vstack([widen(s, s.scores) for s in sets]),
        sha256=sha,
        costs=optional("costs"),
        input_tokens=optional("input_tokens"),
        output_tokens=optional("output_tokens"),
        responses={
            m: [r for s in sets for r in s.responses.get(m, [None] * len(s))] for m in replied
        },
        lines=[n for s in sets for n in s.lines],
        source=source,
        dropped=dict(dropped),
    )


def read_labels(
    path: Path, keep_contaminated: bool = False, score_range: tuple[float, float] | None = None
) -> LabelSet:
    """Read a labels JSONL file (module docstring); rows marked ``contaminated`` are dropped
    unless asked.

    Raises:
        LabelError: the file is missing, or a line is not a valid row (file:line and field).
    """
    if not path.is_file():
        raise LabelError(f"{path}: no such label file; give a JSONL of id/prompt/labels rows")
    data = path.read_bytes()
    rows = [
        (n, parse_row(path, n, line)) for n, line in enumerate(data.splitlines(), 1) if line.strip()
    ]
    return from_rows(rows, hashlib.sha256(data).hexdigest(), str(path), keep_contaminated,
                     score_range)  # fmt: skip


def from_rows(
    rows: list[tuple[int, dict[str, Any]]],
    sha: str,
    source: str,
    keep_contaminated: bool = False,
    score_range: tuple[float, float] | None = None,
    category: str | None = None,
) -> LabelSet:
    """A LabelSet from parsed rows, each with its line number (module docstring); each row's
    category is its ``category`` field (default: the first of CATEGORY_FIELDS it has).

    Raises:
        LabelError: no usable row, a model with no score at all, or scores out of range.
    """
    dropped: Counter[str] = Counter()
    if not keep_contaminated:
        dropped["contaminated"] = sum(bool(r.get("contaminated")) for _, r in rows)
        rows = [(n, r) for n, r in rows if not r.get("contaminated")]
    models = sorted({m for _, r in rows for m in r["labels"]})
    scores = _matrix(rows, "labels", models)
    dropped["null score"] = int(sum(v is None for _, r in rows for v in r["labels"].values()))
    if not rows or np.isnan(scores).all():
        raise LabelError(f"{source}: no usable rows (every score null, or no rows)")
    scores = _scaled(scores, score_range, source, rows, models)
    labels = LabelSet(
        ids=[str(r.get("id", n)) for n, r in rows],
        prompts=[_prompt(r) for _, r in rows],
        categories=[_category(r, category) for _, r in rows],
        models=models,
        scores=scores,
        sha256=sha,
        costs=_optional(rows, "costs", models),
        input_tokens=_input_tokens(rows),
        output_tokens=_optional(rows, "output_tokens", models),
        responses=_responses(rows, models),
        lines=[n for n, _ in rows],
        source=source,
        dropped={k: v for k, v in dropped.items() if v},
    )
    return labels.keep(~np.isnan(labels.scores).all(1), "no known score")


def parse_row(path: Path | str, number: int, line: bytes) -> dict[str, Any]:
    """One label row, checked field by field.

    Raises:
        LabelError: ``path:number: field: problem``.
    """
    where = f"{path}:{number}"
    if len(line) > MAX_LINE_BYTES:
        raise LabelError(f"{where}: line of {len(line):,} bytes; at most {MAX_LINE_BYTES:,}")
    try:
        row = json.loads(line)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LabelError(f"{where}: not JSON ({exc})") from None
    if not isinstance(row, dict):
        raise LabelError(f"{where}: a row must be a JSON object, not {type(row).__name__}")
    _check_prompt(where, row)
    _check_numbers(where, row, "labels", required=True, nullable=True)
    _check_numbers(where, row, "costs", minimum=0.0)
    _check_numbers(where, row, "output_tokens", minimum=0.0)
    tokens = row.get("input_tokens")
    if tokens is not None and not (_is_number(tokens) and tokens >= 0):
        raise LabelError(f"{where}: input_tokens: {tokens!r} is not a count of tokens")
    replies = row.get("responses", {})
    if not isinstance(replies, dict) or not all(isinstance(v, str) for v in replies.values()):
        raise LabelError(f"{where}: responses: must be an object of model: reply text")
    return row


def _check_prompt(where: str, row: dict[str, Any]) -> None:
    prompt, messages = row.get("prompt"), row.get("messages")
    if prompt is None and messages is None:
        raise LabelError(f"{where}: prompt: missing (give a 'prompt' string or 'messages')")
    if prompt is not None and not isinstance(prompt, str):
        raise LabelError(f"{where}: prompt: must be a string, not {type(prompt).__name__}")
    if messages is not None and not (
        isinstance(messages, list) and all(isinstance(m, dict) for m in messages)
    ):
        raise LabelError(f"{where}: messages: must be a list of chat message objects")


def _check_numbers(
    where: str,
    row: dict[str, Any],
    name: str,
    required: bool = False,
    nullable: bool = False,
    minimum: float | None = None,
) -> None:
    """``row[name]`` is an object of model: finite number (or null, if ``nullable``)."""
    value = row.get(name)
    if value is None and not required:
        return
    if not isinstance(value, dict) or (required and not value):
        raise LabelError(f"{where}: {name}: must be a non-empty object of model: number")
    for model, v in value.items():
        if v is None and nullable:
            continue
        if not _is_number(v) or (minimum is not None and v < minimum):
            bound = f" at least {minimum:g}" if minimum is not None else ""
            raise LabelError(f"{where}: {name}.{model}: {v!r} is not a finite number{bound}")


def _is_number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _matrix(rows: list[tuple[int, dict[str, Any]]], name: str, models: list[str]) -> np.ndarray:
    """(rows, models) values of the ``name`` objects; NaN where absent or null."""
    column = {m: j for j, m in enumerate(models)}
    out = np.full((len(rows), len(models)), np.nan)
    for i, (_, row) in enumerate(rows):
        for model, value in (row.get(name) or {}).items():
            if value is not None and model in column:
                out[i, column[model]] = float(value)
    return out


def _optional(
    rows: list[tuple[int, dict[str, Any]]], name: str, models: list[str]
) -> np.ndarray | None:
    return _matrix(rows, name, models) if any(name in r for _, r in rows) else None


def _input_tokens(rows: list[tuple[int, dict[str, Any]]]) -> np.ndarray | None:
    if not any("input_tokens" in r for _, r in rows):
        return None
    return np.array([float(r.get("input_tokens", np.nan)) for _, r in rows])


def _scaled(
    scores: np.ndarray,
    score_range: tuple[float, float] | None,
    source: str,
    rows: list[tuple[int, dict[str, Any]]],
    models: list[str],
) -> np.ndarray:
    """Scores mapped onto [0, 1] (module docstring).

    Raises:
        LabelError: a score outside ``score_range``, or a range no rule recognises.
    """
    low, high = float(np.nanmin(scores)), float(np.nanmax(scores))
    if score_range is None:
        if low >= 0.0 and high <= 1.0:
            return scores
        if low >= JUDGE_SCALE[0] and high <= JUDGE_SCALE[1]:
            score_range = JUDGE_SCALE
        else:
            raise LabelError(
                f"{source}: scores run from {low:g} to {high:g}: neither [0, 1] nor 1–10 "
                f"judge grades; give the range (--score-range LOW,HIGH)"
            )
    lo, hi = score_range
    if hi <= lo:
        raise LabelError(f"score range {lo:g},{hi:g}: the high end must exceed the low end")
    outside = np.argwhere((scores < lo) | (scores > hi))
    if len(outside):
        i, j = outside[0]
        raise LabelError(
            f"{source}:{rows[i][0]}: labels.{models[j]}: {scores[i, j]:g} is outside the score "
            f"range {lo:g}–{hi:g}"
        )
    return (scores - lo) / (hi - lo)


def _prompt(row: dict[str, Any]) -> Prompt:
    if isinstance(row.get("messages"), list):
        return Prompt.of(row["messages"])
    return Prompt(row["prompt"])


def _responses(
    rows: list[tuple[int, dict[str, Any]]], models: list[str]
) -> dict[str, list[str | None]]:
    """The replies of each model that has a reply text in any row (None where it has none)."""
    replies = [r.get("responses") or {} for _, r in rows]
    return {m: [r.get(m) for r in replies] for m in models if any(m in r for r in replies)}


def _category(row: dict[str, Any], field: str | None) -> str:
    for name in (field,) if field else CATEGORY_FIELDS:
        if row.get(name):
            return str(row[name])
    return "all"


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
            row = parse_row(labels, number, line.encode())
            index = str(row.get("id", "")).rsplit(".", 1)[-1]
            source = replies[int(index)] if index.isdigit() and int(index) < len(replies) else {}
            if source.get("prompt") != row.get("prompt"):
                raise LabelError(f"{labels}:{number}: no row of {raw} holds this prompt")
            row["responses"] = {c.removesuffix("_response"): source[c] for c in columns}
            dst.write(json.dumps(row, ensure_ascii=False) + "\n")
    return out


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
    except (OSError, json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise LabelError(f"{path}: cannot read prices ({exc})") from None
    if not isinstance(raw, dict):
        raise LabelError(f"{path}: prices must be an object of model: prices")
    prices = {}
    for name, entry in raw.items():
        values = [entry.get(k) for k in ("input_price", "output_price")] if isinstance(
            entry, dict) else []  # fmt: skip
        numbers = [float(v) for v in values if isinstance(v, int | float) and _is_number(v)]
        numbers = [v for v in numbers if v >= 0]
        if len(numbers) != 2:
            raise LabelError(
                f"{path}: {name}: needs numeric input_price and output_price (USD per 1M tokens)"
            )
        prices[name] = Price(numbers[0], numbers[1])
    return prices
