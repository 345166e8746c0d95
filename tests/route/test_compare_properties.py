"""Properties of the figures every verdict rests on (route/compare.py), over drawn curves and
splits: the curve area is a mean quality, dominated points and order change nothing, a method
compared with an exact copy of itself ties, shares of the reference model are 1 on every draw."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelyard.route.calibrate import Target
from modelyard.route.compare import area, difference, figures, judge, verdicts
from modelyard.route.holdout import TARGETS, Outcome, Played, Split

UNIT = st.floats(0, 1, allow_nan=False, allow_subnormal=False)
CURVE = st.lists(st.tuples(UNIT, UNIT), min_size=1, max_size=30)


@settings(max_examples=200, deadline=None)
@given(CURVE, UNIT, UNIT)
def test_the_area_is_a_mean_quality_the_curve_reaches(points: list[tuple[float, float]],
                                                       a: float, b: float) -> None:  # fmt: skip
    low, high = min(a, b), max(a, b)
    cost, quality = (np.array(v) for v in zip(*points, strict=True))
    value = area(cost, quality, low, high)
    if high <= low:
        assert np.isnan(value)
        return
    if high - low < 1e-9:  # a width of a few ulps divides rounding noise
        return
    assert quality.min() - 1e-9 <= value <= quality.max() + 1e-9
    order = np.random.default_rng(0).permutation(len(cost))  # ties in cost included
    assert area(cost[order], quality[order], low, high) == pytest.approx(value)


@settings(max_examples=200, deadline=None)
@given(CURVE, st.integers(0, 29), UNIT, UNIT)
def test_a_dearer_worse_point_adds_nothing(points: list[tuple[float, float]], pick: int,
                                           more: float, less: float) -> None:  # fmt: skip
    cost, quality = (np.array(v) for v in zip(*points, strict=True))
    c, q = cost[pick % len(cost)], quality[pick % len(cost)]
    before = area(cost, quality, 0.0, 1.0)
    after = area(np.r_[cost, c + more * (1 - c)], np.r_[quality, q * less], 0.0, 1.0)
    assert after == pytest.approx(before)


@settings(max_examples=100, deadline=None)
@given(CURVE, UNIT)
def test_a_better_point_never_lowers_the_area(points: list[tuple[float, float]],
                                             at: float) -> None:  # fmt: skip
    cost, quality = (np.array(v) for v in zip(*points, strict=True))
    before = area(cost, quality, 0.0, 1.0)
    assert area(np.r_[cost, at], np.r_[quality, 1.0], 0.0, 1.0) >= before - 1e-12


def _split(rng: np.random.Generator, n: int) -> Split:
    y = (rng.random((n, 3)) < [0.3, 0.6, 0.9]).astype(float)
    costs = np.tile([0.0, 0.2, 1.0], (n, 1))
    pick = rng.integers(0, 3, n)
    rows = np.arange(n)
    routed = Outcome(costs[rows, pick], y[rows, pick])

    def played(name: str, outcome: Outcome) -> Played:
        grid = Outcome(np.stack([outcome.cost, costs[:, 2]]), np.stack([outcome.quality,
                       y[:, 2]]))  # fmt: skip
        return Played(name, {t: outcome for t in TARGETS}, {t: 0 for t in TARGETS}, grid)

    methods = {
        "router": played("router", routed),
        "knn": played("knn", Outcome(routed.cost.copy(), routed.quality.copy())),
        "best_single": played("best_single", Outcome(costs[:, 2], y[:, 2])),
    }
    return Split(y, costs, methods, {"q95": Target("quality", 0.95)}, reference=2)


@pytest.mark.parametrize("seed", range(4))
def test_a_copy_of_the_router_ties_it_everywhere(seed: int) -> None:
    split = _split(np.random.default_rng(seed), 150)
    figs = figures(split, seed=seed)
    for v in verdicts(figs, split):
        if v.baseline == "knn":
            assert v.outcome == "tie"
            assert v.cost.value == 0.0 and (v.cost.draws == 0).all()
            assert v.quality.value == 0.0 and (v.quality.draws == 0).all()
    share = figs["best_single"]["q95_share"]
    assert share.value == pytest.approx(1.0) and np.allclose(share.draws, 1.0)


@pytest.mark.parametrize("seed", range(4))
def test_verdicts_flip_when_the_roles_do(seed: int) -> None:
    """The router against the best model and the best model against the router: a win is a
    loss the other way round, a tie a tie, a trade-off a trade-off."""
    split = _split(np.random.default_rng(seed), 150)
    figs = figures(split, seed=seed)
    opposite = {"win": "loss", "loss": "win", "tie": "tie", "trade-off": "trade-off"}
    ours = {v.target: v for v in verdicts(figs, split) if v.baseline == "best_single"}
    for target, v in ours.items():
        cost = difference(figs["best_single"][f"{target}_cost"], figs["router"][f"{target}_cost"])
        quality = difference(figs["best_single"][f"{target}_quality"],
                             figs["router"][f"{target}_quality"])  # fmt: skip
        assert judge(cost, quality) == opposite[v.outcome]
        assert cost.value == pytest.approx(-v.cost.value)


def test_the_bootstrap_seed_moves_intervals_not_values() -> None:
    split = _split(np.random.default_rng(9), 200)
    a, b = figures(split, seed=1)["router"], figures(split, seed=2)["router"]
    for key in a:
        assert a[key].value == b[key].value
    assert a["q95_quality"].interval() != b["q95_quality"].interval()
