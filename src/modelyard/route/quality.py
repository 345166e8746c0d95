"""The quality model: for each candidate, the probability that it answers a prompt well.

One L2-regularised logistic regression per candidate over standardised prompt features, fitted
by Newton's method in numpy. Labels may be fractional (a 0.6 coverage score is a soft label).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

NEWTON_STEPS = 12
L2 = 30.0
"""Default ridge strength on the summed log-loss (chosen by cross-validation on MMLU/GSM8K)."""


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -30, 30)))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = L2) -> np.ndarray:
    """Weights (bias last) of a ridge logistic regression of soft labels ``y`` on ``x``."""
    design = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(design.shape[1])
    ridge = np.full(design.shape[1], l2)
    ridge[-1] = 1e-6
    for _ in range(NEWTON_STEPS):
        p = _sigmoid(design @ w)
        grad = design.T @ (p - y) + ridge * w
        hess = (design * (p * (1 - p))[:, None]).T @ design + np.diag(ridge)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


@dataclass
class QualityModel:
    """Per-candidate logistic regressions sharing one feature standardisation."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    """(n_features + 1, n_candidates); the last row is the bias."""

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, l2: float = L2) -> QualityModel:
        """Fit on features ``x`` (n, d) and quality labels ``y`` (n, m) in [0, 1]."""
        mean, scale = x.mean(0), x.std(0) + 1e-6
        z = (x - mean) / scale
        weights = np.stack([fit_logistic(z, y[:, j], l2) for j in range(y.shape[1])], 1)
        return cls(mean, scale, weights)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n, m) probabilities for features (n, d), or (m,) for one feature vector (d,)."""
        z = (x - self.mean) / self.scale
        return _sigmoid(z @ self.weights[:-1] + self.weights[-1])

    def to_dict(self) -> dict[str, Any]:
        """Plain lists for the JSON artifact."""
        return {
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "weights": self.weights.tolist(),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> QualityModel:
        """Inverse of ``to_dict``."""
        return cls(*(np.asarray(raw[k], dtype=np.float64) for k in ("mean", "scale", "weights")))
