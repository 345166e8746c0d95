"""Routing metrics, as defined by RouteLLM (Ong et al., arXiv 2406.18665; research/routers.md §1.5).

Two-model metrics work on a *score* per prompt (higher means "send to the strong model") and the
per-prompt quality of the strong and weak model:

- a router at threshold t sends the prompts with score ≥ t to the strong model; sweeping t gives
  the curve of quality against the share of strong calls c;
- PGR(c) = (r(c) − r(weak)) / (r(strong) − r(weak)) (performance gap recovered);
- APGR = area under PGR(c) for c in [0, 1] (trapezoid over every prompt, not deciles);
- CPT(x) = smallest share of strong calls at which PGR ≥ x;
- calls at q% quality = smallest share of strong calls at which r ≥ q% of r(strong).

Ties in the score are resolved as random tie-breaking would be on average: the curve is linear
across a tied group. That makes the random router exactly the diagonal and the oracle exact.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

CPT_LEVELS = (0.5, 0.8, 0.95)
QUALITY_TARGET = 0.95


@dataclass
class Curve:
    """Quality against the share of strong-model calls, one point per prompt boundary."""

    calls: np.ndarray
    """Share of prompts sent to the strong model, 0 … 1."""
    quality: np.ndarray
    """Mean quality at that share."""
    weak: float
    strong: float

    @property
    def pgr(self) -> np.ndarray:
        """Performance gap recovered at each point."""
        return (self.quality - self.weak) / (self.strong - self.weak)


def curve(score: np.ndarray, strong: np.ndarray, weak: np.ndarray) -> Curve:
    """The threshold sweep of a router with per-prompt ``score`` (ties broken on average)."""
    n = len(score)
    order = np.argsort(-score, kind="stable")
    gain = np.concatenate([[0.0], np.cumsum((strong - weak)[order])])
    sorted_score = score[order]
    # keep only the ends of tied groups; interpolation between them is the tie-broken average
    ends = np.concatenate([[0], np.flatnonzero(np.diff(sorted_score) != 0) + 1, [n]])
    grid = np.arange(n + 1)
    quality = weak.mean() + np.interp(grid, ends, gain[ends]) / n
    return Curve(grid / n, quality, float(weak.mean()), float(strong.mean()))


def random_curve(strong: np.ndarray, weak: np.ndarray) -> Curve:
    """The expected curve of a router that picks the strong model at random."""
    return curve(np.zeros(len(strong)), strong, weak)


def oracle_curve(strong: np.ndarray, weak: np.ndarray) -> Curve:
    """The curve of a router that knows which model answers better."""
    return curve(strong - weak, strong, weak)


def apgr(c: Curve) -> float:
    """Area under the PGR curve over the share of strong calls."""
    pgr, calls = c.pgr, c.calls
    return float(np.sum((pgr[1:] + pgr[:-1]) * np.diff(calls)) / 2)


def first_reaching(calls: np.ndarray, values: np.ndarray, target: float) -> float | None:
    """Smallest share of calls at which ``values`` reaches ``target`` (interpolated)."""
    hit = np.flatnonzero(values >= target - 1e-12)
    if not len(hit):
        return None
    i = int(hit[0])
    if i == 0:
        return float(calls[0])
    frac = (target - values[i - 1]) / (values[i] - values[i - 1])
    return float(calls[i - 1] + frac * (calls[i] - calls[i - 1]))


def cpt(c: Curve, level: float) -> float | None:
    """CPT(level): the share of strong calls needed to recover ``level`` of the gap."""
    return first_reaching(c.calls, c.pgr, level)


def calls_at_quality(c: Curve, share: float = QUALITY_TARGET) -> float | None:
    """The share of strong calls needed to reach ``share`` of the strong model's quality."""
    return first_reaching(c.calls, c.quality, share * c.strong)


@dataclass
class Summary:
    """The headline numbers of one two-model curve."""

    apgr: float
    cpt: dict[str, float | None]
    calls_at_95: float | None
    quality_strong: float
    quality_weak: float
    extra: dict[str, float] = field(default_factory=dict)


def summarize(c: Curve) -> Summary:
    """APGR, CPT(50/80/95%) and calls at 95% of the strong model's quality."""
    return Summary(
        apgr(c),
        {f"{round(level * 100)}%": cpt(c, level) for level in CPT_LEVELS},
        calls_at_quality(c),
        c.strong,
        c.weak,
    )


@dataclass
class CostPoint:
    """One operating point of an N-model router: mean $ per request and mean quality."""

    cost: float
    quality: float


def single_models(scores: np.ndarray, costs: np.ndarray) -> list[CostPoint]:
    """The point of always sending everything to each model (columns of ``scores``/``costs``)."""
    return [
        CostPoint(float(costs[:, j].mean()), float(scores[:, j].mean()))
        for j in range(scores.shape[1])
    ]


def oracle_point(scores: np.ndarray, costs: np.ndarray) -> CostPoint:
    """Each prompt to the cheapest of the models that score best on it."""
    best = scores >= scores.max(1, keepdims=True) - 1e-12
    pick = np.where(best, costs, np.inf).argmin(1)
    rows = np.arange(len(scores))
    return CostPoint(float(costs[rows, pick].mean()), float(scores[rows, pick].mean()))


def cheapest_reaching(points: list[CostPoint], target: float) -> CostPoint | None:
    """The cheapest point whose quality is at least ``target``."""
    ok = [p for p in points if p.quality >= target - 1e-12]
    return min(ok, key=lambda p: p.cost) if ok else None


def area(cost: np.ndarray, quality: np.ndarray, low: float, high: float) -> float:
    """Mean over budgets in [low, high] of the best quality costing no more than the budget
    (below the curve's cheapest point: that point's quality); NaN when high <= low."""
    if high <= low:
        return float("nan")
    order = np.lexsort((-quality, cost))  # of equal costs the best first: it holds below them
    c, q = cost[order], np.maximum.accumulate(quality[order])
    edges = np.clip(np.concatenate([[low], c, [high]]), low, high)
    level = np.concatenate([[q[0]], q])
    return float(np.sum(np.diff(edges) * level) / (high - low))
