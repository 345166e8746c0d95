"""Figures with paired bootstrap intervals, and the verdicts of the router against baselines."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.route.calibrate import Target
from modelyard.route.compare import (
    BOOTSTRAP,
    Draws,
    area,
    curve_differences,
    difference,
    figures,
    judge,
    resamples,
    verdicts,
)
from modelyard.route.holdout import TARGETS, Outcome, Played, Split


def test_resamples_are_paired_and_reproducible() -> None:
    w = resamples(50, seed=3, count=200)
    assert w.shape == (201, 50) and (w[0] == 1).all()
    assert (w.sum(1) == 50).all()
    assert (w == resamples(50, seed=3, count=200)).all()
    assert (w != resamples(50, seed=4, count=200)).any()


@pytest.mark.parametrize(
    ("cost", "quality", "low", "high", "expected"),
    [
        ([0.0, 1.0], [0.5, 0.9], 0.0, 1.0, 0.5),  # a step: 0.5 until cost 1, then 0.9
        ([0.0, 0.5, 1.0], [0.5, 0.7, 0.9], 0.0, 1.0, 0.6),
        ([0.0, 0.5, 1.0], [0.5, 0.9, 0.7], 0.0, 1.0, 0.7),  # a dearer, worse point adds nothing
        ([0.2, 1.0], [0.6, 0.9], 0.0, 1.0, 0.6),  # below its cheapest point: that point
        ([0.0, 2.0], [0.5, 0.9], 0.0, 1.0, 0.5),  # points beyond the span are not bought
        ([0.0], [0.5], 1.0, 1.0, float("nan")),
    ],
)
def test_area_is_the_mean_best_quality_over_budgets(cost, quality, low, high, expected) -> None:
    value = area(np.array(cost), np.array(quality), low, high)
    assert value == pytest.approx(expected, nan_ok=True)


def draws(value: float, lo: float, hi: float) -> Draws:
    return Draws(value, np.linspace(lo, hi, 1000))


@pytest.mark.parametrize(
    ("cost", "quality", "outcome"),
    [
        ((-0.5, -0.1), (-0.01, 0.01), "win"),  # cheaper, no worse
        ((-0.01, 0.01), (0.02, 0.05), "win"),  # better, no dearer
        ((-0.5, -0.1), (0.02, 0.05), "win"),
        ((0.1, 0.5), (-0.01, 0.01), "loss"),  # dearer, no better
        ((-0.01, 0.01), (-0.05, -0.02), "loss"),  # worse, no cheaper
        ((-0.5, -0.1), (-0.05, -0.02), "trade-off"),  # cheaper but worse
        ((0.1, 0.5), (0.02, 0.05), "trade-off"),  # dearer but better
        ((-0.01, 0.01), (-0.01, 0.01), "tie"),
    ],
)
def test_judge(cost: tuple[float, float], quality: tuple[float, float], outcome: str) -> None:
    # the central 95% of an even spread from lo to hi is (lo + 2.5% of the span, ...)
    assert judge(draws(0, *cost), draws(0, *quality)) == outcome


def test_undefined_draws_give_no_interval() -> None:
    mostly_nan = Draws(None, np.r_[np.full(600, np.nan), np.zeros(400)])
    assert mostly_nan.interval() is None and mostly_nan.json() == {"value": None, "ci": None}
    assert judge(mostly_nan, draws(0, -1, 1)) == "tie"
    assert difference(mostly_nan, draws(1.0, 0, 1)).value is None


def _split(y: np.ndarray, costs: np.ndarray, methods: dict[str, Outcome]) -> Split:
    played = {
        name: Played(
            name,
            {t: o for t in TARGETS},
            {t: 0 for t in TARGETS},
            Outcome(o.cost[None, :], o.quality[None, :]),
        )
        for name, o in methods.items()
    }
    goals = {"q95": Target("quality", 0.95)}
    return Split(y, costs, played, goals, reference=1)


def test_figures_of_a_known_split() -> None:
    rng = np.random.default_rng(42)  # not the bootstrap's seed: its draws would line up with y
    n = 400
    y = np.stack([rng.random(n) < 0.5, rng.random(n) < 0.9], 1).astype(float)
    costs = np.tile([0.0, 1.0], (n, 1))
    cheap = Outcome(costs[:, 0], y[:, 0])
    dear = Outcome(costs[:, 1], y[:, 1])
    split = _split(y, costs, {"router": cheap, "best_single": dear})
    figs = figures(split)
    router = figs["router"]
    assert router["q95_cost"].value == 0.0
    assert router["q95_quality"].value == pytest.approx(y[:, 0].mean())
    assert router["q95_share"].value == pytest.approx(y[:, 0].mean() / y[:, 1].mean())
    assert figs["best_single"]["q95_share"].value == pytest.approx(1.0)
    assert len(router["q95_quality"].draws) == BOOTSTRAP
    lo, hi = router["q95_quality"].interval()
    assert lo < y[:, 0].mean() < hi and hi - lo < 0.15
    # paired: the same resamples for both, so the difference of the shares is exact per draw
    (verdict,) = [v for v in verdicts(figs, split) if v.target == "q95"]
    assert verdict.baseline == "best_single" and verdict.outcome == "trade-off"
    assert verdict.cost.interval() == (-1.0, -1.0)


def test_a_curve_that_never_reaches_the_target_has_no_cost() -> None:
    y = np.tile([0.2, 1.0], (50, 1))
    costs = np.tile([0.0, 1.0], (50, 1))
    figs = figures(_split(y, costs, {"router": Outcome(costs[:, 0], y[:, 0])}))
    assert figs["router"]["curve_cost_95"].value is None
    assert figs["router"]["curve_cost_95"].interval() is None


def test_curve_differences_pair_every_baseline_with_a_curve() -> None:
    rng = np.random.default_rng(5)
    n = 200
    y = (rng.random((n, 2)) < [0.5, 0.9]).astype(float)
    costs = np.tile([0.0, 1.0], (n, 1))
    methods = {
        "router": Outcome(costs[:, 1] * (y[:, 0] == 0), np.where(y[:, 0] == 0, y[:, 1], y[:, 0])),
        "knn": Outcome(costs[:, 1] * (rng.random(n) < 0.5), y[:, 1]),
        "best_single": Outcome(costs[:, 1], y[:, 1]),
    }
    split = _split(y, costs, methods)
    split.methods["best_single"].grid = None
    figs = figures(split)
    diffs = curve_differences(figs)
    assert set(diffs) == {"knn"}  # best_single has no curve
    assert set(diffs["knn"]) == {"auc", "curve_cost_95", "curve_cost_90"}
    assert diffs["knn"]["auc"]["value"] == pytest.approx(
        figs["router"]["auc"].value - figs["knn"]["auc"].value
    )


def test_a_baseline_is_judged_only_at_its_targets() -> None:
    y = np.tile([0.0, 1.0], (30, 1))
    costs = np.tile([0.0, 1.0], (30, 1))
    split = _split(y, costs, {"router": Outcome(costs[:, 1], y[:, 1]),
                              "deployed": Outcome(costs[:, 0], y[:, 0])})  # fmt: skip
    split.methods["deployed"].targets = ("q95",)
    judged = verdicts(figures(split), split)
    assert [(v.baseline, v.target) for v in judged] == [("deployed", "q95")]
    assert judged[0].outcome == "trade-off"  # dearer, but better
    assert judged[0].json()["cost_difference"]["value"] == 1.0
