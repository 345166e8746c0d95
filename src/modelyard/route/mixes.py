"""Random mixes of two models, chosen on training means, and when the router falls back to one.

A random mix sends a fixed share of the requests to one model and the rest to another; which
two and what share is read off the training rows' mean cost and quality per model (the cheapest
mix reaching a quality target, or the best within a budget). It uses no per-prompt prediction,
so it cannot be misled by a task the router never saw: on LLMRouter's task families, held out
one at a time, it reached the router's quality for less on most of them (docs/PERFORMANCE.md).

So the router checks its own ranking before trusting it: on the training rows' out-of-fold
predictions (with four tasks or more, each inner fold holds whole tasks, route/folds.py), the
area under its cost–quality curve against the area under the random mixes' curve. Where its
ranking routes no better than the mixes on tasks it did not see, the router file keeps the
mix (``Mix``) and each request is sent by a draw from its prompt.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from modelyard.route.calibrate import Target, sweep
from modelyard.route.metrics import CostPoint, area

GRID = 101
"""Points on the mixes' curve."""


@dataclass(frozen=True)
class Mix:
    """A random mix in a router file: ``share`` of the requests to ``dear``, the rest to
    ``cheap``."""

    cheap: str
    dear: str
    share: float

    def draw(self, text: str) -> str:
        """The model for a request whose scored text is ``text``: a draw in [0, 1) from its
        crc32, so a prompt sent again goes where it went (and the ledger can be replayed)."""
        return self.dear if zlib.crc32(text.encode()) / 2**32 < self.share else self.cheap


def means(y: np.ndarray, costs: np.ndarray) -> list[CostPoint]:
    """Each model's mean cost and quality over the rows."""
    return [CostPoint(float(c), float(q)) for c, q in zip(costs.mean(0), y.mean(0), strict=True)]


def single_for(points: list[CostPoint], goal: Target) -> int:
    """The single model a target asks for, from training means: the cheapest reaching the
    quality target (else the best); the best within the cost target (else the cheapest)."""
    best = max(range(len(points)), key=lambda j: points[j].quality)
    if goal.kind == "quality":
        reach = [j for j, p in enumerate(points) if p.quality >= goal.value * points[best].quality]
        return min(reach, key=lambda j: points[j].cost)
    fits = [j for j, p in enumerate(points) if p.cost * 1000 <= goal.value + 1e-12]
    if not fits:
        return min(range(len(points)), key=lambda j: points[j].cost)
    return max(fits, key=lambda j: points[j].quality)


def mix_for(points: list[CostPoint], goal: Target) -> tuple[int, int, float]:
    """The random mix a target asks for, from training means: models ``i`` and ``j`` and the
    share ``p`` sent to ``j``; the cheapest mix reaching the quality target, or the best mix
    within the cost target (a single model is a mix with p = 0)."""
    options = []
    best = max(p.quality for p in points)
    for i, a in enumerate(points):
        for j, b in enumerate(points):
            p = _share(a, b, goal, best)
            if p is not None:
                cost, quality = (1 - p) * a.cost + p * b.cost, (1 - p) * a.quality + p * b.quality
                options.append(((cost, -quality) if goal.kind == "quality" else (-quality, cost),
                                (i, j, p)))  # fmt: skip
    if not options:  # nothing within the cost target: the cheapest model
        cheapest = min(range(len(points)), key=lambda k: points[k].cost)
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
    budget = goal.value / 1000 + 1e-15  # the budget is a cost * 1000 / 1000: allow rounding
    if a.cost > budget:
        return None
    if b.cost <= budget:
        return 1.0
    return (budget - a.cost) / (b.cost - a.cost)


def upper_hull(points: list[CostPoint]) -> list[int]:
    """Model indices on the upper-left hull of (cost, quality): cheapest, then each next model
    that buys the most quality per unit of cost, up to the best."""
    order = sorted(range(len(points)), key=lambda j: (points[j].cost, -points[j].quality))
    hull = [order[0]]
    best = max(range(len(points)), key=lambda j: points[j].quality)
    while hull[-1] != best:
        here = points[hull[-1]]
        better = [j for j in order if points[j].quality > here.quality]
        hull.append(max(better, key=lambda j: (points[j].quality - here.quality)
                        / max(points[j].cost - here.cost, 1e-18)))  # fmt: skip
    return hull


def mix_area(y: np.ndarray, costs: np.ndarray) -> float:
    """The area under the random mixes' cost–quality curve (the means' upper hull, linear
    between its models), between the cheapest and the best model's mean cost."""
    points = means(y, costs)
    hull = upper_hull(points)
    xs = np.array([points[h].cost for h in hull])
    grid = np.linspace(xs[0], xs[-1], GRID)
    quality = np.interp(grid, xs, [points[h].quality for h in hull])
    best = max(range(len(points)), key=lambda j: points[j].quality)
    return area(grid, quality, min(p.cost for p in points), points[best].cost)


def curve_area(predicted: np.ndarray, y: np.ndarray, costs: np.ndarray) -> float:
    """The area under the routing rule's cost–quality curve on ``predicted`` (every threshold),
    between the cheapest and the best single model's mean cost on these rows."""
    points = [p for _, p in sweep(predicted, y, costs)]
    cost = costs.mean(0)
    best = int(np.argmax(y.mean(0)))
    return area(np.array([p.cost for p in points]), np.array([p.quality for p in points]),
                float(cost.min()), float(cost[best]))  # fmt: skip


def ranking_beats_mix(held_out: np.ndarray, y: np.ndarray, costs: np.ndarray) -> bool:
    """Whether the router's out-of-fold predictions route better than the random mixes on the
    training rows (larger curve area; complete rows only)."""
    known = ~np.isnan(y).any(1)
    if not known.any():
        return False
    ours = curve_area(held_out[known], y[known], costs[known])
    return bool(np.isfinite(ours) and ours > mix_area(y[known], costs[known]))


def fallback(held_out: np.ndarray, y: np.ndarray, costs: np.ndarray,
             goal: Target) -> tuple[int, int, float] | None:  # fmt: skip
    """The mix the router falls back to for ``goal`` (indices and share), or None when its
    ranking beats the mixes (module docstring)."""
    if ranking_beats_mix(held_out, y, costs):
        return None
    known = ~np.isnan(y).any(1)
    return mix_for(means(y[known], costs[known]), goal)
