"""Word n-grams of a prompt, hashed and TF-IDF weighted, and a logistic regression on them.

The embedding averages a prompt into one direction; word n-grams keep what it blurs: which
exact terms and phrases occur ("is NOT", "per hour"). Each lower-cased word unigram and
bigram is hashed into one of 2**BITS buckets (crc32 of the words then a 64-bit mix: the
same bucket in every process and on every machine, no vocabulary to store). Training keeps
the buckets seen in at least MIN_DF training prompts; a prompt's vector is the sublinear
count (1 + log n) times the inverse document frequency, L2-normalised. Serving a prompt is
a regular expression, a few hashes and a dot product over its few dozen buckets.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from modelyard.route.logistic import fit_logistic, sigmoid

BITS = 18
WORD = re.compile(r"[a-z0-9]+")
NGRAMS = (1, 2)
MIN_DF = 5
"""Buckets seen in fewer training prompts are dropped (rare terms only add noise and size)."""
L2 = 3.0
"""Ridge strength on the summed log-loss."""
_MULT = np.uint64(1000003)
_MIX = np.uint64(0xBF58476D1CE4E5B9)


def buckets(text: str, salt: int = 0) -> np.ndarray:
    """Bucket ids (with repeats) of the prompt's word n-grams; another ``salt``, other buckets
    (the system prompt's n-grams are hashed apart from the user turn's)."""
    words = np.array([zlib.crc32(w.encode()) for w in WORD.findall(text.lower())], np.uint64)
    parts = [_windows(words, n) for n in range(NGRAMS[0], NGRAMS[1] + 1)]
    h = np.concatenate(parts) ^ np.uint64(salt)
    h = (h ^ (h >> np.uint64(29))) * _MIX
    return ((h ^ (h >> np.uint64(32))) & np.uint64((1 << BITS) - 1)).astype(np.int64)


def _windows(ids: np.ndarray, n: int) -> np.ndarray:
    """A polynomial hash of every run of ``n`` consecutive ids, salted by ``n``."""
    width = len(ids) - n + 1
    h = np.full(max(width, 0), n, dtype=np.uint64)
    for k in range(n):
        h = h * _MULT + ids[k : k + width]
    return h


def counts(grams: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sorted distinct buckets of one prompt and their sublinear counts ``1 + log n``."""
    ids, n = np.unique(grams, return_counts=True)
    return ids, 1.0 + np.log(n)


@dataclass
class NgramLogistic:
    """Per-candidate logistic regressions on TF-IDF of the kept buckets."""

    kept: np.ndarray
    """Sorted bucket ids that have a column."""
    idf: np.ndarray
    weights: np.ndarray
    """(len(kept) + 1, n_candidates); the last row is the bias."""

    @classmethod
    def fit(cls, grams: Sequence[np.ndarray], y: np.ndarray, l2: float = L2) -> NgramLogistic:
        """Fit on prompts' bucket ids and quality labels ``y`` (n, m) in [0, 1]; a NaN label
        (not known) leaves its row out of that candidate's regression."""
        rows = [counts(g) for g in grams]
        seen = np.concatenate([r[0] for r in rows] or [np.zeros(0, np.int64)]).astype(np.int64)
        df = np.bincount(seen, minlength=1 << BITS)
        kept = np.flatnonzero(df >= MIN_DF)
        idf = np.log((1 + len(grams)) / (1 + df[kept])) + 1
        model = cls(kept, idf, np.zeros((len(kept) + 1, y.shape[1])))
        x = _csr(model._tfidf(rows), len(kept))
        known = ~np.isnan(y)
        model.weights = np.stack(
            [fit_logistic(x[known[:, j]], y[known[:, j], j], l2) for j in range(y.shape[1])], 1
        )
        return model

    def predict(self, grams: Sequence[np.ndarray]) -> np.ndarray:
        """(n, m) probabilities for prompts' bucket ids."""
        rows = self._tfidf([counts(g) for g in grams])
        z = np.array([v @ self.weights[cols] for cols, v in rows])
        z = z.reshape(len(rows), self.weights.shape[1]) + self.weights[-1]
        return sigmoid(z)

    def _tfidf(
        self, rows: list[tuple[np.ndarray, np.ndarray]]
    ) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per prompt: the columns of its kept buckets and their L2-normalised TF-IDF values."""
        out = []
        last = len(self.kept) - 1
        for ids, tf in rows:
            if last < 0:  # trained on too few prompts for any bucket to reach MIN_DF
                out.append((np.zeros(0, np.int64), np.zeros(0)))
                continue
            pos = np.searchsorted(self.kept, ids)
            hit = self.kept[np.minimum(pos, last)] == ids
            v = tf[hit] * self.idf[pos[hit]]
            out.append((pos[hit], v / max(float(np.linalg.norm(v)), 1e-12)))
        return out


def _csr(rows: list[tuple[np.ndarray, np.ndarray]], width: int) -> sp.csr_matrix:
    indptr = np.cumsum([0] + [len(c) for c, _ in rows])
    cols = np.concatenate([c for c, _ in rows])
    vals = np.concatenate([v for _, v in rows])
    return sp.csr_matrix((vals, cols, indptr), shape=(len(rows), width))
