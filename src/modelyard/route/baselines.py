"""The learned predictors compared by `yard route eval`: the router and its baselines.

Each fits on the training rows and returns, for the test rows, a predicted quality per
candidate, and for the training rows out-of-fold predictions (from fits that did not see them)
on which its routing threshold is calibrated: nested, so no threshold sees a test row; when the
rows name tasks, the inner folds hold whole tasks, for every method alike (route/folds.py). The same
routing rule (calibrate.choose) turns every method's predictions into decisions. Labels may be
NaN (unknown): every fit leaves those cells out.

- ``router``: the stacked quality model (route/quality.py; its own out-of-fold predictions);
- ``length``: logistic regression on the prompt's token count alone;
- ``knn``: mean label of the 50 training prompts nearest in embedding space (cosine);
- ``tfidf-lr``: logistic regression on TF-IDF of the 1,000 most frequent words.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable

import numpy as np

from modelyard.route.features import STATS
from modelyard.route.folds import inner_folds
from modelyard.route.quality import Logistic, fit_stacked
from modelyard.route.training import Fold

WORD = re.compile(r"[a-z0-9]+")
KNN_K = 50
TFIDF_WORDS = 1000
INNER_FOLDS = 3
"""Folds of the training rows giving a baseline's out-of-fold predictions."""

Predictions = tuple[np.ndarray, np.ndarray]
"""(test predictions, training rows' out-of-fold predictions), each (rows, candidates)."""


def router(train: Fold, test: Fold) -> Predictions:
    """The router's own quality model (route/quality.py)."""
    model, held_out = fit_stacked(train.x, train.y, train.grams, train.groups)
    return model.predict(test.x, test.grams), held_out


def length(train: Fold, test: Fold) -> np.ndarray:
    """Quality from prompt length only."""
    col = [train.x.shape[1] - len(STATS) + STATS.index("log_tokens")]
    return Logistic.fit(train.x[:, col], train.y).predict(test.x[:, col])


def knn(train: Fold, test: Fold, k: int = KNN_K) -> np.ndarray:
    """Mean known labels of the ``k`` nearest training prompts."""
    sims = test.embedding @ train.embedding.T
    k = min(k, sims.shape[1])
    nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
    near = train.y[nearest]
    known = (~np.isnan(near)).sum(1)
    fallback = np.nan_to_num(np.nanmean(train.y, 0), nan=0.5)
    return np.where(known > 0, np.nansum(near, 1) / np.maximum(known, 1), fallback)


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


def nested(fit_predict: Callable[[Fold, Fold], np.ndarray]) -> Callable[[Fold, Fold], Predictions]:
    """A predictor that also gives out-of-fold predictions for its training rows."""

    def run(train: Fold, test: Fold) -> Predictions:
        ids = inner_folds(len(train.y), INNER_FOLDS, train.groups, seed=1)
        held_out = np.zeros(train.y.shape)
        for k in np.unique(ids):
            held_out[ids == k] = fit_predict(train.take(ids != k), train.take(ids == k))
        return fit_predict(train, test), held_out

    return run


PREDICTORS: dict[str, Callable[[Fold, Fold], Predictions]] = {
    "router": router,
    "tfidf-lr": nested(tfidf_lr),
    "knn": nested(knn),
    "length": nested(length),
}
"""Every learned predictor evaluated by `yard route eval`, the router first."""
