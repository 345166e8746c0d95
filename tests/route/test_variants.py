"""The candidate changes measured beside the router (route/variants.py): the shrink weight is
chosen on out-of-fold rows only and pulls toward the other folds' means; the router is kept
only where its out-of-fold ranking beats the random mix's curve."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.route import variants
from modelyard.route.folds import inner_folds
from modelyard.route.holdout import mix_area, play
from modelyard.route.quality import STACK_FOLDS, STACK_SEED, known_mean
from tests.route.test_holdout import _side


def two_models(n: int, seed: int, signal: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels of a cheap and a dear model, costs in calls, and predictions whose gain carries
    ``signal`` (0: noise, 1: the truth)."""
    rng = np.random.default_rng(seed)
    y = np.stack([rng.random(n) < 0.5, rng.random(n) < 0.9], 1).astype(float)
    noise = rng.random((n, 2))
    return y, np.tile([0.0, 1.0], (n, 1)), signal * y + (1 - signal) * noise


def test_the_curve_area_rewards_a_ranking_that_knows() -> None:
    y, costs, knows = two_models(400, 1, 1.0)
    _, _, guesses = two_models(400, 1, 0.0)
    assert variants.curve_area(knows, y, costs) > variants.curve_area(guesses, y, costs) + 0.05
    # a guess never routes better than the random mixes between the two models (and, sending
    # half of the prompts to each at most, it cannot spend its way to the dear model's quality)
    assert variants.curve_area(guesses, y, costs) < mix_area(y, costs)
    assert abs(mix_area(y, costs) - y.mean(0).mean()) < 0.005  # the line's mean, in 101 steps


def test_a_ranking_is_trusted_only_where_it_beats_the_mix() -> None:
    y, costs, knows = two_models(400, 2, 0.9)
    assert variants.router_beats_mix(knows, y, costs, mix_area)
    _, _, guesses = two_models(400, 2, 0.0)
    assert not variants.router_beats_mix(1 - knows, y, costs, mix_area)  # ranked backwards
    assert not variants.router_beats_mix(guesses, y, costs, mix_area)
    assert not variants.router_beats_mix(np.full_like(knows, np.nan), y, costs, mix_area)


def test_fold_means_leave_the_rows_fold_out() -> None:
    y = np.arange(24, dtype=float).reshape(12, 2) % 5 / 4
    groups = np.array(list("aabbccddeeff"))
    means = variants.fold_means(y, groups)
    fold = inner_folds(12, STACK_FOLDS, groups, STACK_SEED)
    for k in np.unique(fold):
        np.testing.assert_allclose(means[fold == k], np.tile(known_mean(y[fold != k]),
                                   ((fold == k).sum(), 1)))  # fmt: skip


@pytest.mark.parametrize(("signal", "expected"), [(1.0, 1.0), (0.0, 0.0)])
def test_the_weight_follows_what_the_predictions_know(signal: float, expected: float) -> None:
    y, costs, held = two_models(600, 4, signal)
    prior = np.tile(y.mean(0), (600, 1))
    w = variants.shrink_weight(held, prior, y, costs)
    if expected:
        assert w == expected  # the truth is never improved by pulling it toward a constant
    else:  # pure noise: some pull toward the means routes no worse than the noise
        assert variants.curve_area(w * held + (1 - w) * prior, y, costs) >= variants.curve_area(
            held, y, costs) - 1e-9  # fmt: skip


def test_shrunk_predictions_keep_their_shape_and_skip_unknown_labels() -> None:
    y, costs, held = two_models(300, 5, 0.5)
    y[::10, 0] = np.nan
    (test, oof), w = variants.shrunk((held[:40], held), y, costs, None)
    assert test.shape == (40, 2) and oof.shape == (300, 2) and w in variants.W_GRID
    assert np.isfinite(test).all() and np.isfinite(oof).all()


def test_both_candidates_are_played_beside_the_router() -> None:
    split = play(_side(300, 1), _side(150, 2))
    shrunk, either = split.methods["router-shrunk"], split.methods["router-or-mix"]
    assert shrunk.chosen["weight"] in variants.W_GRID and shrunk.grid is not None
    assert either.chosen["router"] is True  # the topics are learnable: the router is kept
    assert either.at["q95"] is split.methods["router"].at["q95"]


def test_the_robust_threshold_is_the_worst_tasks() -> None:
    """Two tasks: on 'easy' the cheap model is as good as the dear one, on 'hard' it fails
    half the time; each task's own threshold, and the one both can live with."""
    from modelyard.route.calibrate import Target, calibrate

    rng = np.random.default_rng(6)
    n = 200
    groups = np.array(["easy"] * n + ["hard"] * n)
    cheap = np.r_[np.ones(n), (rng.random(n) < 0.5).astype(float)]
    y = np.stack([cheap, np.ones(2 * n)], 1)
    held = np.stack([0.5 * cheap + 0.25 * rng.random(2 * n), np.full(2 * n, 0.9)], 1)
    costs = np.tile([0.0, 1.0], (2 * n, 1))
    goal = Target("quality", 0.95)
    tau = variants.robust_threshold(held, y, costs, groups, goal, fallback=0.42)
    hard, easy = groups == "hard", groups == "easy"
    assert tau == calibrate(held[hard], y[hard], costs[hard], goal)  # the hard task decides
    assert tau <= calibrate(held[easy], y[easy], costs[easy], goal)
    assert tau <= calibrate(held, y, costs, goal)  # spends at least what the pooled rows ask
    assert variants.robust_threshold(held, y, costs, None, goal, 0.42) == 0.42  # no tasks
    assert variants.robust_threshold(held, y, costs, groups, Target("cost", 5.0), 0.42) == 0.42
    y[:5, 0] = np.nan  # unknown labels are left out, not a reason to fail
    assert variants.robust_threshold(held, y, costs, groups, goal, 0.42) == tau


def test_a_task_no_threshold_satisfies_asks_for_the_best_prediction() -> None:
    y = np.tile([[0.2, 1.0]], (40, 1))
    held = np.tile([[0.9, 0.1]], (40, 1))  # the router ranks the dear model last everywhere
    groups = np.array(["a", "b"] * 20)
    tau = variants.robust_threshold(held, y, np.tile([0.0, 1.0], (40, 1)), groups,
                                    variants.Target("quality", 0.95), 0.5)  # fmt: skip
    assert tau == 0.0
