"""Cross-validated evaluation of the router and its baselines on one label set.

Every fold trains each predictor on the other folds and scores the held-out prompts. Two
candidates: RouteLLM's metrics per fold (APGR, CPT, share of strong calls at 95% of the strong
model's quality) against random, oracle, always-cheap and always-strong. More candidates: the
cost at 95% of the best single model's quality against the best single model and the cheapest
single model that reaches it. Both also report the calibrated threshold's real outcome (chosen
on the training folds only) and a per-category breakdown of the pooled held-out predictions.
When the label file carries the cheap model's replies (two candidates), the cascade is scored
too: the cheap model answers every prompt and its reply scorer (route/cascade.py) decides which
to send on to the strong model; its "calls" are the escalations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from modelyard.route import cascade, metrics
from modelyard.route.baselines import PREDICTORS, Fold
from modelyard.route.calibrate import Target, operating_point, sweep
from modelyard.route.datasets import LabelSet
from modelyard.route.training import _take, fit, fold_ids

CURVE_POINTS = 101
CASCADE_NOTE = (
    "cascade: the cheap model answers every prompt and its reply scorer sends the doubtful "
    "replies on; its calls are those escalations, paid on top of a cheap call for every prompt"
)


@dataclass
class Evaluation:
    """Everything `yard route eval` reports; JSON-ready through ``to_json``."""

    data: dict[str, Any]
    folds: dict[str, list[dict[str, Any]]]
    """Per method, one metrics dict per fold."""
    spread: dict[str, dict[str, dict[str, float]]]
    """Per method and metric: mean, std, min, max over folds."""
    calibrated: list[dict[str, float]]
    categories: dict[str, dict[str, Any]]
    curves: dict[str, list[list[float]]]
    """Per method: pooled held-out [cost or calls, quality] points for the plot."""
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def cross_validate(
    labels: LabelSet,
    fold: Fold,
    costs: np.ndarray,
    folds: int = 5,
    target: Target | None = None,
    progress: Callable[[str], None] | None = None,
    seed: int = 0,
) -> Evaluation:
    """Run ``folds``-fold cross-validation of every predictor in baselines.PREDICTORS.

    ``seed`` shuffles the rows into folds: another seed, another split of the same data.
    """
    target = target or Target("quality", metrics.QUALITY_TARGET)
    ids = fold_ids(len(labels), folds, seed)
    replies = labels.responses.get(labels.models[0]) if len(labels.models) == 2 else None
    pooled = {name: np.zeros_like(fold.y, dtype=float) for name in PREDICTORS}
    per_fold: dict[str, list[dict[str, Any]]] = {}
    calibrated = []
    for k in range(folds):
        train, test = _take(fold, ids != k), _take(fold, ids == k)
        for name, predictor in PREDICTORS.items():
            if progress:
                progress(f"fold {k + 1}/{folds}: {name}")
            predicted = predictor(train, test)
            pooled[name][ids == k] = predicted
            per_fold.setdefault(name, []).append(_fold_metrics(predicted, test.y, costs[ids == k]))
        for name, row in _reference_metrics(test.y, costs[ids == k]).items():
            per_fold.setdefault(name, []).append(row)
        calibrated.append(_calibrated(train, test, costs[ids != k], costs[ids == k], target))
        if replies is not None:
            pooled.setdefault("cascade", np.zeros_like(fold.y, dtype=float))
            row, pooled["cascade"][ids == k] = _cascade(
                labels.models[0], replies, fold.y, costs, ids != k, ids == k, target
            )
            per_fold.setdefault("cascade", []).append(row)
    return Evaluation(
        {
            "rows": len(labels),
            "models": labels.models,
            "sha256": labels.sha256,
            "folds": folds,
            "seed": seed,
        },
        per_fold,
        {name: _spread(rows) for name, rows in per_fold.items()},
        calibrated,
        _categories(labels, pooled["router"], costs),
        _curves(pooled, fold.y, costs),
        [CASCADE_NOTE] if replies is not None else [],
    )


def _fold_metrics(predicted: np.ndarray, y: np.ndarray, costs: np.ndarray) -> dict[str, Any]:
    if y.shape[1] == 2:
        s = metrics.summarize(metrics.curve(predicted[:, 1] - predicted[:, 0], y[:, 1], y[:, 0]))
        return _flat(s)
    points = [p for _, p in sweep(predicted, y, costs)]
    goal = metrics.QUALITY_TARGET * float(y.mean(0).max())
    hit = metrics.cheapest_reaching(points, goal)
    return {"cost_at_95": hit.cost if hit else None, "max_quality": max(p.quality for p in points)}


def _flat(s: metrics.Summary) -> dict[str, Any]:
    row = {"apgr": s.apgr, "calls_at_95": s.calls_at_95}
    row.update({f"cpt_{k.rstrip('%')}": v for k, v in s.cpt.items()})
    return row


def _reference_metrics(y: np.ndarray, costs: np.ndarray) -> dict[str, dict[str, Any]]:
    if y.shape[1] == 2:
        return {
            "random": _flat(metrics.summarize(metrics.random_curve(y[:, 1], y[:, 0]))),
            "oracle": _flat(metrics.summarize(metrics.oracle_curve(y[:, 1], y[:, 0]))),
        }
    singles = metrics.single_models(y, costs)
    best = max(range(len(singles)), key=lambda j: singles[j].quality)
    goal = metrics.QUALITY_TARGET * singles[best].quality
    reaching = [j for j, p in enumerate(singles) if p.quality >= goal - 1e-12]
    cheapest = min(reaching, key=lambda j: singles[j].cost)
    oracle = metrics.oracle_point(y, costs)
    return {
        "best_single": {
            "cost_at_95": singles[best].cost,
            "quality": singles[best].quality,
            "model": best,
        },
        "cheapest_single_at_95": {"cost_at_95": singles[cheapest].cost, "model": cheapest},
        "oracle": {"cost_at_95": oracle.cost, "quality": oracle.quality},
    }


def _calibrated(
    train: Fold, test: Fold, train_costs: np.ndarray, test_costs: np.ndarray, target: Target
) -> dict[str, float]:
    """The threshold chosen on the training folds, and what it really gives on the test fold."""
    trained = fit(train, train_costs, target)
    predicted = trained.quality.predict(test.x, test.texts)
    point = operating_point(predicted, test.y, test_costs, trained.threshold)
    best = float(test.y.mean(0).max())
    return {
        "threshold": trained.threshold,
        "cost": point.cost,
        "quality": point.quality,
        "quality_share_of_best": point.quality / best,
    }


def _cascade(
    model: str, replies: list[str], y: np.ndarray, costs: np.ndarray, train: np.ndarray,
    test: np.ndarray, target: Target,
) -> tuple[dict[str, Any], np.ndarray]:  # fmt: skip
    """The cascade's metrics on the test rows, with its scorer trained and calibrated on the
    training rows; and its predictions in the pooled layout (cheap reply right, its complement)."""
    pick = np.flatnonzero(train)
    scorer = cascade.train(
        model, [replies[i] for i in pick], y[train, 0], y[train, 1], costs[train], target
    )
    right = scorer.probabilities(cascade.features([replies[i] for i in np.flatnonzero(test)]))
    yt = y[test]
    row = _flat(metrics.summarize(metrics.curve(-right, yt[:, 1], yt[:, 0])))
    point = cascade.outcome(right, scorer.threshold, yt[:, 0], yt[:, 1], costs[test])
    row["calibrated_cost"] = point.cost
    row["calibrated_quality_share"] = point.quality / float(yt.mean(0).max())
    return row, np.stack([right, 1 - right], 1)


def _spread(rows: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    out = {}
    for key in rows[0]:
        values = [r[key] for r in rows if isinstance(r.get(key), int | float)]
        if values and key != "model":
            arr = np.array(values, dtype=float)
            out[key] = {"mean": arr.mean(), "std": arr.std(), "min": arr.min(), "max": arr.max()}
    return out


def _categories(
    labels: LabelSet, predicted: np.ndarray, costs: np.ndarray
) -> dict[str, dict[str, Any]]:
    cats = np.array(labels.categories)
    out = {}
    for cat in sorted(set(labels.categories)):
        mask = cats == cat
        y = labels.scores[mask]
        row: dict[str, Any] = {"n": int(mask.sum()), "quality": y.mean(0).round(4).tolist()}
        row.update(_fold_metrics(predicted[mask], y, costs[mask]))
        out[cat] = row
    return out


def _curves(
    pooled: dict[str, np.ndarray], y: np.ndarray, costs: np.ndarray
) -> dict[str, list[list[float]]]:
    if y.shape[1] == 2:
        curves = {
            name: metrics.curve(p[:, 1] - p[:, 0], y[:, 1], y[:, 0]) for name, p in pooled.items()
        }
        curves["random"] = metrics.random_curve(y[:, 1], y[:, 0])
        curves["oracle"] = metrics.oracle_curve(y[:, 1], y[:, 0])
        pick = np.linspace(0, len(y), CURVE_POINTS).round().astype(int)
        return {
            n: np.stack([c.calls[pick], c.quality[pick]], 1).round(5).tolist()
            for n, c in curves.items()
        }
    return {
        name: sorted([[p.cost, p.quality] for _, p in sweep(p, y, costs)])
        for name, p in pooled.items()
    }
