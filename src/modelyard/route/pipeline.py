"""What `yard route train` and `yard route eval` run: label files in, a router file or an
evaluation out."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from modelyard.errors import YardError
from modelyard.route import cascade
from modelyard.route.artifact import RouterArtifact, load, save
from modelyard.route.calibrate import Target
from modelyard.route.cascade import ReplyScorer
from modelyard.route.datasets import (
    LabelSet,
    Price,
    concat,
    from_rows,
    parse_row,
    read_prices,
)
from modelyard.route.embed import static_embedder
from modelyard.route.evaluation import (
    Evaluation,
    cross_validate,
    leave_one_task_out,
    split_eval,
)
from modelyard.route.features import Featurizer
from modelyard.route.training import featurize, featurizer_for, fit, request_costs

DEFAULT_TARGET = Target("quality", 0.95)
Progress = Callable[[str], None]


@dataclass(frozen=True)
class TrainSpec:
    """What to train on: label files, which models (cheapest first), optional prices."""

    data: Path | tuple[Path, ...]
    models: tuple[str, ...] = ()
    """Candidates cheapest first; empty: every model in the files, ordered by price or cost."""
    prices: Path | None = None
    """LLMRouter-style default_llm.json with USD per 1M tokens."""
    target: Target = DEFAULT_TARGET
    limit: int | None = None
    """Use only the first ``limit`` rows (quick runs, tests)."""
    score_range: tuple[float, float] | None = None
    """The scores' scale, when it is neither [0, 1] nor 1–10."""
    by: str | None = None
    """Row field naming each prompt's task; ``file``: the file it came from."""

    @property
    def paths(self) -> tuple[Path, ...]:
        return self.data if isinstance(self.data, tuple) else (self.data,)


@dataclass
class Prepared:
    """Labels of the chosen models, their prices and the featurizer that reads them."""

    labels: LabelSet
    prices: list[Price] | None
    featurizer: Featurizer
    notes: list[str] = field(default_factory=list)


def load_labels(spec: TrainSpec, paths: Sequence[Path] | None = None) -> LabelSet:
    """The rows of every label file, in order, each file's scores scaled on their own (each
    row's category from ``spec.by``; ``file``: the file's name)."""
    files = list(paths or spec.paths)
    sets = [_read(spec, path) for path in files]
    if len(sets) == 1:
        return sets[0]
    digest = hashlib.sha256("".join(s.sha256 for s in sets).encode()).hexdigest()
    return concat(sets, digest, ", ".join(str(p) for p in files))


def _read(spec: TrainSpec, path: Path) -> LabelSet:
    if not path.is_file():
        raise YardError(f"{path}: no such label file; give a JSONL of id/prompt/labels rows")
    data = path.read_bytes()
    rows = []
    for number, line in enumerate(data.splitlines(), 1):
        if line.strip():
            row = parse_row(path, number, line)
            if spec.by == "file":
                row["task"] = path.stem
            rows.append((number, row))
    by = "task" if spec.by == "file" else spec.by
    sha = hashlib.sha256(data).hexdigest()
    return from_rows(rows, sha, str(path), score_range=spec.score_range, category=by)


def order_models(spec: TrainSpec, labels: LabelSet, prices: dict[str, Price] | None) -> list[str]:
    """The candidates, cheapest first: as given; else by price or by the rows' mean cost.

    Raises:
        YardError: several models and nothing that tells which is cheaper.
    """
    if spec.models:
        return list(spec.models)
    if len(labels.models) == 1:
        return list(labels.models)
    if prices is not None:
        missing = [m for m in labels.models if m not in prices]
        if missing:
            raise YardError(f"{spec.prices}: no price for {missing[0]!r}; add it or give --models")
        return sorted(labels.models, key=lambda m: (prices[m].input + prices[m].output, m))
    if labels.costs is not None and not np.isnan(labels.costs).all(0).any():
        means = np.nanmean(labels.costs, 0)
        return [labels.models[j] for j in np.argsort(means, kind="stable")]
    raise YardError(
        f"{labels.source}: {len(labels.models)} models and nothing to order them by: give "
        f"--models cheapest first (or --weak and --strong), --prices, or costs in the rows"
    )


def prepare(spec: TrainSpec, featurizer: Featurizer | None = None) -> Prepared:
    """The labels of the chosen models (first ``limit`` rows), their prices, a featurizer."""
    labels = load_labels(spec)
    price_table = read_prices(spec.prices) if spec.prices else None
    models = order_models(spec, labels, price_table)
    labels = labels.select_models(models)
    if spec.limit:
        labels = labels.subset(range(min(spec.limit, len(labels))))
    prices = None
    if price_table is not None:
        prices = [price_table.get(m, Price(float("nan"), float("nan"))) for m in models]
    return Prepared(labels, prices, featurizer or Featurizer(static_embedder()))


def train(spec: TrainSpec, out: Path, featurizer: Featurizer | None = None) -> RouterArtifact:
    """Train a router on ``spec`` and write it to ``out``."""
    ready = prepare(spec, featurizer)
    labels = ready.labels
    reader = featurizer_for(labels, ready.featurizer)
    fold, tokens = featurize(labels, reader)
    costs = request_costs(labels, ready.prices, tokens)
    trained = fit(fold, costs, spec.target)
    artifact = RouterArtifact(
        candidates=labels.models,
        quality=trained.quality,
        threshold=trained.threshold,
        data_sha256=labels.sha256,
        data_rows=len(labels),
        embedder=reader.embedder.name,
        target={"kind": spec.target.kind, "value": spec.target.value},
        prices=[{"input": p.input, "output": p.output} for p in ready.prices]
        if ready.prices
        else None,
        cascade=scorers(labels, costs, spec.target),
        prefixes=reader.prefixes,
        dropped=labels.dropped,
    )
    save(artifact, out)
    return artifact


def scorers(labels: LabelSet, costs: np.ndarray, target: Target) -> list[ReplyScorer]:
    """A reply scorer for each candidate but the dearest whose replies the labels carry, each
    calibrated as a cascade into the dearest candidate, on the rows with both scores and the
    reply."""
    dear = len(labels.models) - 1
    out = []
    for j, model in enumerate(labels.models[:-1]):
        replies = labels.responses.get(model)
        if replies is None:
            continue
        rows = [
            i for i, r in enumerate(replies)
            if r is not None and not np.isnan(labels.scores[i, [j, dear]]).any()
        ]  # fmt: skip
        if rows:
            y = labels.scores[rows]
            texts = [replies[i] or "" for i in rows]
            out.append(cascade.train(model, texts, y[:, j], y[:, dear], costs[rows][:, [j, dear]],
                                     target))  # fmt: skip
    return out


@dataclass(frozen=True)
class EvalSpec:
    """How to evaluate: on a test file, by leaving each task out, or by cross-validation."""

    train: TrainSpec
    test: tuple[Path, ...] = ()
    """Test label files; empty: split the training labels instead."""
    tasks: bool = False
    """Leave one task out (the task: ``train.by``, else the rows' category field)."""
    folds: int = 5
    seed: int = 0
    """How the rows are shuffled into folds, and the bootstrap's resamples."""
    deployed: Path | None = None
    """The router file in service, compared with the one trained here."""


def evaluate(
    spec: EvalSpec, featurizer: Featurizer | None = None, progress: Progress | None = None
) -> Evaluation:
    """Evaluate the router against its baselines as ``spec`` says (route/evaluation.py)."""
    ready = prepare(spec.train, featurizer)
    labels, prices, reader = ready.labels, ready.prices, ready.featurizer
    deployed = load(spec.deployed, labels.models) if spec.deployed else None
    if spec.test:
        test = load_labels(spec.train, spec.test).select_models(labels.models)
        result = split_eval(labels, test, prices, reader, progress, spec.seed, deployed)
    elif spec.tasks:
        result = leave_one_task_out(labels, prices, reader, progress, spec.seed, deployed)
    else:
        result = cross_validate(labels, prices, reader, spec.folds, progress, spec.seed,
                                deployed)  # fmt: skip
    has_costs = prices is not None or labels.costs is not None
    result.data["cost_unit"] = "USD per request" if has_costs else "calls to the dearer model"
    return result
