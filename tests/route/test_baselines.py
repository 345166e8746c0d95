"""The learned baselines `yard route eval` compares the router with: each learns what it can see
(neighbours, words, length), skips unknown labels, and its training predictions are out of
fold (a memoriser gains nothing on its own threshold)."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.route import ngrams
from modelyard.route.baselines import (
    INNER_FOLDS,
    KNN_K,
    PREDICTORS,
    knn,
    length,
    nested,
    tfidf_lr,
)
from modelyard.route.features import STATS
from modelyard.route.training import Fold

LOG_TOKENS = STATS.index("log_tokens")


def fold(texts: list[str], embedding: np.ndarray, y: np.ndarray, tokens: np.ndarray | None = None,
         groups: np.ndarray | None = None) -> Fold:  # fmt: skip
    """A Fold from an embedding, labels and (optionally) each prompt's token count."""
    stats = np.zeros((len(texts), len(STATS)))
    if tokens is not None:
        stats[:, LOG_TOKENS] = np.log1p(tokens)
    x = np.hstack([embedding, stats])
    return Fold(texts, x, [ngrams.buckets(t) for t in texts], y, groups)


def unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def two_clusters(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Embeddings around two directions, and which cluster each row is in."""
    rng = np.random.default_rng(seed)
    side = rng.integers(0, 2, n)
    centre = np.where(side[:, None] == 1, [[1.0, 0.0, 0.0]], [[0.0, 1.0, 0.0]])
    return unit(centre + rng.normal(scale=0.1, size=(n, 3))), side


def test_knn_is_the_mean_label_of_the_nearest_prompts() -> None:
    train_x = unit(np.array([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [0.1, 0.9]]))
    y = np.array([[1.0, 0.0], [0.0, 0.0], [0.0, 1.0], [0.0, 1.0]])
    train = fold(["a", "b", "c", "d"], train_x, y)
    test = fold(["e"], unit(np.array([[1.0, 0.05]])), np.zeros((1, 2)))
    np.testing.assert_allclose(knn(train, test, k=2), [[0.5, 0.0]])
    np.testing.assert_allclose(knn(train, test, k=1), [[1.0, 0.0]])  # (1, 0) itself is nearest
    # more neighbours asked than rows: every row counts
    np.testing.assert_allclose(knn(train, test, k=KNN_K), [[0.25, 0.5]])


def test_knn_skips_unknown_labels_and_falls_back_to_the_column_mean() -> None:
    train_x = unit(np.array([[1.0, 0.0], [0.0, 1.0], [0.1, 1.0]]))
    y = np.array([[np.nan, 1.0], [0.0, 0.0], [1.0, np.nan]])
    train = fold(["a", "b", "c"], train_x, y)
    test = fold(["near a"], unit(np.array([[1.0, 0.0]])), np.zeros((1, 2)))
    # the one nearest row knows only the second model: the first falls back to its mean (0.5)
    np.testing.assert_allclose(knn(train, test, k=1), [[0.5, 1.0]])
    unknown = fold(["a", "b"], train_x[:2], np.full((2, 2), np.nan))
    np.testing.assert_allclose(knn(unknown, test, k=1), [[0.5, 0.5]])  # nothing known at all


def test_knn_learns_clusters() -> None:
    emb, side = two_clusters(200, 1)
    y = np.stack([side, 1 - side], 1).astype(float)
    test_emb, test_side = two_clusters(50, 2)
    predicted = knn(fold(["p"] * 200, emb, y), fold(["q"] * 50, test_emb, np.zeros((50, 2))))
    assert ((predicted[:, 0] > 0.5) == (test_side == 1)).all()


def test_tfidf_lr_learns_which_words_a_model_fails_on() -> None:
    """Strongly regularised (quality.L2): unsure on few rows, surer with more, never wrong."""
    maths = ["integral of x squared", "derivative of sin x", "solve the integral"]
    trivia = ["capital of france", "who wrote hamlet", "capital city of peru"]
    test = fold(["the integral of cos x", "capital of spain"], np.zeros((2, 2)), np.zeros((2, 2)))
    gaps = []
    for n in (120, 400):
        texts = [(maths if i % 2 else trivia)[i % 3] for i in range(n)]
        y = np.array([[0.0 if t in maths else 1.0, 1.0] for t in texts])
        predicted = tfidf_lr(fold(texts, np.zeros((n, 2)), y), test)
        assert predicted[0, 0] < 0.5 < predicted[1, 0]
        assert (predicted[:, 1] > 0.5).all()
        gaps.append(predicted[1, 0] - predicted[0, 0])
    assert gaps[1] > gaps[0] > 0.05


def test_tfidf_lr_reads_no_words_it_never_saw() -> None:
    texts = ["alpha beta", "gamma delta"] * 20
    y = np.tile([[1.0, 0.0], [0.0, 1.0]], (20, 1))
    train = fold(texts, np.zeros((40, 2)), y)
    unseen = tfidf_lr(train, fold(["zeta eta", ""], np.zeros((2, 2)), np.zeros((2, 2))))
    np.testing.assert_allclose(unseen[0], unseen[1])  # both read as an empty prompt


def test_length_learns_that_long_prompts_fail() -> None:
    tokens = np.r_[np.full(60, 20.0), np.full(60, 3000.0)]
    y = np.stack([(tokens < 100).astype(float), np.ones(120)], 1)
    train = fold(["p"] * 120, np.zeros((120, 2)), y, tokens)
    test = fold(["s", "l"], np.zeros((2, 2)), np.zeros((2, 2)), np.array([25.0, 2500.0]))
    predicted = length(train, test)
    assert predicted[0, 0] > 0.5 > predicted[1, 0]  # regularised (quality.L2): leaning, not sure
    assert abs(predicted[0, 1] - predicted[1, 1]) < 1e-9  # length says nothing of a sure model


def test_nested_predictions_come_from_fits_that_did_not_see_the_row() -> None:
    """A predictor that remembers every training row's labels exactly: in sample it would be
    perfect; out of fold it can only say what it remembered of other rows."""

    def memorise(train: Fold, test: Fold) -> np.ndarray:
        seen = {t: y for t, y in zip(train.texts, train.y, strict=True)}
        return np.array([seen.get(t, [0.5, 0.5]) for t in test.texts])

    texts = [f"prompt {i}" for i in range(30)]
    y = np.tile([1.0, 0.0], (30, 1))
    train = fold(texts, np.zeros((30, 2)), y)
    test_pred, held_out = nested(memorise)(train, fold(texts[:3], np.zeros((3, 2)), y[:3]))
    np.testing.assert_allclose(test_pred, y[:3])  # the final fit saw every training row
    np.testing.assert_allclose(held_out, 0.5)  # no row was predicted by a fit that saw it


def test_nested_folds_hold_whole_tasks() -> None:
    seen_tasks: list[tuple[set[str], set[str]]] = []

    def record(train: Fold, test: Fold) -> np.ndarray:
        assert train.groups is not None and test.groups is not None
        seen_tasks.append((set(train.groups), set(test.groups)))
        return np.zeros(test.y.shape)

    groups = np.array([f"task{i % 6}" for i in range(60)])
    train = fold(["p"] * 60, np.zeros((60, 2)), np.zeros((60, 2)), groups=groups)
    nested(record)(train, fold(["q"], np.zeros((1, 2)), np.zeros((1, 2)), groups=np.array(["x"])))
    inner = seen_tasks[:-1]  # the last call is the final fit on every row
    assert len(inner) == INNER_FOLDS
    for fitted, predicted in inner:
        assert fitted.isdisjoint(predicted)  # a task is never both fitted and predicted
    assert set().union(*(p for _, p in inner)) == set(groups)


@pytest.mark.parametrize("name", list(PREDICTORS))
def test_every_predictor_gives_probabilities_of_the_right_shape(name: str) -> None:
    emb, side = two_clusters(80, 4)
    y = np.stack([side, np.ones(80), 1 - side], 1).astype(float)
    y[::7, 1] = np.nan  # unknown cells are left out of every fit
    texts = [("integral" if s else "capital") + f" {i}" for i, s in enumerate(side)]
    train = fold(texts, emb, y, np.full(80, 30.0))
    test_emb, _ = two_clusters(10, 5)
    test = fold([f"capital {i}" for i in range(10)], test_emb, np.zeros((10, 3)), np.full(10, 9.0))
    predicted, held_out = PREDICTORS[name](train, test)
    assert predicted.shape == (10, 3) and held_out.shape == (80, 3)
    for values in (predicted, held_out):
        assert np.isfinite(values).all() and (values >= 0).all() and (values <= 1).all()


def test_the_router_is_the_first_predictor() -> None:
    assert list(PREDICTORS) == ["router", "tfidf-lr", "knn", "length"]
