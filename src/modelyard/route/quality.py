"""The quality model: for each candidate, the probability that it answers a prompt well.

An equal blend of two predictors, both fitted in numpy:

- one L2-regularised logistic regression per candidate over the standardised prompt features
  (embedding + text statistics), by Newton's method; labels may be fractional (soft labels);
- cluster priors: the training prompts are grouped by spherical k-means on their embeddings,
  each cluster keeps its mean labels shrunk towards the global mean, and a prompt gets the
  similarity-weighted priors of its TOP nearest clusters (a kNN smoothing that fits in the
  router file, unlike the training set itself).

Hyper-parameters (L2, rows per cluster, TOP, blend) were chosen by 5-fold cross-validation on
the RouteLLM MMLU and GSM8K labels (docs/PERFORMANCE.md); thresholds never see a test fold.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from modelyard.route.features import STATS

NEWTON_STEPS = 12
L2 = 100.0
"""Ridge strength on the summed log-loss."""
ROWS_PER_CLUSTER, MAX_CLUSTERS = 40, 256
TOP, SHARPNESS, SHRINK_ROWS = 5, 20.0, 20.0
"""Clusters averaged per prompt; softmax sharpness on cosine; pseudo-rows of global mean."""
BLEND = 0.5
"""Weight of the logistic regression against the cluster priors."""
KMEANS_STEPS = 15


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


def spherical_kmeans(x: np.ndarray, k: int, seed: int = 0) -> np.ndarray:
    """(k, d) unit centroids of the unit rows of ``x`` (deterministic for a seed)."""
    centroids = x[np.random.default_rng(seed).choice(len(x), k, replace=False)].copy()
    for _ in range(KMEANS_STEPS):
        assign = (x @ centroids.T).argmax(1)
        sums = np.zeros_like(centroids)
        np.add.at(sums, assign, x)
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        centroids = np.where(norms > 0, sums / np.maximum(norms, 1e-12), centroids)
    return centroids


@dataclass
class ClusterPrior:
    """Per-cluster mean labels, shrunk towards the global mean, looked up by embedding."""

    centroids: np.ndarray
    priors: np.ndarray
    """(clusters, candidates) smoothed mean labels."""

    @classmethod
    def fit(cls, emb: np.ndarray, y: np.ndarray) -> ClusterPrior:
        """Cluster the training embeddings and average the labels per cluster."""
        k = int(np.clip(len(emb) // ROWS_PER_CLUSTER, 1, MAX_CLUSTERS))
        centroids = spherical_kmeans(emb, k)
        assign = (emb @ centroids.T).argmax(1)
        counts = np.bincount(assign, minlength=k)[:, None]
        sums = np.zeros((k, y.shape[1]))
        np.add.at(sums, assign, y)
        return cls(centroids, (sums + SHRINK_ROWS * y.mean(0)) / (counts + SHRINK_ROWS))

    def predict(self, emb: np.ndarray) -> np.ndarray:
        """(n, candidates) priors of the TOP nearest clusters, softmax-weighted by cosine."""
        sims = np.atleast_2d(emb) @ self.centroids.T
        top = min(TOP, sims.shape[1])
        nearest = np.argpartition(-sims, top - 1, axis=1)[:, :top]
        near = np.take_along_axis(sims, nearest, 1)
        w = np.exp(SHARPNESS * (near - near.max(1, keepdims=True)))
        return np.einsum("nk,nkm->nm", w / w.sum(1, keepdims=True), self.priors[nearest])


@dataclass
class Logistic:
    """Per-candidate logistic regressions sharing one feature standardisation."""

    mean: np.ndarray
    scale: np.ndarray
    weights: np.ndarray
    """(n_features + 1, n_candidates); the last row is the bias."""

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray, l2: float = L2) -> Logistic:
        """Fit on features ``x`` (n, d) and quality labels ``y`` (n, m) in [0, 1]."""
        # small dense systems: extra BLAS threads only contend (see route/bert.py)
        with threadpool_limits(1, user_api="blas"):
            mean, scale = x.mean(0), x.std(0) + 1e-6
            z = (x - mean) / scale
            weights = np.stack([fit_logistic(z, y[:, j], l2) for j in range(y.shape[1])], 1)
        return cls(mean, scale, weights)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n, m) probabilities for features (n, d), or (m,) for one feature vector (d,)."""
        z = (x - self.mean) / self.scale
        return _sigmoid(z @ self.weights[:-1] + self.weights[-1])


@dataclass
class QualityModel:
    """Logistic regressions on all features blended with cluster priors on the embedding."""

    logistic: Logistic
    clusters: ClusterPrior

    @classmethod
    def fit(cls, x: np.ndarray, y: np.ndarray) -> QualityModel:
        """Fit on features ``x`` (n, embedding + STATS) and quality labels ``y`` (n, m)."""
        return cls(Logistic.fit(x, y), ClusterPrior.fit(_embedding(x), y))

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n, m) probabilities for features (n, d), or (m,) for one feature vector (d,)."""
        priors = self.clusters.predict(_embedding(np.atleast_2d(x)))
        blended = BLEND * self.logistic.predict(x) + (1 - BLEND) * priors
        return blended[0] if x.ndim == 1 else blended

    def to_dict(self) -> dict[str, Any]:
        """Plain lists for the JSON artifact."""
        return {
            "mean": self.logistic.mean.tolist(),
            "scale": self.logistic.scale.tolist(),
            "weights": self.logistic.weights.tolist(),
            "centroids": self.clusters.centroids.tolist(),
            "priors": self.clusters.priors.tolist(),
        }

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> QualityModel:
        """Inverse of ``to_dict``."""
        a = {k: np.asarray(v, dtype=np.float64) for k, v in raw.items()}
        logistic = Logistic(a["mean"], a["scale"], a["weights"])
        return cls(logistic, ClusterPrior(a["centroids"], a["priors"]))

    @property
    def candidates(self) -> int:
        """How many candidates the model predicts for."""
        return self.logistic.weights.shape[1]


def _embedding(x: np.ndarray) -> np.ndarray:
    return x[:, : x.shape[1] - len(STATS)]
