"""One train/test split: every method fitted and calibrated on the training rows only, then
played on the test rows.

A method's *outcome* on the test rows is, per row, the expected cost and quality of what it
sends there (a random mix sends a share of each row to each of two models). Each is played at
every target of TARGETS, its threshold (or mix, or model) chosen on the training rows:

- ``q95`` / ``q90``: reach 95% / 90% of the best single model's mean quality (the model best
  on the training rows: what sending everything to one model would give), as cheaply as
  possible;
- ``cheapest``: the best quality for at most the cheapest single model's mean cost.

Learned methods (baselines.PREDICTORS) also get a *grid*: their outcome at GRID thresholds
spread over the quantiles of their test predictions, the cost–quality curve the area and the
RouteLLM-style figures are read from. Baselines without predictions: ``best_single`` (the model
best on the training rows), ``cheapest_single`` (the cheapest model meeting the target there),
``random_mix`` (the cheapest mix of two models meeting it there, by their training means) and,
for reference only, ``oracle`` (each row to the cheapest model that scores best on it).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from modelyard.route import cascade
from modelyard.route.baselines import PREDICTORS, Predictions
from modelyard.route.calibrate import Target, calibrate, choose
from modelyard.route.metrics import CostPoint
from modelyard.route.training import Fold

GRID = 101
QUALITY_TARGETS = {"q95": 0.95, "q90": 0.90}
TARGETS = (*QUALITY_TARGETS, "cheapest")
CASCADE_ROWS = 50
"""Training rows with the cheap model's reply needed to fit a cascade's reply scorer."""


@dataclass
class Outcome:
    """Per test row (or, on a grid, per threshold and row): expected cost and quality."""

    cost: np.ndarray
    quality: np.ndarray


@dataclass
class Played:
    """One method on the test rows."""

    name: str
    at: dict[str, Outcome]
    """Per target: the outcome with the threshold, model or mix chosen on the training rows."""
    chosen: dict[str, Any]
    """Per target: what was chosen (threshold, model, mix), for the report."""
    grid: Outcome | None = None
    """(GRID, rows) outcomes over thresholds: the method's cost–quality curve."""
    predicted: np.ndarray | None = None
    """(rows, candidates) test predictions of a learned method."""
    targets: tuple[str, ...] = TARGETS
    """The targets at which the router is compared with it."""


@dataclass
class Split:
    """What one split gives: the test rows' labels and costs, and every method played."""

    y: np.ndarray
    costs: np.ndarray
    methods: dict[str, Played]
    targets: dict[str, Target]
    reference: int
    """The best single model on the training rows: the quality a share is of."""
    notes: list[str] = field(default_factory=list)


@dataclass
class Side:
    """One side of a split: its features and labels, and each row's cost per candidate."""

    fold: Fold
    costs: np.ndarray
    replies: list[str | None] | None = None
    """The cheapest candidate's replies (for the cascade), when the labels carry them."""
    deployed: Deployed | None = None
    """A router file's predictions for these rows (test side only)."""


@dataclass(frozen=True)
class Deployed:
    """The router in service: its predictions for the test rows and its own threshold, which
    was calibrated for one target (``target``), so it is compared there only."""

    predicted: np.ndarray
    threshold: float
    target: str


def targets(train: Side) -> dict[str, Target]:
    """TARGETS as calibration targets on the training rows."""
    cheapest = float(np.min(train.costs.mean(0)))
    out = {name: Target("quality", share) for name, share in QUALITY_TARGETS.items()}
    out["cheapest"] = Target("cost", cheapest * 1000)
    return out


def play(train: Side, test: Side, progress: Callable[[str], None] | None = None) -> Split:
    """Fit and calibrate every method on ``train``; play each on ``test`` (complete rows).

    ``train`` may hold unknown (NaN) labels: fits skip them; thresholds are calibrated on the
    rows whose every label is known.
    """
    goals = targets(train)
    known = ~np.isnan(train.fold.y).any(1)
    methods: dict[str, Played] = {}
    for name, predictor in PREDICTORS.items():
        if progress:
            progress(name)
        methods[name] = _learned(name, predictor(train.fold, test.fold), train, test, known, goals)
    singles = train.fold.y[known], train.costs[known]
    methods["best_single"] = _best_single(*singles, test)
    methods["cheapest_single"] = _cheapest_single(*singles, test, goals)
    methods["random_mix"] = _random_mix(*singles, test, goals)
    methods["oracle"] = _oracle(test)
    if test.deployed is not None:
        methods["deployed"] = _deployed(test.deployed, test)
    split = Split(test.fold.y, test.costs, methods, goals, int(np.argmax(singles[0].mean(0))))
    if _has_replies(train, test):
        methods["cascade"] = _cascade(train, test, goals)
        split.notes.append(cascade.NOTE)
    return split


def _learned(
    name: str,
    predictions: Predictions,
    train: Side,
    test: Side,
    known: np.ndarray,
    goals: dict[str, Target],
) -> Played:
    predicted, held_out = predictions
    y, costs = train.fold.y[known], train.costs[known]
    chosen = {t: calibrate(held_out[known], y, costs, goal) for t, goal in goals.items()}
    at = {t: routed(predicted, test, tau) for t, tau in chosen.items()}
    gaps = (predicted.max(1, keepdims=True) - predicted).ravel()
    taus = levels(gaps, 0.0, 1.0)
    grid = stacked([routed(predicted, test, float(tau)) for tau in taus])
    return Played(name, at, dict(chosen), grid, predicted)


def levels(values: np.ndarray, low: float, high: float) -> np.ndarray:
    """GRID + 2 thresholds: ``low``, ``high`` and GRID quantiles of ``values``, sorted, repeats
    kept, so the grids of pooled folds line up point by point."""
    quantiles = np.quantile(values, np.linspace(0, 1, GRID)) if len(values) else np.full(GRID, low)
    return np.sort(np.concatenate([[low, high], quantiles]))


def _deployed(deployed: Deployed, test: Side) -> Played:
    outcome = routed(deployed.predicted, test, deployed.threshold)
    gaps = (deployed.predicted.max(1, keepdims=True) - deployed.predicted).ravel()
    grid = stacked([routed(deployed.predicted, test, float(t)) for t in levels(gaps, 0.0, 1.0)])
    return Played("deployed", {t: outcome for t in TARGETS},
                  {t: deployed.threshold for t in TARGETS}, grid, deployed.predicted,
                  tuple(t for t in TARGETS if t == deployed.target))  # fmt: skip


def routed(predicted: np.ndarray, test: Side, tau: float) -> Outcome:
    """The per-row outcome of the routing rule at threshold ``tau``."""
    pick = choose(predicted, test.costs, tau)
    rows = np.arange(len(pick))
    return Outcome(test.costs[rows, pick], test.fold.y[rows, pick])


def _column(test: Side, j: int) -> Outcome:
    return Outcome(test.costs[:, j], test.fold.y[:, j])


def _best_single(y: np.ndarray, costs: np.ndarray, test: Side) -> Played:
    best = int(np.argmax(y.mean(0)))
    return Played("best_single", {t: _column(test, best) for t in TARGETS},
                  {t: best for t in TARGETS})  # fmt: skip


def single_for(means: list[CostPoint], goal: Target) -> int:
    """The single model a target asks for, from training means: the cheapest reaching the
    quality target (else the best); the best within the cost target (else the cheapest)."""
    best = max(range(len(means)), key=lambda j: means[j].quality)
    if goal.kind == "quality":
        reach = [j for j, p in enumerate(means) if p.quality >= goal.value * means[best].quality]
        return min(reach, key=lambda j: means[j].cost)
    fits = [j for j, p in enumerate(means) if p.cost * 1000 <= goal.value + 1e-12]
    if not fits:
        return min(range(len(means)), key=lambda j: means[j].cost)
    return max(fits, key=lambda j: means[j].quality)


def _means(y: np.ndarray, costs: np.ndarray) -> list[CostPoint]:
    return [CostPoint(float(c), float(q)) for c, q in zip(costs.mean(0), y.mean(0), strict=True)]


def _cheapest_single(
    y: np.ndarray, costs: np.ndarray, test: Side, goals: dict[str, Target]
) -> Played:
    picks = {t: single_for(_means(y, costs), goal) for t, goal in goals.items()}
    return Played("cheapest_single", {t: _column(test, j) for t, j in picks.items()},
                  dict(picks))  # fmt: skip


def mix_for(means: list[CostPoint], goal: Target) -> tuple[int, int, float]:
    """The random mix a target asks for, from training means: models ``i`` and ``j`` and the
    share ``p`` sent to ``j``; the cheapest mix reaching the quality target, or the best mix
    within the cost target (a single model is a mix with p = 0)."""
    options = []
    best = max(p.quality for p in means)
    for i, a in enumerate(means):
        for j, b in enumerate(means):
            p = _share(a, b, goal, best)
            if p is not None:
                cost, quality = (1 - p) * a.cost + p * b.cost, (1 - p) * a.quality + p * b.quality
                options.append(((cost, -quality) if goal.kind == "quality" else (-quality, cost),
                                (i, j, p)))  # fmt: skip
    if not options:  # nothing within the cost target: the cheapest model
        cheapest = min(range(len(means)), key=lambda k: means[k].cost)
        return cheapest, cheapest, 0.0
    return min(options)[1]


def _share(a: CostPoint, b: CostPoint, goal: Target, best: float) -> float | None:
    """The share of ``b`` in a mix with ``a`` that just meets ``goal`` (None: no mix does)."""
    if goal.kind == "quality":
        need = goal.value * best
        if a.quality >= need:
            return 0.0
        if b.quality < need:
            return None
        return (need - a.quality) / (b.quality - a.quality)
    budget = goal.value / 1000
    if a.cost > budget + 1e-15:
        return None
    if b.cost <= budget:
        return 1.0
    return (budget - a.cost) / (b.cost - a.cost)


def _random_mix(y: np.ndarray, costs: np.ndarray, test: Side, goals: dict[str, Target]) -> Played:
    at, chosen = {}, {}
    for t, goal in goals.items():
        i, j, p = mix_for(_means(y, costs), goal)
        a, b = _column(test, i), _column(test, j)
        at[t] = Outcome((1 - p) * a.cost + p * b.cost, (1 - p) * a.quality + p * b.quality)
        chosen[t] = f"{1 - p:.3f} × {i} + {p:.3f} × {j}"
    return Played("random_mix", at, chosen, _mix_grid(_means(y, costs), test))


def _mix_grid(means: list[CostPoint], test: Side) -> Outcome:
    """The mixes along the training means' upper hull, GRID points from the cheapest model to
    the best, played on the test rows."""
    hull = _upper_hull(means)
    low, high = means[hull[0]].cost, means[hull[-1]].cost
    costs, qualities = [], []
    for c in np.linspace(low, high, GRID):
        k = max(0, int(np.searchsorted([means[h].cost for h in hull], c)) - 1)
        i, j = hull[k], hull[min(k + 1, len(hull) - 1)]
        span = means[j].cost - means[i].cost
        p = 0.0 if span <= 0 else float(np.clip((c - means[i].cost) / span, 0, 1))
        a, b = _column(test, i), _column(test, j)
        costs.append((1 - p) * a.cost + p * b.cost)
        qualities.append((1 - p) * a.quality + p * b.quality)
    return Outcome(np.stack(costs), np.stack(qualities))


def _upper_hull(means: list[CostPoint]) -> list[int]:
    """Model indices on the upper-left hull of (cost, quality): cheapest, then each next model
    that buys the most quality per unit of cost, up to the best."""
    order = sorted(range(len(means)), key=lambda j: (means[j].cost, -means[j].quality))
    hull = [order[0]]
    best = max(range(len(means)), key=lambda j: means[j].quality)
    while hull[-1] != best:
        here = means[hull[-1]]
        better = [j for j in order if means[j].quality > here.quality]
        hull.append(max(better, key=lambda j: (means[j].quality - here.quality)
                        / max(means[j].cost - here.cost, 1e-18)))  # fmt: skip
    return hull


def _oracle(test: Side) -> Played:
    y, costs = test.fold.y, test.costs
    top = y >= y.max(1, keepdims=True) - 1e-12
    pick = np.where(top, costs, np.inf).argmin(1)
    rows = np.arange(len(pick))
    outcome = Outcome(costs[rows, pick], y[rows, pick])
    return Played("oracle", {t: outcome for t in TARGETS}, {t: "per row" for t in TARGETS})


def _has_replies(train: Side, test: Side) -> bool:
    """Two models, the cheap one's reply on every test row and on CASCADE_ROWS training rows."""
    if train.replies is None or test.replies is None or train.fold.y.shape[1] != 2:
        return False
    known = sum(r is not None for r in train.replies)
    return known >= CASCADE_ROWS and all(r is not None for r in test.replies)


def _cascade(train: Side, test: Side, goals: dict[str, Target]) -> Played:
    """The cheap model answers every prompt; its reply scorer, trained and calibrated on the
    training rows with a reply, escalates the doubtful ones to the dear model."""
    fit_rows = [i for i, r in enumerate(train.replies or []) if r is not None]
    y, costs = train.fold.y[fit_rows], train.costs[fit_rows]
    replies = [(train.replies or [])[i] or "" for i in fit_rows]
    features = cascade.features([r or "" for r in test.replies or []])
    at, chosen = {}, {}
    for t, goal in goals.items():
        scorer = cascade.train("cheap", replies, y[:, 0], y[:, 1], costs, goal)
        at[t] = escalated(scorer.probabilities(features), scorer.threshold, test)
        chosen[t] = scorer.threshold
    probability = scorer.probabilities(features)
    taus = levels(probability + 1e-12, cascade.NEVER, cascade.ALWAYS)
    grid = [escalated(probability, float(tau), test) for tau in taus]
    return Played("cascade", at, chosen, stacked(grid))


def stacked(outcomes: list[Outcome]) -> Outcome:
    """Per-row outcomes of a threshold sweep as one (thresholds, rows) grid."""
    return Outcome(np.stack([o.cost for o in outcomes]), np.stack([o.quality for o in outcomes]))


def escalated(probability: np.ndarray, threshold: float, test: Side) -> Outcome:
    """Every row pays the cheap call; those scored under ``threshold`` the dear one too."""
    up = probability < threshold
    y, costs = test.fold.y, test.costs
    return Outcome(costs[:, 0] + up * costs[:, 1], np.where(up, y[:, 1], y[:, 0]))
