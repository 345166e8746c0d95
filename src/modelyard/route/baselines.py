"""Baseline quality predictors to compare the router with, on the same folds.

Each baseline fits on a training fold and returns, for the test fold, a predicted quality per
candidate; the same routing rule (calibrate.choose) turns predictions into decisions. Random,
oracle, always-cheap and always-strong need no predictions: metrics.py computes them.

- ``length``: logistic regression on the prompt's token count alone;
- ``knn``: mean label of the 50 training prompts nearest in embedding space (cosine);
- ``tfidf-lr``: logistic regression on TF-IDF of the 1,000 most frequent words (numpy; no
  scikit-learn dependency for one baseline).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from modelyard.route.features import STATS
from modelyard.route.quality import Logistic, QualityModel

WORD = re.compile(r"[a-z0-9]+")
KNN_K = 50
TFIDF_WORDS = 1000


@dataclass
class Fold:
    """The rows of one side of a split: texts, features (embedding then STATS) and labels."""

    texts: list[str]
    x: np.ndarray
    y: np.ndarray

    @property
    def embedding(self) -> np.ndarray:
        return self.x[:, : -len(STATS)]


def router(train: Fold, test: Fold) -> np.ndarray:
    """The router's own quality model (route/quality.py)."""
    return QualityModel.fit(train.x, train.y, train.texts).predict(test.x, test.texts)


def length(train: Fold, test: Fold) -> np.ndarray:
    """Quality from prompt length only."""
    col = [train.x.shape[1] - len(STATS) + STATS.index("log_tokens")]
    return Logistic.fit(train.x[:, col], train.y).predict(test.x[:, col])


def knn(train: Fold, test: Fold, k: int = KNN_K) -> np.ndarray:
    """Mean labels of the ``k`` nearest training prompts."""
    sims = test.embedding @ train.embedding.T
    k = min(k, sims.shape[1])
    nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    return train.y[nearest].mean(1)


def _words(text: str) -> list[str]:
    return WORD.findall(text.lower())


def tfidf_lr(train: Fold, test: Fold) -> np.ndarray:
    """Logistic regression on TF-IDF features of the most frequent training words."""
    docs = [set(_words(t)) for t in train.texts]
    df = Counter(w for d in docs for w in d)
    vocab = {w: i for i, (w, _) in enumerate(df.most_common(TFIDF_WORDS))}
    idf = np.log((1 + len(docs)) / (1 + np.array([df[w] for w in vocab]))) + 1

    def matrix(texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), len(vocab)))
        for row, text in enumerate(texts):
            for word, count in Counter(_words(text)).items():
                if word in vocab:
                    out[row, vocab[word]] = count
        out *= idf
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-9)

    return Logistic.fit(matrix(train.texts), train.y).predict(matrix(test.texts))


PREDICTORS: dict[str, Callable[[Fold, Fold], np.ndarray]] = {
    "router": router,
    "length": length,
    "knn": knn,
    "tfidf-lr": tfidf_lr,
}
"""Every learned predictor evaluated by `yard route eval`, the router first."""
