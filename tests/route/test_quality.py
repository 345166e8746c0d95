"""The stacked quality model and its n-gram predictor, on synthetic prompts with a known signal."""

from __future__ import annotations

import numpy as np

from modelyard.route import ngrams
from modelyard.route.features import STATS
from modelyard.route.folds import fold_ids
from modelyard.route.quality import Blender, ClusterPrior, QualityModel, fit_stacked

TOPICS = ("integral of the polynomial", "capital city of the country", "poem about the sea")


def _data(n: int = 240) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Candidate 1 answers the first topic well, candidate 0 never: only the words tell."""
    rng = np.random.default_rng(0)
    topic = rng.integers(0, len(TOPICS), n)
    texts = [f"Question {i}: the {TOPICS[t]} please" for i, t in enumerate(topic)]
    emb = rng.normal(size=(n, 8))
    x = np.hstack(
        [emb / np.linalg.norm(emb, axis=1, keepdims=True), rng.normal(size=(n, len(STATS)))]
    )
    y = np.stack([np.zeros(n), (topic == 0).astype(float)], 1)
    return x, y, texts


def test_buckets_are_stable_and_case_blind() -> None:
    a = ngrams.buckets("Per hour, how many?")
    assert np.array_equal(a, ngrams.buckets("per HOUR how many"))
    assert len(a) == 4 + 3 and a.max() < 2**ngrams.BITS
    # pinned: router files store bucket ids, so the hashing must not drift (else bump VERSION)
    assert ngrams.buckets("per hour").tolist() == [245107, 109524, 222759]
    assert len(ngrams.buckets("")) == 0


def test_ngram_model_learns_words_the_embedding_lacks() -> None:
    _, y, texts = _data()
    ids = fold_ids(len(y), 2)
    train, test = ids == 0, ids == 1
    grams = [ngrams.buckets(t) for t in texts]
    pick = lambda m: [grams[i] for i in np.flatnonzero(m)]  # noqa: E731
    p = ngrams.NgramLogistic.fit(pick(train), y[train]).predict(pick(test))
    gain = p[:, 1] - p[:, 0]
    assert gain[y[test, 1] == 1].min() > gain[y[test, 1] == 0].max()


def test_stack_trusts_the_informative_predictor_and_round_trips() -> None:
    x, y, texts = _data()
    grams = [ngrams.buckets(t) for t in texts]
    model, held_out = fit_stacked(x, y, grams)
    assert held_out.shape == y.shape
    # the embedding and statistics are noise here; the blender must lean on the n-grams
    assert model.blender.weights[2] > 2 * max(abs(model.blender.weights[:2]).max(), 0.1)
    again = QualityModel.from_dict(model.to_dict())
    np.testing.assert_allclose(again.predict(x, grams), model.predict(x, grams), atol=1e-4)
    one = again.predict(x[:1], grams[:1])[0]
    assert one.shape == (2,) and (one[1] > 0.5) == bool(y[0, 1])


def test_unknown_labels_are_left_out_of_every_predictor() -> None:
    x, y, texts = _data()
    grams = [ngrams.buckets(t) for t in texts]
    partial = y.copy()
    partial[::2, 1] = np.nan  # half the rows lack candidate 1's label
    model, held_out = fit_stacked(x, partial, grams)
    assert np.isfinite(held_out).all() and np.isfinite(model.predict(x, grams)).all()
    # candidate 1 is still learned from the rows that have it: topic 0 predicted higher
    p = model.predict(x, grams)[:, 1]
    assert p[y[:, 1] == 1].mean() > p[y[:, 1] == 0].mean() + 0.3


def test_cluster_priors_average_known_labels_only() -> None:
    emb = np.eye(2).repeat(50, axis=0)  # two tight clusters of 50
    y = np.stack([np.r_[np.ones(50), np.zeros(50)], np.full(100, np.nan)], 1)
    y[:10, 1] = 1.0  # a few known labels for candidate 1, all in cluster 0
    prior = ClusterPrior.fit(emb, y)
    first, second = prior.predict(np.eye(2))
    assert first[0] > 0.7 > 0.3 > second[0]
    assert first[1] > 0.9  # shrunk towards the known mean (1.0), not towards NaN
    assert np.isfinite(prior.priors).all()


def test_the_blender_ignores_unknown_cells() -> None:
    rng = np.random.default_rng(2)
    logits = rng.normal(size=(300, 3, 2))
    y = (logits[:, 0] > 0).astype(float)
    y[:100, 0] = np.nan
    blender = Blender.fit(logits, y)
    assert blender.weights[0] > 1.0 and abs(blender.weights[1]) < 0.5
    assert np.isfinite(blender.predict(logits)).all()


def test_too_few_prompts_for_any_bucket() -> None:
    model = ngrams.NgramLogistic.fit([ngrams.buckets("one two")], np.array([[1.0]]))
    assert len(model.kept) == 0
    assert model.predict([ngrams.buckets("three four")]).shape == (1, 1)
    assert model.predict([]).shape == (0, 1)


def test_salted_buckets_differ() -> None:
    plain, salted = ngrams.buckets("legal assistant"), ngrams.buckets("legal assistant", 0x5157)
    assert len(plain) == len(salted) == 3 and not set(plain) & set(salted)


def test_kmeans_is_deterministic_and_unit_length() -> None:
    from modelyard.route.quality import spherical_kmeans

    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 5))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    a, b = spherical_kmeans(x, 4, seed=7), spherical_kmeans(x, 4, seed=7)
    assert (a == b).all() and np.allclose(np.linalg.norm(a, axis=1), 1.0)


def test_the_packed_arrays_round_trip_exactly_as_float32() -> None:
    from modelyard.route.quality import _pack, _unpack

    a = np.array([[1.5, -2.25], [1e-8, 3e8]])
    again = _unpack(_pack(a, np.float32))
    assert again.dtype == np.float64 and again.shape == (2, 2)
    np.testing.assert_array_equal(again, a.astype(np.float32))
    ids = _unpack(_pack(np.array([3, 262143]), np.int32))
    assert ids.dtype == np.int64 and ids.tolist() == [3, 262143]
