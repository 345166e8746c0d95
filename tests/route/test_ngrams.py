"""Hashed word n-grams and their TF-IDF logistic regression."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.route import ngrams


@pytest.mark.parametrize(
    ("text", "count"),
    [("", 0), ("one", 1), ("one two", 3), ("one two three", 5), ("!!! ??? ...", 0)],
)
def test_unigrams_and_bigrams(text: str, count: int) -> None:
    assert len(ngrams.buckets(text)) == count


def test_repeats_count_sublinearly() -> None:
    ids, tf = ngrams.counts(ngrams.buckets("yes yes yes no"))
    weights = dict(zip(ids.tolist(), tf.tolist(), strict=True))
    yes = int(ngrams.buckets("yes")[0])
    assert weights[yes] == pytest.approx(1 + np.log(3))
    assert len(ids) == len(set(ids.tolist()))


def test_word_order_matters_for_bigrams_only() -> None:
    a, b = set(ngrams.buckets("dog bites man")), set(ngrams.buckets("man bites dog"))
    assert len(a & b) == 3  # the three unigrams


def test_rare_buckets_are_dropped_and_vectors_normalised() -> None:
    texts = [f"common words here {i}" for i in range(10)] + ["rare phrase"]
    grams = [ngrams.buckets(t) for t in texts]
    y = np.tile([[0.2], [0.8]], (6, 1))[: len(texts)]
    model = ngrams.NgramLogistic.fit(grams, y)
    rare = int(ngrams.buckets("rare")[0])
    assert rare not in set(model.kept.tolist())  # seen once, MIN_DF is 5
    for _cols, values in model._tfidf([ngrams.counts(g) for g in grams]):
        if len(values):
            assert np.linalg.norm(values) == pytest.approx(1.0)


def test_unknown_words_predict_the_bias() -> None:
    grams = [ngrams.buckets(f"alpha beta {i % 2}") for i in range(40)]
    y = np.array([[i % 2] for i in range(40)], dtype=float)
    model = ngrams.NgramLogistic.fit(grams, y)
    (p,) = model.predict([ngrams.buckets("entirely unseen words")])
    assert p[0] == pytest.approx(1 / (1 + np.exp(-model.weights[-1, 0])))
