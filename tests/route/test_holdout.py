"""One split: every method's threshold, model or mix chosen on the training rows only."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.route import ngrams
from modelyard.route.calibrate import Target
from modelyard.route.features import STATS
from modelyard.route.holdout import (
    GRID,
    TARGETS,
    Deployed,
    Side,
    _upper_hull,
    levels,
    mix_for,
    play,
    single_for,
)
from modelyard.route.metrics import CostPoint
from modelyard.route.training import Fold

# cheap and poor, middling, dear and best, dear and worse than the middling one
MEANS = [CostPoint(0.0, 0.5), CostPoint(1.0, 0.8), CostPoint(4.0, 0.9), CostPoint(5.0, 0.7)]


@pytest.mark.parametrize(
    ("goal", "expected"),
    [
        (Target("quality", 0.95), 2),  # 0.855 needed: only the best reaches it
        (Target("quality", 0.85), 1),  # 0.765: the middling model is the cheapest there
        (Target("quality", 0.5), 0),
        (Target("cost", 1500.0), 1),  # $1.5 a request: the best model within it
        (Target("cost", 0.0), 0),
    ],
)
def test_single_for(goal: Target, expected: int) -> None:
    assert single_for(MEANS, goal) == expected


@pytest.mark.parametrize(
    ("goal", "pair", "share"),
    [
        (Target("quality", 0.95), (1, 2), 0.55),  # 0.855 = 0.45 × 0.8 + 0.55 × 0.9
        (Target("quality", 0.5), (0, 0), 0.0),
        (Target("cost", 500.0), (0, 1), 0.5),  # $0.5: half the middling, half the cheap
    ],
)
def test_mix_for(goal: Target, pair: tuple[int, int], share: float) -> None:
    i, j, p = mix_for(MEANS, goal)
    assert (i, j) == pair and p == pytest.approx(share)


def test_the_hull_skips_models_no_mix_would_buy() -> None:
    assert _upper_hull(MEANS) == [0, 1, 2]
    assert _upper_hull([CostPoint(0.0, 0.5)]) == [0]


def test_levels_always_have_the_same_length() -> None:
    for values in (np.array([]), np.zeros(5), np.arange(1000.0)):
        grid = levels(values, 0.0, 1.0)
        assert len(grid) == GRID + 2 and (np.diff(grid) >= 0).all()


def _side(n: int, seed: int, flip: bool = False) -> Side:
    """Prompts about two topics; the cheap model fails topic 1, the dear one answers all."""
    rng = np.random.default_rng(seed)
    topic = rng.integers(0, 2, n)
    texts = [("integral of a polynomial" if t else "capital of a country") + f" #{i}"
             for i, t in enumerate(topic)]  # fmt: skip
    emb = rng.normal(size=(n, 8))
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    x = np.hstack([emb, rng.normal(size=(n, len(STATS)))])
    cheap = (topic == 0).astype(float)
    if flip:
        cheap = 1 - cheap
    y = np.stack([cheap, np.ones(n)], 1)
    grams = [ngrams.buckets(t) for t in texts]
    return Side(Fold(texts, x, grams, y), np.tile([0.0, 1.0], (n, 1)))


def test_the_router_learns_the_topics_and_beats_random() -> None:
    split = play(_side(300, 1), _side(200, 2))
    router = split.methods["router"].at["q95"]
    assert router.quality.mean() > 0.95 and router.cost.mean() < 0.75
    mix = split.methods["random_mix"].at["q95"]
    assert mix.cost.mean() > router.cost.mean()
    assert set(split.methods) >= {"router", "tfidf-lr", "knn", "length", "best_single",
                                  "cheapest_single", "random_mix", "oracle"}  # fmt: skip
    assert split.reference == 1
    assert split.methods["router"].grid is not None
    assert split.methods["router"].grid.cost.shape == (GRID + 2, 200)


def test_thresholds_never_see_the_test_labels() -> None:
    train, test = _side(300, 1), _side(200, 2)
    flipped = _side(200, 2, flip=True)  # same prompts, the opposite truth
    first, second = play(train, test), play(train, flipped)
    for name in ("router", "tfidf-lr", "knn", "length", "random_mix", "cheapest_single"):
        assert first.methods[name].chosen == second.methods[name].chosen, name
    assert (first.methods["router"].at["q95"].cost == second.methods["router"].at["q95"].cost).all()


def test_unknown_training_labels_are_skipped() -> None:
    train = _side(300, 1)
    train.fold.y[:100, 0] = np.nan
    split = play(train, _side(100, 2))
    assert np.isfinite(split.methods["router"].predicted).all()
    assert all(np.isfinite(o.cost).all() for o in split.methods["router"].at.values())


def test_the_deployed_router_is_compared_at_its_own_target() -> None:
    test = _side(100, 2)
    test.deployed = Deployed(np.tile([0.4, 0.9], (100, 1)), 0.1, "q95")
    split = play(_side(200, 1), test)
    deployed = split.methods["deployed"]
    assert deployed.targets == ("q95",) and set(deployed.at) == set(TARGETS)
    assert (deployed.at["q95"].cost == 1.0).all()  # 0.4 is not within 0.1 of 0.9: the dear one


def test_the_cascade_needs_replies_on_both_sides() -> None:
    from modelyard.route.holdout import CASCADE_ROWS, _has_replies

    train, test = _side(100, 1), _side(50, 2)
    assert not _has_replies(train, test)
    train.replies = ["#### 4"] * (CASCADE_ROWS - 1) + [None] * (101 - CASCADE_ROWS)
    test.replies = ["#### 4"] * 50
    assert not _has_replies(train, test)  # too few training replies
    train.replies[CASCADE_ROWS - 1] = "#### 5"
    assert _has_replies(train, test)
    test.replies[0] = None
    assert not _has_replies(train, test)  # a test row without a reply


def test_a_cascade_is_played_and_counts_the_cheap_call() -> None:
    train, test = _side(300, 1), _side(120, 2)
    # the cheap model's replies: a final number when it is right, a hedge when it is wrong
    for side in (train, test):
        side.replies = ["Adding them, the answer is 7.\n#### 7" if y else "I am not sure."
                        for y in side.fold.y[:, 0]]  # fmt: skip
    split = play(train, test)
    cascade = split.methods["cascade"].at["q95"]
    assert (cascade.cost >= 0).all() and cascade.quality.mean() > 0.9
    escalated = cascade.cost > 0
    assert escalated.any() and (test.fold.y[escalated, 0] == 0).mean() > 0.8
    assert any("cascade" in note for note in split.notes)
