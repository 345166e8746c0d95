"""Training a router from labels: features, quality model, calibrated threshold.

Cost of a request, per cell: the label file's own cost for that prompt and model when it has
one; else, with prices (USD per 1M tokens), ``input × input price + output × output price``,
where input is the file's ``input_tokens`` or the prompt's counted tokens and output the file's
``output_tokens`` for that model or OUTPUT_TOKENS (the label files seldom hold answer lengths);
with neither anywhere, candidates are taken as listed, cheapest first, and cost is counted in
calls: 0 for the first, 1 for the second, … so with two models "cost" is the share of calls to
the strong model, RouteLLM's cost measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelyard.route.calibrate import Target, calibrate
from modelyard.route.datasets import LabelError, LabelSet, Price
from modelyard.route.decision import OUTPUT_TOKENS
from modelyard.route.features import STATS, Featurizer
from modelyard.route.folds import task_groups
from modelyard.route.prefixes import PrefixTable
from modelyard.route.quality import QualityModel, fit_stacked


@dataclass
class Fold:
    """The rows of one side of a split: user turns, features (embedding then STATS), n-gram
    buckets and labels (NaN where unknown)."""

    texts: list[str]
    x: np.ndarray
    grams: list[np.ndarray]
    y: np.ndarray
    groups: np.ndarray | None = None
    """Each row's task, when the labels name tasks (route/folds.py)."""

    @property
    def embedding(self) -> np.ndarray:
        return self.x[:, : -len(STATS)]

    def take(self, mask: np.ndarray) -> Fold:
        """The rows where ``mask`` holds."""
        index = np.flatnonzero(mask)
        groups = None if self.groups is None else self.groups[index]
        return Fold([self.texts[i] for i in index], self.x[index],
                    [self.grams[i] for i in index], self.y[index], groups)  # fmt: skip


def request_costs(labels: LabelSet, prices: list[Price] | None, tokens: np.ndarray) -> np.ndarray:
    """(n, m) cost of sending each prompt to each candidate (module docstring).

    Raises:
        LabelError: a cell has neither a cost in the file nor a price to compute one.
    """
    n, m = labels.scores.shape
    given = labels.costs if labels.costs is not None else np.full((n, m), np.nan)
    if prices is None and np.isnan(given).all():
        return np.tile(np.arange(m, dtype=float), (n, 1))
    if prices is not None:
        inp = _filled(labels.input_tokens, tokens.astype(float))
        out = _filled(labels.output_tokens, np.full((n, m), float(OUTPUT_TOKENS)))
        rate_in = np.array([p.input for p in prices])
        rate_out = np.array([p.output for p in prices])
        given = np.where(np.isnan(given), (inp[:, None] * rate_in + out * rate_out) / 1e6, given)
    gaps = np.argwhere(np.isnan(given))
    if len(gaps):
        i, j = gaps[0]
        line = labels.lines[i] if labels.lines else i + 1
        raise LabelError(
            f"{labels.source}:{line}: costs.{labels.models[j]}: no cost for this request and no "
            f"price for the model; give costs in every row or prices (--prices)"
        )
    return given


def _filled(values: np.ndarray | None, default: np.ndarray) -> np.ndarray:
    return default if values is None else np.where(np.isnan(values), default, values)


@dataclass
class Trained:
    """What training produces: the fitted model and the calibrated threshold."""

    quality: QualityModel
    threshold: float


def fit(fold: Fold, costs: np.ndarray, target: Target) -> Trained:
    """Fit the quality model on every row; calibrate the threshold on its out-of-fold
    predictions, over the rows with every candidate's score known.

    Those are the blended predictions for each row from base predictors that did not see it
    (quality.fit_stacked); the blender's few weights did see them, a negligible optimism.
    """
    quality, held_out = fit_stacked(fold.x, fold.y, fold.grams, fold.groups)
    complete = ~np.isnan(fold.y).any(1)
    if not complete.any():
        raise LabelError(
            "no prompt has a score for every candidate: the threshold cannot be calibrated; "
            "label some prompts for every model (yard eval --labels on logged prompts)"
        )
    threshold = calibrate(held_out[complete], fold.y[complete], costs[complete], target)
    return Trained(quality, threshold)


def featurizer_for(labels: LabelSet, featurizer: Featurizer) -> Featurizer:
    """``featurizer`` reading past the prefixes ``labels``' user turns share."""
    embedder = featurizer.embedder
    table = PrefixTable.fit(labels.texts, lambda text: len(embedder.token_ids(text)))
    return featurizer.with_prefixes(table)


def featurize(labels: LabelSet, featurizer: Featurizer) -> tuple[Fold, np.ndarray]:
    """The labelled rows as a Fold, and each user turn's tokens."""
    rows = featurizer.many(labels.prompts)
    fold = Fold(labels.texts, rows.x, rows.grams, labels.scores, task_groups(labels.categories))
    return fold, rows.tokens
