"""Routing: send each request to the cheapest backend predicted to answer it well.

Python API::

    router = Router.load(Path("router.json"), candidates=["mixtral", "gpt-4"])
    backends = [Candidate("mixtral", local=True), Candidate("gpt-4", 10.0, 30.0)]
    decision = router.decide(messages, backends)
    decision.model, decision.reason, decision.estimates

Training and evaluation: ``train(...)`` and ``evaluate(...)`` in this module, behind
``yard route train`` and ``yard route eval``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from modelyard.errors import YardError
from modelyard.route import cascade
from modelyard.route.artifact import RouterArtifact, RouterFileError, save
from modelyard.route.calibrate import Target
from modelyard.route.cascade import ReplyScorer
from modelyard.route.datasets import LabelSet, Price, read_labels, read_prices
from modelyard.route.embed import static_embedder
from modelyard.route.evaluation import Evaluation, cross_validate
from modelyard.route.features import Featurizer
from modelyard.route.language import LanguageRule, LanguageRules, detect_language
from modelyard.route.privacy import Finding, find_private, private_kinds
from modelyard.route.router import Candidate, Decision, NoCandidateError, Router
from modelyard.route.training import featurize, fit, request_costs

__all__ = [
    "Candidate",
    "Decision",
    "Evaluation",
    "Finding",
    "LanguageRule",
    "LanguageRules",
    "NoCandidateError",
    "ReplyScorer",
    "Router",
    "RouterArtifact",
    "RouterFileError",
    "Target",
    "TrainSpec",
    "detect_language",
    "evaluate",
    "find_private",
    "private_kinds",
    "train",
]


DEFAULT_TARGET = Target("quality", 0.95)


@dataclass(frozen=True)
class TrainSpec:
    """What to train on: a label file, which models (cheapest first), optional prices."""

    data: Path
    models: tuple[str, ...] = ()
    """Candidates cheapest first; empty: every model in the file (needs prices to order them)."""
    prices: Path | None = None
    """LLMRouter-style default_llm.json with USD per 1M tokens."""
    target: Target = DEFAULT_TARGET
    limit: int | None = None
    """Use only the first ``limit`` rows (quick runs, tests)."""


def _prepare(spec: TrainSpec) -> tuple[LabelSet, list[Price] | None]:
    labels = read_labels(spec.data)
    prices = read_prices(spec.prices) if spec.prices else None
    models = list(spec.models)
    if not models:
        if prices is None and len(labels.models) > 2:
            raise YardError(
                f"{spec.data}: {len(labels.models)} models and no prices: give --models cheapest "
                f"first, or --prices default_llm.json"
            )
        models = sorted(labels.models, key=lambda m: _price_key(m, prices))
    if prices is not None:
        missing = [m for m in models if m not in prices]
        if missing:
            raise YardError(f"{spec.prices}: no price for {missing[0]!r}; add it or drop the model")
    labels = labels.select_models(models)
    if spec.limit:
        labels = labels.subset(np.arange(min(spec.limit, len(labels))))
    return labels, [prices[m] for m in models] if prices else None


def _price_key(model: str, prices: dict[str, Price] | None) -> tuple[float, str]:
    if prices is None or model not in prices:
        return (0.0, model)
    return (prices[model].input + prices[model].output, model)


def train(spec: TrainSpec, out: Path, featurizer: Featurizer | None = None) -> RouterArtifact:
    """Train a router on ``spec`` and write it to ``out``."""
    labels, prices = _prepare(spec)
    featurizer = featurizer or Featurizer(static_embedder())
    fold, tokens = featurize(labels, featurizer)
    costs = request_costs(tokens, prices, len(labels.models))
    trained = fit(fold, costs, spec.target)
    artifact = RouterArtifact(
        candidates=labels.models,
        quality=trained.quality,
        threshold=trained.threshold,
        data_sha256=labels.sha256,
        data_rows=len(labels),
        embedder=featurizer.embedder.name,
        target={"kind": spec.target.kind, "value": spec.target.value},
        prices=[{"input": p.input, "output": p.output} for p in prices] if prices else None,
        cascade=_scorers(labels, costs, spec.target),
    )
    save(artifact, out)
    return artifact


def _scorers(labels: LabelSet, costs: np.ndarray, target: Target) -> list[ReplyScorer]:
    """A reply scorer for each candidate but the dearest whose replies the labels carry, each
    calibrated as a cascade into the dearest candidate."""
    dear = len(labels.models) - 1
    scorers = []
    for j, model in enumerate(labels.models[:-1]):
        if model in labels.responses:
            scores = labels.scores[:, j], labels.scores[:, dear]
            replies = labels.responses[model]
            scorers.append(cascade.train(model, replies, *scores, costs[:, [j, dear]], target))
    return scorers


def evaluate(
    spec: TrainSpec,
    folds: int = 5,
    featurizer: Featurizer | None = None,
    progress: Callable[[str], None] | None = None,
    seed: int = 0,
) -> Evaluation:
    """Cross-validate the router and the baselines on ``spec``'s labels (``seed``: the split)."""
    if folds < 2:
        raise YardError(f"--folds {folds}: cross-validation needs at least 2 folds")
    labels, prices = _prepare(spec)
    featurizer = featurizer or Featurizer(static_embedder())
    fold, tokens = featurize(labels, featurizer)
    costs = request_costs(tokens, prices, len(labels.models))
    result = cross_validate(labels, fold, costs, folds, spec.target, progress, seed)
    result.data["path"] = str(spec.data)
    result.data["cost_unit"] = "USD per request" if prices else "calls to the dearer model"
    return result
