"""What the baselines choose on the training means, for any models (hypothesis draws them): the
single model and the random mix meet a quality target as cheaply as a single model can, and
keep to a budget as well as one can; on a split every outcome is something a model gave."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.route.calibrate import Target
from modelyard.route.holdout import TARGETS, Side, play
from modelyard.route.metrics import CostPoint
from modelyard.route.mixes import mix_for, single_for
from modelyard.route.training import Fold
from tests.route.test_holdout import _side

MEANS = st.lists(
    st.builds(CostPoint, st.floats(0, 10, allow_nan=False), st.floats(0.01, 1, allow_nan=False)),
    min_size=1,
    max_size=8,
)
SHARE = st.floats(0.5, 1.0, allow_nan=False)


def mixed(means: list[CostPoint], i: int, j: int, p: float) -> CostPoint:
    a, b = means[i], means[j]
    return CostPoint((1 - p) * a.cost + p * b.cost, (1 - p) * a.quality + p * b.quality)


@settings(max_examples=300, deadline=None)
@given(MEANS, SHARE)
def test_a_quality_target_is_met_as_cheaply_as_one_model_can(means: list[CostPoint],
                                                              share: float) -> None:  # fmt: skip
    goal = share * max(m.quality for m in means)
    j = single_for(means, Target("quality", share))
    assert means[j].quality >= goal - 1e-12
    reach = [m.cost for m in means if m.quality >= goal - 1e-12]
    assert means[j].cost == min(reach)
    i, k, p = mix_for(means, Target("quality", share))
    point = mixed(means, i, k, p)
    assert 0.0 <= p <= 1.0
    assert point.quality >= goal - 1e-9
    assert point.cost <= means[j].cost + 1e-9  # a single model is a mix too


@settings(max_examples=300, deadline=None)
@given(MEANS, st.floats(0, 12_000, allow_nan=False))
def test_a_budget_is_kept_as_well_as_one_model_can(means: list[CostPoint],
                                                    per_1k: float) -> None:  # fmt: skip
    budget = per_1k / 1000
    within = [m for m in means if m.cost * 1000 <= per_1k + 1e-12]
    j = single_for(means, Target("cost", per_1k))
    i, k, p = mix_for(means, Target("cost", per_1k))
    point = mixed(means, i, k, p)
    if not within:  # nothing fits: the cheapest model, alone
        cheapest = min(m.cost for m in means)
        assert means[j].cost == cheapest and point.cost == cheapest and p == 0.0
        return
    assert means[j].cost * 1000 <= per_1k + 1e-12
    assert means[j].quality == max(m.quality for m in within)
    assert point.cost <= budget + 1e-9
    assert point.quality >= means[j].quality - 1e-9


@pytest.mark.parametrize("seed", range(3))
def test_every_outcome_on_a_split_is_a_mix_of_what_models_gave(seed: int) -> None:
    train, test = _side(200, seed), _side(120, seed + 10)
    split = play(train, test)
    y, costs = test.fold.y, test.costs
    assert split.reference == int(np.argmax(train.fold.y.mean(0)))
    oracle = split.methods["oracle"].at["q95"]
    np.testing.assert_array_equal(oracle.quality, y.max(1))
    for name, played in split.methods.items():
        for target in TARGETS:
            outcome = played.at[target]
            assert outcome.cost.shape == outcome.quality.shape == (120,)
            assert (outcome.cost >= costs.min(1) - 1e-12).all(), (name, target)
            assert (outcome.cost <= costs.max(1) + 1e-12).all(), (name, target)
            assert (outcome.quality >= y.min(1) - 1e-12).all(), (name, target)
            assert (outcome.quality <= oracle.quality + 1e-12).all(), (name, target)
    best = split.methods["best_single"]
    assert set(best.chosen.values()) == {split.reference}


def test_the_test_rows_order_changes_no_choice() -> None:
    train, test = _side(200, 1), _side(120, 2)
    order = np.random.default_rng(0).permutation(120)
    fold = test.fold
    texts, grams = [fold.texts[i] for i in order], [fold.grams[i] for i in order]
    shuffled = Side(Fold(texts, fold.x[order], grams, fold.y[order]), test.costs[order])
    first, second = play(train, test), play(train, shuffled)
    for name in ("router", "knn", "random_mix", "cheapest_single"):
        assert first.methods[name].chosen == second.methods[name].chosen, name
        np.testing.assert_allclose(first.methods[name].at["q95"].quality[order],
                                   second.methods[name].at["q95"].quality)  # fmt: skip
