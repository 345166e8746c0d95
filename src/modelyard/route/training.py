"""Training a router from labels: features, quality model, calibrated threshold.

Costs per request: with prices (USD per 1M tokens), a request costs
``prompt_tokens × input + OUTPUT_TOKENS × output`` (prompt tokens counted with the embedder's
WordPiece tokenizer; the labelled files hold no output lengths, so every answer is assumed to be
OUTPUT_TOKENS long). Without prices, candidates are taken as listed, cheapest first, and cost is
counted in calls: 0 for the first, 1 for the second, … so with two models "cost" is the share
of calls to the strong model, RouteLLM's cost measure.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from modelyard.route.baselines import Fold
from modelyard.route.calibrate import Target, calibrate
from modelyard.route.datasets import LabelSet, Price
from modelyard.route.features import Featurizer
from modelyard.route.quality import QualityModel, fit_stacked

OUTPUT_TOKENS = 256
"""Assumed answer length when turning $/1M-token prices into $ per request."""


def request_costs(tokens: np.ndarray, prices: list[Price] | None, n_models: int) -> np.ndarray:
    """(n, m) cost of sending each prompt to each candidate (see the module docstring)."""
    if prices is None:
        return np.tile(np.arange(n_models, dtype=float), (len(tokens), 1))
    inp = np.array([p.input for p in prices])
    out = np.array([p.output for p in prices])
    return (tokens[:, None] * inp + OUTPUT_TOKENS * out) / 1e6


def fold_ids(n: int, folds: int, seed: int = 0) -> np.ndarray:
    """A fold number per row, shuffled reproducibly."""
    return np.random.default_rng(seed).permutation(n) % folds


def _take(fold: Fold, mask: np.ndarray) -> Fold:
    return Fold(
        [t for t, keep in zip(fold.texts, mask, strict=True) if keep], fold.x[mask], fold.y[mask]
    )


@dataclass
class Trained:
    """What training produces: the fitted model and the calibrated threshold."""

    quality: QualityModel
    threshold: float


def fit(fold: Fold, costs: np.ndarray, target: Target) -> Trained:
    """Fit the quality model on every row; calibrate the threshold on its out-of-fold predictions.

    Those are the blended predictions for each row from base predictors that did not see it
    (quality.fit_stacked); the blender's few weights did see them, a negligible optimism.
    """
    quality, held_out = fit_stacked(fold.x, fold.y, fold.texts)
    return Trained(quality, calibrate(held_out, fold.y, costs, target))


def featurize(labels: LabelSet, featurizer: Featurizer) -> tuple[Fold, np.ndarray]:
    """The labelled rows as a Fold, and each prompt's token count."""
    x, tokens = featurizer.many(labels.prompts)
    return Fold(labels.prompts, x, labels.scores), tokens
