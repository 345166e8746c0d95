"""Routing metrics on tiny cases computed by hand."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.route import metrics

STRONG = np.array([1.0, 1.0, 1.0, 0.0])
WEAK = np.array([0.0, 1.0, 0.0, 0.0])


def test_oracle_routes_the_gains_first() -> None:
    c = metrics.oracle_curve(STRONG, WEAK)
    # weak 0.25, strong 0.75; two prompts gain 1 each: PGR 0.5 at 25%, 1.0 at 50%
    assert c.weak == 0.25 and c.strong == 0.75
    np.testing.assert_allclose(c.pgr, [0, 0.5, 1, 1, 1])
    assert metrics.cpt(c, 0.5) == pytest.approx(0.25)
    assert metrics.cpt(c, 0.8) == pytest.approx(0.4)
    assert metrics.apgr(c) == pytest.approx(0.0625 + 0.1875 + 0.25 + 0.25)


def test_random_is_the_diagonal() -> None:
    c = metrics.random_curve(STRONG, WEAK)
    np.testing.assert_allclose(c.pgr, [0, 0.25, 0.5, 0.75, 1])
    assert metrics.apgr(c) == pytest.approx(0.5)
    assert metrics.cpt(c, 0.8) == pytest.approx(0.8)
    # 95% of 0.75 = 0.7125 -> PGR 0.925 -> 92.5% of calls
    assert metrics.calls_at_quality(c) == pytest.approx(0.925)


def test_ties_are_averaged() -> None:
    score = np.array([1.0, 1.0, 0.0, 0.0])  # the first two tied: one gain, one no-gain
    c = metrics.curve(score, STRONG, WEAK)
    np.testing.assert_allclose(c.quality[:3], [0.25, 0.375, 0.5])


def test_wrong_router_is_below_random() -> None:
    c = metrics.curve(-(STRONG - WEAK), STRONG, WEAK)
    assert metrics.apgr(c) < 0.5


def test_cost_points_and_oracle_for_many_models() -> None:
    scores = np.array([[1, 1, 1], [0, 1, 1], [0, 0, 1]], dtype=float)
    costs = np.tile([1.0, 2.0, 4.0], (3, 1))
    singles = metrics.single_models(scores, costs)
    assert [p.quality for p in singles] == pytest.approx([1 / 3, 2 / 3, 1])
    oracle = metrics.oracle_point(scores, costs)
    assert oracle.quality == 1 and oracle.cost == pytest.approx((1 + 2 + 4) / 3)
    assert metrics.cheapest_reaching(singles, 0.6).cost == 2.0
    assert metrics.cheapest_reaching(singles, 1.1) is None


def test_ties_count_as_random_tie_breaking() -> None:
    # every prompt scored alike: the curve is the random diagonal, whatever the gains
    c = metrics.curve(np.zeros(4), STRONG, WEAK)
    np.testing.assert_allclose(c.quality, metrics.random_curve(STRONG, WEAK).quality)


def test_a_router_that_ranks_backwards_is_worse_than_random() -> None:
    gains = STRONG - WEAK
    backwards = metrics.curve(-gains, STRONG, WEAK)
    assert metrics.apgr(backwards) < 0.5 < metrics.apgr(metrics.oracle_curve(STRONG, WEAK))


def test_first_reaching_interpolates_and_may_never_reach() -> None:
    calls = np.array([0.0, 0.5, 1.0])
    values = np.array([0.2, 0.6, 1.0])
    assert metrics.first_reaching(calls, values, 0.4) == pytest.approx(0.25)
    assert metrics.first_reaching(calls, values, 0.1) == 0.0
    assert metrics.first_reaching(calls, values, 1.5) is None


def test_summary_and_points() -> None:
    s = metrics.summarize(metrics.oracle_curve(STRONG, WEAK))
    assert set(s.cpt) == {"50%", "80%", "95%"} and s.quality_strong == 0.75
    points = metrics.single_models(np.stack([WEAK, STRONG], 1), np.tile([0.0, 1.0], (4, 1)))
    assert [(p.cost, p.quality) for p in points] == [(0.0, 0.25), (1.0, 0.75)]
    oracle = metrics.oracle_point(np.stack([WEAK, STRONG], 1), np.tile([0.0, 1.0], (4, 1)))
    assert (oracle.cost, oracle.quality) == (0.5, 0.75)
    assert metrics.cheapest_reaching(points, 0.5) == points[1]
    assert metrics.cheapest_reaching(points, 0.9) is None
