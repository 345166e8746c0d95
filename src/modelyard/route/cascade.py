"""The cascade's scorer: from a cheap candidate's reply, the probability that it is right.

Trained on label rows that carry the candidate's replies (``responses`` in the label file): a
ridge logistic regression of the candidate's score on the standardised REPLY_FEATURES
(route/reply.py). The gateway asks the cheap candidate first and escalates when the scorer puts
its reply below the threshold.

The threshold is calibrated like the router's (route/calibrate.py), on out-of-fold scores of
the training rows, as a two-model cascade from the candidate into the dearest candidate: every
request pays the cheap call, the escalated ones the dear call too. With more than two candidates
each cheap one gets its own scorer and threshold, calibrated the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from modelyard.route.calibrate import GRID, Target
from modelyard.route.logistic import fit_logistic, sigmoid
from modelyard.route.metrics import CostPoint
from modelyard.route.quality import _pack, _unpack
from modelyard.route.reply import REPLY_FEATURES, reply_features

L2 = 1.0
"""Ridge strength: eleven features and a thousand rows or more need little."""
CALIBRATION_FOLDS = 5
NEVER = 0.0
"""A threshold no reply scores below: never escalate."""
ALWAYS = 2.0
"""A threshold every reply scores below: always escalate."""
NOTE = (
    "cascade: the cheap model answers every prompt and its reply scorer sends the doubtful "
    "replies on; its cost counts the cheap call for every prompt and the escalations"
)


@dataclass
class ReplyScorer:
    """One candidate's scorer and its escalation threshold."""

    candidate: str
    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    """Per feature, then the bias."""
    threshold: float
    """Escalate when the probability of a right reply is below this."""

    def probability(self, text: str) -> float:
        """The probability that ``text``, this candidate's reply, is right."""
        return float(self.probabilities(reply_features(text)[None, :])[0])

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """The probability of a right reply for each row of REPLY_FEATURES ``x``."""
        return sigmoid(((x - self.mean) / self.scale) @ self.weights[:-1] + self.weights[-1])

    def to_dict(self) -> dict[str, Any]:
        return {
            "candidate": self.candidate,
            "features": list(REPLY_FEATURES),
            "mean": _pack(self.mean, np.float32),
            "scale": _pack(self.scale, np.float32),
            "weights": _pack(self.weights, np.float32),
            "threshold": self.threshold,
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> ReplyScorer:
        if raw.get("features") != list(REPLY_FEATURES):
            raise ValueError(f"reply features {raw.get('features')} are not {list(REPLY_FEATURES)}")
        return cls(
            raw["candidate"],
            _unpack(raw["mean"]).astype(float),
            _unpack(raw["scale"]).astype(float),
            _unpack(raw["weights"]).astype(float),
            float(raw["threshold"]),
        )


def features(replies: list[str]) -> np.ndarray:
    """(len(replies), len(REPLY_FEATURES)) matrix."""
    rows = [reply_features(r) for r in replies]
    return np.stack(rows) if rows else np.zeros((0, len(REPLY_FEATURES)))


def fit(candidate: str, x: np.ndarray, y: np.ndarray) -> ReplyScorer:
    """A scorer fitted on reply features ``x`` and the candidate's scores ``y``; no threshold."""
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    weights = fit_logistic((x - mean) / scale, y, L2)
    return ReplyScorer(candidate, mean, scale, weights, NEVER)


def out_of_fold(x: np.ndarray, y: np.ndarray, seed: int = 0) -> np.ndarray:
    """Each row's probability from a scorer fitted without it (CALIBRATION_FOLDS folds)."""
    ids = np.random.default_rng(seed).permutation(len(y)) % CALIBRATION_FOLDS
    held = np.zeros(len(y))
    for k in range(CALIBRATION_FOLDS):
        held[ids == k] = fit("", x[ids != k], y[ids != k]).probabilities(x[ids == k])
    return held


def train(
    candidate: str, replies: list[str], cheap: np.ndarray, dear: np.ndarray,
    costs: np.ndarray, target: Target,
) -> ReplyScorer:  # fmt: skip
    """A calibrated scorer for ``candidate`` from its ``replies``, its scores (``cheap``) and the
    dearest candidate's (``dear``); ``costs`` is (n, 2): the cheap call, the dear call."""
    x = features(replies)
    scorer = fit(candidate, x, cheap)
    scorer.threshold = calibrate(out_of_fold(x, cheap), cheap, dear, costs, target)
    return scorer


def outcome(
    probability: np.ndarray, threshold: float, cheap: np.ndarray, dear: np.ndarray,
    costs: np.ndarray,
) -> CostPoint:  # fmt: skip
    """Mean cost and quality when replies under ``threshold`` are escalated."""
    up = probability < threshold
    return CostPoint(
        float((costs[:, 0] + up * costs[:, 1]).mean()), float(np.where(up, dear, cheap).mean())
    )


def calibrate(
    probability: np.ndarray, cheap: np.ndarray, dear: np.ndarray, costs: np.ndarray,
    target: Target,
) -> float:  # fmt: skip
    """The threshold that meets ``target``, as route/calibrate.py chooses the router's.

    The thresholds tried lie midway between neighbouring scores, so a new reply scoring near the
    edge of the training replies' scores falls on the same side as they did.
    Quality: the cheapest threshold reaching ``value`` × the better model's mean quality
    (ALWAYS when none does). Cost: the best quality within ``value`` USD per 1k requests (NEVER
    when none is).
    """
    grid = np.concatenate([[NEVER, ALWAYS], _midpoints(probability)])
    points = [(t, outcome(probability, t, cheap, dear, costs)) for t in grid]
    if target.kind == "quality":
        goal = target.value * max(cheap.mean(), dear.mean())
        reach = [(p.cost, t) for t, p in points if p.quality >= goal - 1e-12]
        return float(min(reach)[1]) if reach else ALWAYS
    fits = [(-p.quality, p.cost, t) for t, p in points if p.cost * 1000 <= target.value + 1e-12]
    return float(min(fits)[2]) if fits else NEVER


def _midpoints(probability: np.ndarray) -> np.ndarray:
    """Points midway between neighbouring distinct values (at most GRID of them)."""
    values = np.unique(probability)
    if len(values) > GRID:
        values = np.unique(np.quantile(values, np.linspace(0, 1, GRID)))
    return (values[:-1] + values[1:]) / 2
