"""The routing rule and its threshold, calibrated to what the operator asks for.

Rule: among the allowed candidates, take the cheapest whose predicted quality is within ``tau``
of the best predicted quality (of equally cheap ones, the best predicted). ``tau = 0`` always
takes the model predicted best; ``tau = 1`` always takes the cheapest. With two models this is
RouteLLM's rule on the predicted gain (strong − weak); with N models it trades quality for cost
the same way.

Targets:

- ``Target("quality", 0.95)``: reach 95% of the mean quality of the best single model;
- ``Target("cost", 2.0)``: spend at most $2 per 1,000 requests, as well as that allows.

The threshold is chosen on predictions the model made for prompts it was not trained on
(out-of-fold), never on its own training predictions, which are over-confident.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from modelyard.errors import YardError
from modelyard.route.metrics import CostPoint

GRID = 400
"""How many quantiles of the predicted gaps are tried as thresholds."""


@dataclass(frozen=True)
class Target:
    """What the calibrated threshold must achieve."""

    kind: Literal["quality", "cost"]
    value: float
    """quality: share of the best single model's quality (0.95); cost: USD per 1,000 requests."""

    def __post_init__(self) -> None:
        if self.kind not in ("quality", "cost"):
            raise YardError(f"calibration target {self.kind!r}: use 'quality' or 'cost'")
        if self.kind == "quality" and not 0 < self.value <= 1.5:
            raise YardError(f"quality target {self.value}: give a share such as 0.95")
        if self.kind == "cost" and self.value < 0:
            raise YardError(f"cost target {self.value}: USD per 1k requests cannot be negative")


def choose(predicted: np.ndarray, costs: np.ndarray, tau: float) -> np.ndarray:
    """Index of the chosen candidate per row: cheapest within ``tau`` of the best prediction;
    among equally cheap ones (several self-hosted models, one price tier), the best predicted."""
    ok = predicted >= predicted.max(-1, keepdims=True) - tau
    masked = np.where(ok, costs, np.inf)
    cheapest = masked <= masked.min(-1, keepdims=True) * (1 + 1e-9) + 1e-15
    return np.where(cheapest, predicted, -np.inf).argmax(-1)


def operating_point(
    predicted: np.ndarray, scores: np.ndarray, costs: np.ndarray, tau: float
) -> CostPoint:
    """Mean true quality and mean cost when routing with threshold ``tau``."""
    pick = choose(predicted, costs, tau)
    rows = np.arange(len(pick))
    return CostPoint(float(costs[rows, pick].mean()), float(scores[rows, pick].mean()))


def thresholds(predicted: np.ndarray) -> np.ndarray:
    """Candidate thresholds: 0, 1 and quantiles of the predicted gaps to the best."""
    gaps = (predicted.max(1, keepdims=True) - predicted).ravel()
    inner = np.quantile(gaps, np.linspace(0, 1, GRID)) if len(gaps) else np.array([])
    return np.unique(np.concatenate([[0.0, 1.0], inner]))


def sweep(
    predicted: np.ndarray, scores: np.ndarray, costs: np.ndarray
) -> list[tuple[float, CostPoint]]:
    """(threshold, operating point) for every candidate threshold."""
    return [(float(t), operating_point(predicted, scores, costs, t)) for t in thresholds(predicted)]


def calibrate(
    predicted: np.ndarray, scores: np.ndarray, costs: np.ndarray, target: Target
) -> float:
    """The threshold that meets ``target`` on held-out predictions.

    Quality target: the cheapest threshold whose quality reaches ``value`` × the best single
    model's mean quality (0, i.e. "best predicted", when none does). Cost target: the best
    quality whose cost per 1k requests is at most ``value`` (1, i.e. "cheapest", when none is).
    """
    points = sweep(predicted, scores, costs)
    if target.kind == "quality":
        goal = target.value * float(scores.mean(0).max())
        ok = [(p.cost, -t) for t, p in points if p.quality >= goal - 1e-12]
        return -min(ok)[1] if ok else 0.0
    ok = [(-p.quality, -t) for t, p in points if p.cost * 1000 <= target.value + 1e-12]
    return -min(ok)[1] if ok else 1.0
