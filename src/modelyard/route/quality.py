"""The quality model: for each candidate, the probability that it answers a prompt well.

A stack of three predictors (the regressions fitted by scipy's L-BFGS, route/logistic.py):

- one L2-regularised logistic regression per candidate over the standardised prompt features
  (embedding + text statistics; route/logistic.py); labels may be fractional (soft labels)
  or NaN (not known: that row is left out of that candidate's fit, as in every predictor);
- cluster priors: the training prompts are grouped by spherical k-means on their embeddings,
  each cluster keeps its mean labels shrunk towards the global mean, and a prompt gets the
  similarity-weighted priors of its TOP nearest clusters (a kNN smoothing that fits in the
  router file, unlike the training set itself);
- one logistic regression per candidate on hashed word uni- and bigrams, TF-IDF weighted
  (route/ngrams.py): exact terms that an averaged embedding blurs.

A blender combines them: a logistic regression on the three predictors' logits (one weight
per predictor, one bias per candidate), fitted on their out-of-fold predictions (STACK_FOLDS
folds of the training rows), so the blend weights are learned from prompts the predictors did
not see, never from a test fold.
The same out-of-fold predictions, blended, are what the routing threshold is calibrated on.
The predictors' own hyper-parameters (L2, rows per cluster, TOP, n-gram L2 and MIN_DF) are
fixed constants chosen by exploratory 5-fold cross-validation (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from threadpoolctl import threadpool_limits

from modelyard.route.features import STATS
from modelyard.route.folds import inner_folds
from modelyard.route.logistic import fit_logistic, sigmoid
from modelyard.route.ngrams import NgramLogistic

L2 = 1000.0
"""Ridge strength on the summed log-loss."""
ROWS_PER_CLUSTER, MAX_CLUSTERS = 40, 256
TOP, SHARPNESS, SHRINK_ROWS = 5, 20.0, 20.0
"""Clusters averaged per prompt; softmax sharpness on cosine; pseudo-rows of global mean."""
KMEANS_STEPS = 15
STACK_FOLDS, STACK_SEED = 3, 1
BLEND_L2 = 1.0
"""Ridge on the blender's few weights (it sees thousands of rows: barely binding)."""
EPS = 1e-4
"""Probabilities are clipped to [EPS, 1 - EPS] before taking logits."""


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
        """Cluster the training embeddings and average the known labels per cluster."""
        k = int(np.clip(len(emb) // ROWS_PER_CLUSTER, 1, MAX_CLUSTERS))
        centroids = spherical_kmeans(emb, k)
        assign = (emb @ centroids.T).argmax(1)
        known = ~np.isnan(y)
        counts, sums = np.zeros((k, y.shape[1])), np.zeros((k, y.shape[1]))
        np.add.at(counts, assign, known)
        np.add.at(sums, assign, np.where(known, y, 0.0))
        overall = np.nanmean(y, 0)
        return cls(centroids, (sums + SHRINK_ROWS * overall) / (counts + SHRINK_ROWS))

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
        """Fit on features ``x`` (n, d) and quality labels ``y`` (n, m) in [0, 1] or NaN."""
        # small dense systems: extra BLAS threads only contend
        with threadpool_limits(1, user_api="blas"):
            mean, scale = x.mean(0), x.std(0) + 1e-6
            z = (x - mean) / scale
            known = ~np.isnan(y)
            weights = np.stack(
                [fit_logistic(z[known[:, j]], y[known[:, j], j], l2) for j in range(y.shape[1])],
                1,
            )
        return cls(mean, scale, weights)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """(n, m) probabilities for features (n, d), or (m,) for one feature vector (d,)."""
        z = (x - self.mean) / self.scale
        return sigmoid(z @ self.weights[:-1] + self.weights[-1])


@dataclass
class Blender:
    """A logistic regression on the base predictors' logits, shared by every candidate.

    One weight per predictor (how far to trust it) and one bias per candidate: few parameters,
    so a blend learned on one data set's out-of-fold rows carries to its held-out prompts.
    """

    weights: np.ndarray
    """(n_predictors,) weight of each predictor's logit."""
    bias: np.ndarray
    """(n_candidates,) intercept per candidate."""

    @classmethod
    def fit(cls, logits: np.ndarray, y: np.ndarray) -> Blender:
        """Fit on (n, predictors, m) out-of-fold logits and labels (n, m), NaN where unknown."""
        n, p, m = logits.shape
        which = np.repeat(np.eye(m)[:, 1:], n, axis=0)
        design = np.hstack([logits.transpose(2, 0, 1).reshape(n * m, p), which])
        target = y.T.reshape(-1)
        known = ~np.isnan(target)
        with threadpool_limits(1, user_api="blas"):
            w = fit_logistic(design[known], target[known], BLEND_L2)
        return cls(w[:p], w[-1] + np.concatenate([[0.0], w[p:-1]]))

    def predict(self, logits: np.ndarray) -> np.ndarray:
        """(n, m) blended probabilities for (n, predictors, m) logits."""
        return sigmoid(np.einsum("npm,p->nm", logits, self.weights) + self.bias)


@dataclass
class QualityModel:
    """Logistic regressions, cluster priors and n-gram regressions, stacked by a blender."""

    logistic: Logistic
    clusters: ClusterPrior
    ngrams: NgramLogistic
    blender: Blender

    @classmethod
    def fit(
        cls,
        x: np.ndarray,
        y: np.ndarray,
        grams: Sequence[np.ndarray],
        groups: np.ndarray | None = None,
    ) -> QualityModel:
        """Fit on features ``x`` (n, embedding + STATS), n-gram buckets and quality labels
        ``y`` (n, m), NaN where unknown; ``groups``: each row's task (route/folds.py)."""
        return fit_stacked(x, y, grams, groups)[0]

    def predict(self, x: np.ndarray, grams: Sequence[np.ndarray]) -> np.ndarray:
        """(n, m) probabilities for features (n, d) and the prompts' n-gram buckets."""
        return self.blender.predict(_base_logits(self._bases(), x, grams))

    def _bases(self) -> tuple[Logistic, ClusterPrior, NgramLogistic]:
        return self.logistic, self.clusters, self.ngrams

    def to_dict(self) -> dict[str, Any]:
        """Arrays packed as base64 (float32, int32 bucket ids) for the JSON artifact."""
        arrays = {
            "mean": self.logistic.mean,
            "scale": self.logistic.scale,
            "weights": self.logistic.weights,
            "centroids": self.clusters.centroids,
            "priors": self.clusters.priors,
            "ngram_idf": self.ngrams.idf,
            "ngram_weights": self.ngrams.weights,
            "blend_weights": self.blender.weights,
            "blend_bias": self.blender.bias,
        }
        packed: dict[str, Any] = {k: _pack(v, np.float32) for k, v in arrays.items()}
        packed["ngram_kept"] = _pack(self.ngrams.kept, np.int32)
        return packed

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> QualityModel:
        """Inverse of ``to_dict``."""
        a = {k: _unpack(v) for k, v in raw.items()}
        return cls(
            Logistic(a["mean"], a["scale"], a["weights"]),
            ClusterPrior(a["centroids"], a["priors"]),
            NgramLogistic(a["ngram_kept"], a["ngram_idf"], a["ngram_weights"]),
            Blender(a["blend_weights"], a["blend_bias"]),
        )

    @property
    def candidates(self) -> int:
        """How many candidates the model predicts for."""
        return self.logistic.weights.shape[1]


def fit_stacked(
    x: np.ndarray,
    y: np.ndarray,
    grams: Sequence[np.ndarray],
    groups: np.ndarray | None = None,
) -> tuple[QualityModel, np.ndarray]:
    """The fitted model and its blended out-of-fold predictions (n, m) for the training rows.

    The base predictors are fitted on the other folds to predict each fold (STACK_FOLDS folds;
    with ``groups``, whole tasks per fold: route/folds.py), the blender on those out-of-fold
    logits, then the base predictors once more on every row.
    """
    fold = inner_folds(len(y), STACK_FOLDS, groups, STACK_SEED)
    oof = np.zeros((len(y), 3, y.shape[1]))
    for k in np.unique(fold):
        train, test = fold != k, fold == k
        bases = _fit_bases(x[train], y[train], _select(grams, train))
        oof[test] = _base_logits(bases, x[test], _select(grams, test))
    blender = Blender.fit(oof, y)
    model = QualityModel(*_fit_bases(x, y, grams), blender)
    return model, blender.predict(oof)


def _fit_bases(
    x: np.ndarray, y: np.ndarray, grams: Sequence[np.ndarray]
) -> tuple[Logistic, ClusterPrior, NgramLogistic]:
    return Logistic.fit(x, y), ClusterPrior.fit(_embedding(x), y), NgramLogistic.fit(grams, y)


def _base_logits(
    bases: tuple[Logistic, ClusterPrior, NgramLogistic],
    x: np.ndarray,
    grams: Sequence[np.ndarray],
) -> np.ndarray:
    """(n, 3, m) logits of the three base predictors."""
    logistic, clusters, ngrams = bases
    probs = np.stack(
        [logistic.predict(x), clusters.predict(_embedding(x)), ngrams.predict(grams)], 1
    )
    p = np.clip(probs, EPS, 1 - EPS)
    return np.log(p / (1 - p))


def _select(grams: Sequence[np.ndarray], mask: np.ndarray) -> list[np.ndarray]:
    return [grams[int(i)] for i in np.flatnonzero(mask)]


def _embedding(x: np.ndarray) -> np.ndarray:
    return x[:, : x.shape[1] - len(STATS)]


def _pack(a: np.ndarray, dtype: type) -> dict[str, Any]:
    data = np.ascontiguousarray(a, dtype=np.dtype(dtype).newbyteorder("<"))
    encoded = base64.b64encode(data.tobytes()).decode()
    return {"dtype": data.dtype.str, "shape": list(a.shape), "b64": encoded}


def _unpack(raw: dict[str, Any]) -> np.ndarray:
    data = np.frombuffer(base64.b64decode(raw["b64"]), dtype=np.dtype(raw["dtype"]))
    return data.reshape(raw["shape"]).astype(np.float64 if data.dtype.kind == "f" else np.int64)
