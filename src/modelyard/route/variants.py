"""Candidate changes to the router, measured beside it by `yard route eval` (issue 22, second
pass): each is built from the router's own predictions, every choice nested in the training
rows (the inner folds' out-of-fold predictions, which with four tasks or more hold whole
tasks, route/folds.py), and played like any learned method (route/holdout.py).

- ``router-shrunk``: each prediction pulled toward the candidate's mean label on the training
  rows, ``w × prompt + (1 − w) × mean``, the weight ``w`` (of W_GRID) the one whose
  out-of-fold cost–quality curve has the largest area on the training rows; each out-of-fold
  row is pulled toward the mean of the *other* inner folds. Per-task model strength carried
  across tasks better than per-prompt predictions in the first pass's measurements.
- ``router-robust``: the router's predictions with a threshold every training task can live
  with: for each task, the cheapest threshold at which its out-of-fold rows reach the target
  share of the reference model's quality there (the model best on all training rows), and of
  those the one that spends most (the worst task's); a new task's difficulty is then within
  the range calibrated for more often. Budget targets keep the router's threshold.
- ``router-or-mix``: the router where its out-of-fold curve area on the training rows beats
  the random mix's (from the training means), else the random mix itself: a ranking no better
  than chance on tasks it did not see is not trusted on a new one.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from modelyard.route.calibrate import Target, sweep
from modelyard.route.folds import inner_folds
from modelyard.route.metrics import area
from modelyard.route.quality import STACK_FOLDS, STACK_SEED, known_mean

VARIANTS = ("router-shrunk", "router-robust", "router-or-mix")
"""The candidates' method names, as `yard route eval` reports them."""
W_GRID = (0.0, 0.25, 0.5, 0.75, 1.0)
Predictions = tuple[np.ndarray, np.ndarray]


def curve_area(predicted: np.ndarray, y: np.ndarray, costs: np.ndarray) -> float:
    """The area under the cost–quality curve of the routing rule on ``predicted``, between the
    cheapest and the best single model's mean cost (metrics.area) on these rows."""
    points = [p for _, p in sweep(predicted, y, costs)]
    means = costs.mean(0)
    best = int(np.argmax(y.mean(0)))
    return area(np.array([p.cost for p in points]), np.array([p.quality for p in points]),
                float(means.min()), float(means[best]))  # fmt: skip


def fold_means(y: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """Per training row, each candidate's mean known label over the other inner folds (the
    folds the router's out-of-fold predictions were made in)."""
    fold = inner_folds(len(y), STACK_FOLDS, groups, STACK_SEED)
    out = np.zeros(y.shape)
    for k in np.unique(fold):
        out[fold == k] = known_mean(y[fold != k])
    return out


def shrink_weight(held_out: np.ndarray, prior: np.ndarray, y: np.ndarray,
                  costs: np.ndarray) -> float:  # fmt: skip
    """The weight of W_GRID whose shrunk out-of-fold predictions route best on the training
    rows (largest curve area; ties: the larger weight)."""
    areas = [(curve_area(w * held_out + (1 - w) * prior, y, costs), w) for w in W_GRID]
    finite = [(a, w) for a, w in areas if np.isfinite(a)]
    return max(finite)[1] if finite else 1.0


def shrunk(router: Predictions, y: np.ndarray, costs: np.ndarray,
           groups: np.ndarray | None) -> tuple[Predictions, float]:  # fmt: skip
    """``router-shrunk``'s (test, out-of-fold) predictions and its weight (module docstring).

    ``y`` and ``costs`` are the training rows'; NaN labels are left out of the means and of the
    rows the weight is chosen on."""
    predicted, held_out = router
    prior = fold_means(y, groups)
    known = ~np.isnan(y).any(1)
    w = shrink_weight(held_out[known], prior[known], y[known], costs[known])
    mean = known_mean(y)
    return (w * predicted + (1 - w) * mean, w * held_out + (1 - w) * prior), w


def router_beats_mix(held_out: np.ndarray, y: np.ndarray, costs: np.ndarray,
                     mix_area: Callable[[np.ndarray, np.ndarray], float]) -> bool:  # fmt: skip
    """Whether the router's out-of-fold curve has a larger area than the random mix's on the
    training rows (complete rows only)."""
    known = ~np.isnan(y).any(1)
    ours = curve_area(held_out[known], y[known], costs[known])
    return bool(np.isfinite(ours) and ours > mix_area(y[known], costs[known]))


def robust_threshold(
    held_out: np.ndarray,
    y: np.ndarray,
    costs: np.ndarray,
    groups: np.ndarray | None,
    target: Target,
    fallback: float,
) -> float:
    """``router-robust``'s threshold for a quality target (module docstring); ``fallback``
    (the router's own) for a budget target or rows without tasks. Complete rows only."""
    known = ~np.isnan(y).any(1)
    if target.kind != "quality" or groups is None:
        return fallback
    reference = int(np.argmax(y[known].mean(0)))
    taus = []
    for task in np.unique(groups[known]):
        rows = known & (groups == task)
        goal = target.value * float(y[rows, reference].mean())
        reach = [(p.cost, -t) for t, p in sweep(held_out[rows], y[rows], costs[rows])
                 if p.quality >= goal - 1e-12]  # fmt: skip
        taus.append(-min(reach)[1] if reach else 0.0)
    return min(taus)
