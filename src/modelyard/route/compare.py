"""Figures of a split with bootstrap intervals, and the router compared with every baseline.

Per method (holdout.py), on the test rows:

- at each target (q95, q90, cheapest; threshold chosen on the training rows): mean ``cost``,
  mean ``quality`` and ``share`` = quality / the quality of the best single model (the one best
  on the training rows, what a team would otherwise send everything to) on the test rows;
- from its cost–quality curve (learned methods, cascade, random mix): ``curve_cost_95`` and
  ``curve_cost_90``, the least cost at which the curve reaches 95% / 90% of the best single
  model's quality (the best threshold *on the test rows*: RouteLLM's convention, shown for
  comparison, never used to judge a target), and ``auc``, the mean quality the curve gives over
  every budget from the cheapest single model's cost to the best single model's (the area under
  the curve divided by that width; the curve at a budget is the best point that costs no more).
  The split's report also lists every model's test quality, so shares of the model best on the
  test rows (which no method can know beforehand) can be read off.

Intervals: BOOTSTRAP resamples of the test rows, the same resamples for every method, so
differences are paired; each interval is the central 95%. The router against a baseline, at a
target: *cheaper* / *dearer* when the cost difference's interval excludes 0, *better* / *worse*
likewise for quality; the router **wins** when cheaper and not worse, or better and not
dearer; it **loses** when dearer and not better, or worse and not cheaper; else it is a
``trade-off`` (cheaper but worse, or dearer but better) or a ``tie``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from modelyard.route.holdout import TARGETS, Outcome, Played, Split

BOOTSTRAP = 1000
LEVEL = 0.95
CURVE_SHARES = {"curve_cost_95": 0.95, "curve_cost_90": 0.90}
BASELINES = ("best_single", "cheapest_single", "random_mix", "tfidf-lr", "knn", "length",
             "deployed")  # fmt: skip
"""What the router is compared with (oracle and cascade are shown, not compared); ``deployed``
(a router file in service) only at the target its threshold was calibrated for."""


@dataclass
class Draws:
    """A figure on the full test rows and on each bootstrap resample."""

    value: float | None
    draws: np.ndarray
    """(BOOTSTRAP,) values; NaN where undefined (a target the curve never reaches)."""

    def interval(self) -> tuple[float, float] | None:
        finite = self.draws[~np.isnan(self.draws)]
        if len(finite) < len(self.draws) / 2:
            return None
        lo, hi = np.quantile(finite, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
        return float(lo), float(hi)

    def json(self) -> dict[str, Any]:
        ci = self.interval()
        return {"value": self.value, "ci": None if ci is None else [ci[0], ci[1]]}


def resamples(n: int, seed: int = 0, count: int = BOOTSTRAP) -> np.ndarray:
    """(count, n) row weights of bootstrap resamples, full sample first (row 0: all ones)."""
    rng = np.random.default_rng(seed)
    draws = rng.multinomial(n, np.full(n, 1.0 / n), size=count).astype(np.float32)
    return np.vstack([np.ones((1, n), dtype=np.float32), draws])


def figures(split: Split, seed: int = 0) -> dict[str, dict[str, Draws]]:
    """Every method's figures (module docstring), with their bootstrap draws."""
    weights = resamples(len(split.y), seed)
    n = weights.shape[1]
    singles_q = (weights @ split.y.astype(np.float32)) / n
    singles_c = (weights @ split.costs.astype(np.float32)) / n
    ref_q = singles_q[:, split.reference]
    span = (singles_c.min(1), singles_c[:, split.reference])
    return {
        name: _method_figures(played, weights, ref_q, span)
        for name, played in split.methods.items()
    }


def _method_figures(
    played: Played,
    weights: np.ndarray,
    ref_q: np.ndarray,
    span: tuple[np.ndarray, np.ndarray],
) -> dict[str, Draws]:
    n = weights.shape[1]
    out: dict[str, Draws] = {}
    for target in TARGETS:
        cost, quality = (weights @ v.astype(np.float32) / n for v in _pair(played.at[target]))
        out[f"{target}_cost"] = _draws(cost)
        out[f"{target}_quality"] = _draws(quality)
        out[f"{target}_share"] = _draws(quality / ref_q)
    if played.grid is not None:
        cost = played.grid.cost.astype(np.float32) @ weights.T / n
        quality = played.grid.quality.astype(np.float32) @ weights.T / n
        for name, share in CURVE_SHARES.items():
            reached = quality >= share * ref_q - 1e-9
            least = np.where(reached, cost, np.inf).min(0)
            out[name] = _draws(np.where(np.isfinite(least), least, np.nan))
        out["auc"] = _draws(np.array([
            area(cost[:, b], quality[:, b], span[0][b], span[1][b]) for b in range(len(weights))
        ]))  # fmt: skip
    return out


def _pair(outcome: Outcome) -> tuple[np.ndarray, np.ndarray]:
    return outcome.cost, outcome.quality


def _draws(values: np.ndarray) -> Draws:
    first = float(values[0])
    return Draws(None if np.isnan(first) else first, values[1:].astype(float))


def area(cost: np.ndarray, quality: np.ndarray, low: float, high: float) -> float:
    """Mean over budgets in [low, high] of the best quality costing no more than the budget
    (below the curve's cheapest point: that point's quality); NaN when high <= low."""
    if high <= low:
        return float("nan")
    order = np.argsort(cost, kind="stable")
    c, q = cost[order], np.maximum.accumulate(quality[order])
    edges = np.clip(np.concatenate([[low], c, [high]]), low, high)
    level = np.concatenate([[q[0]], q])
    return float(np.sum(np.diff(edges) * level) / (high - low))


@dataclass
class Verdict:
    """The router against one baseline at one target."""

    baseline: str
    target: str
    cost: Draws
    """Router minus baseline."""
    quality: Draws
    outcome: str
    """win, loss, trade-off or tie (module docstring)."""

    def json(self) -> dict[str, Any]:
        return {
            "baseline": self.baseline,
            "target": self.target,
            "outcome": self.outcome,
            "cost_difference": self.cost.json(),
            "quality_difference": self.quality.json(),
        }


def difference(a: Draws, b: Draws) -> Draws:
    value = None if a.value is None or b.value is None else a.value - b.value
    return Draws(value, a.draws - b.draws)


def verdicts(
    figs: dict[str, dict[str, Draws]], split: Split, method: str = "router"
) -> list[Verdict]:
    """``method`` against every baseline present, at its targets (module docstring)."""
    out = []
    for base in (b for b in BASELINES if b in figs and b != method):
        for target in split.methods[base].targets:
            cost = difference(figs[method][f"{target}_cost"], figs[base][f"{target}_cost"])
            quality = difference(figs[method][f"{target}_quality"], figs[base][f"{target}_quality"])
            out.append(Verdict(base, target, cost, quality, judge(cost, quality)))
    return out


def judge(cost: Draws, quality: Draws) -> str:
    """win, loss, trade-off or tie, from paired intervals of the differences."""
    c, q = cost.interval(), quality.interval()
    if c is None or q is None:
        return "tie"
    cheaper, dearer = c[1] < 0, c[0] > 0
    better, worse = q[0] > 0, q[1] < 0
    if (cheaper and not worse) or (better and not dearer):
        return "win"
    if (dearer and not better) or (worse and not cheaper):
        return "loss"
    return "trade-off" if (cheaper or dearer or better or worse) else "tie"


def curve_differences(
    figs: dict[str, dict[str, Draws]], method: str = "router"
) -> dict[str, dict[str, dict[str, Any]]]:
    """Paired differences of the curve figures, ``method`` minus each baseline with a curve."""
    names = ("auc", *CURVE_SHARES)
    return {
        base: {k: difference(figs[method][k], figs[base][k]).json() for k in names}
        for base in BASELINES
        if base in figs and base != method and "auc" in figs[base]
    }
