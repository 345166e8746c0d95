"""Training a router from labels (route/training.py): rows as a Fold, costs per cell, the model
fitted on every row and its threshold calibrated on out-of-fold predictions of complete rows."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.route import ngrams
from modelyard.route.calibrate import Target, operating_point
from modelyard.route.datasets import LabelError, LabelSet, Price
from modelyard.route.features import STATS, Featurizer, Prompt
from modelyard.route.training import Fold, featurize, featurizer_for, fit, request_costs

SYSTEM = "You are a careful assistant. Answer in one short sentence, and say so when unsure.\n\n"


def labels(texts: list[str], scores: list[list[float]], **extra: object) -> LabelSet:
    return LabelSet(
        ids=[str(i) for i in range(len(texts))],
        prompts=[Prompt(t) for t in texts],
        categories=["all"] * len(texts),
        models=["cheap", "dear"],
        scores=np.array(scores, dtype=float),
        sha256="sha",
        lines=[i + 3 for i in range(len(texts))],
        source="labels.jsonl",
        **extra,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("extra", "prices", "expected"),
    [
        ({}, None, [[0.0, 1.0], [0.0, 1.0]]),  # neither: calls, cheapest first
        ({}, [Price(1.0, 2.0), Price(3.0, 4.0)],
         [[(10 + 512) / 1e6, (30 + 1024) / 1e6], [(20 + 512) / 1e6, (60 + 1024) / 1e6]]),
        ({"costs": np.array([[0.5, 2.0], [0.25, 1.0]])}, None, [[0.5, 2.0], [0.25, 1.0]]),
        ({"costs": np.array([[0.5, np.nan], [np.nan, 1.0]])}, [Price(1.0, 0.0), Price(0.0, 1.0)],
         [[0.5, 256 / 1e6], [20 / 1e6, 1.0]]),  # the file's costs first, prices fill the gaps
        ({"input_tokens": np.array([1000.0, np.nan])}, [Price(1.0, 0.0), Price(2.0, 0.0)],
         [[1000 / 1e6, 2000 / 1e6], [20 / 1e6, 40 / 1e6]]),  # counted tokens where none given
        ({"output_tokens": np.array([[0.0, 100.0], [np.nan, np.nan]])},
         [Price(0.0, 1.0), Price(0.0, 1.0)], [[0.0, 100 / 1e6], [256 / 1e6, 256 / 1e6]]),
    ],
)  # fmt: skip
def test_request_costs(
    extra: dict, prices: list[Price] | None, expected: list[list[float]]
) -> None:
    costs = request_costs(labels(["a", "b"], [[1, 1], [0, 1]], **extra), prices, np.array([10, 20]))
    np.testing.assert_allclose(costs, expected)


def test_a_cell_without_cost_or_price_names_its_line_and_model() -> None:
    partial = labels(["a", "b"], [[1, 1], [0, 1]], costs=np.array([[0.5, 2.0], [0.25, np.nan]]))
    with pytest.raises(LabelError, match=r"^labels\.jsonl:4: costs\.dear: no cost"):
        request_costs(partial, None, np.array([1, 1]))


def _fold(n: int, seed: int) -> tuple[Fold, np.ndarray]:
    """Two kinds of prompt; the cheap model answers only the first kind."""
    rng = np.random.default_rng(seed)
    kind = rng.integers(0, 2, n)
    texts = [("what is the capital of" if k == 0 else "prove that the integral of") + f" {i}"
             for i, k in enumerate(kind)]  # fmt: skip
    emb = np.where(kind[:, None] == 0, [[1.0, 0.0]], [[0.0, 1.0]]) + rng.normal(0, 0.2, (n, 2))
    x = np.hstack([emb, np.zeros((n, len(STATS)))])
    y = np.stack([(kind == 0).astype(float), np.ones(n)], 1)
    return Fold(texts, x, [ngrams.buckets(t) for t in texts], y), np.tile([0.0, 1.0], (n, 1))


def test_the_threshold_meets_its_target_on_new_prompts() -> None:
    train, costs = _fold(300, 1)
    trained = fit(train, costs, Target("quality", 0.95))
    assert 0.0 <= trained.threshold <= 1.0
    test, test_costs = _fold(200, 2)
    predicted = trained.quality.predict(test.x, test.grams)
    point = operating_point(predicted, test.y, test_costs, trained.threshold)
    assert point.quality >= 0.95 * test.y[:, 1].mean() - 0.02
    assert point.cost < 0.75  # the cheap model takes the prompts it answers


def test_a_budget_target_is_kept_on_new_prompts() -> None:
    train, costs = _fold(300, 3)
    test, test_costs = _fold(200, 6)
    roomy = fit(train, costs, Target("cost", 600.0))  # 0.6 dear calls a request: enough
    predicted = roomy.quality.predict(test.x, test.grams)
    point = operating_point(predicted, test.y, test_costs, roomy.threshold)
    assert point.cost <= 0.65 and point.quality >= 0.95
    assert fit(train, costs, Target("cost", 0.0)).threshold == 1.0  # nothing but the cheapest


def test_unknown_labels_are_fitted_around_but_the_threshold_needs_complete_rows() -> None:
    train, costs = _fold(200, 4)
    train.y[::3, 0] = np.nan
    assert 0.0 <= fit(train, costs, Target("quality", 0.9)).threshold <= 1.0
    train.y[:, 0] = np.nan
    train.y[0, 0] = 1.0  # a model one row rated: an inner fold sees none of it
    trained = fit(train, costs, Target("quality", 0.9))
    assert np.isfinite(trained.quality.predict(train.x, train.grams)).all()
    train.y[0, 1] = np.nan  # now no row knows both models
    with pytest.raises(LabelError, match="no prompt has a score for every candidate"):
        fit(train, costs, Target("quality", 0.9))


def test_take_keeps_rows_and_their_groups_together() -> None:
    fold, _ = _fold(6, 5)
    fold.groups = np.array(list("aabbcc"))
    part = fold.take(np.array([True, False, False, True, True, False]))
    assert part.texts == [fold.texts[i] for i in (0, 3, 4)]
    assert part.groups is not None and part.groups.tolist() == ["a", "b", "c"]
    np.testing.assert_array_equal(part.x, fold.x[[0, 3, 4]])
    np.testing.assert_array_equal(part.y, fold.y[[0, 3, 4]])
    assert part.embedding.shape == (3, 2)


def test_prompts_are_read_past_the_system_text_they_share(featurizer: Featurizer) -> None:
    questions = [f"What is {i} times {i + 3}, and is it even?" for i in range(30)]
    shared = labels([SYSTEM + q for q in questions], [[1, 1]] * 30)
    reader = featurizer_for(shared, featurizer)
    assert reader.prefixes.prefixes, "the shared opening was not found"
    fold, tokens = featurize(shared, reader)
    plain, _ = featurize(labels(questions, [[1, 1]] * 30), featurizer)
    embedded = fold.embedding @ plain.embedding.T
    assert (np.argmax(embedded, 1) == np.arange(30)).all()  # each matches its own question
    assert (tokens > plain.x.shape[0] * 0).all() and fold.groups is None
    alone, _ = featurize(shared, featurizer)  # without the table every prompt reads alike
    spread = lambda e: float(np.mean(1 - e @ e.T))  # noqa: E731
    assert spread(alone.embedding) < spread(fold.embedding)
