"""The routing rule and its calibrated threshold, on cases worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.errors import YardError
from modelyard.route.calibrate import (
    Target,
    calibrate,
    choose,
    operating_point,
    sweep,
    thresholds,
)

# three prompts, three candidates (cheap, middle, dear); what each really scores
SCORES = np.array([[1.0, 1.0, 1.0], [0.0, 1.0, 1.0], [0.0, 0.0, 1.0]])
COSTS = np.tile([0.0, 1.0, 3.0], (3, 1))
# a predictor that is right about it, with some noise
PREDICTED = np.array([[0.9, 0.92, 0.95], [0.2, 0.8, 0.9], [0.1, 0.3, 0.85]])


@pytest.mark.parametrize(
    ("tau", "picks"),
    [
        (0.0, [2, 2, 2]),  # the best predicted, always
        (0.06, [0, 2, 2]),  # within 0.06: the cheap one where it is nearly as good
        (0.1, [0, 1, 2]),
        (1.0, [0, 0, 0]),  # everything is within 1: the cheapest
    ],
)
def test_choose(tau: float, picks: list[int]) -> None:
    assert choose(PREDICTED, COSTS, tau).tolist() == picks


def test_operating_points_and_sweep() -> None:
    point = operating_point(PREDICTED, SCORES, COSTS, 0.1)
    assert point.cost == pytest.approx((0 + 1 + 3) / 3) and point.quality == 1.0
    points = dict(sweep(PREDICTED, SCORES, COSTS))
    assert points[0.0].cost == 3.0 and points[1.0].cost == 0.0
    grid = thresholds(PREDICTED)
    assert grid[0] == 0.0 and grid[-1] == 1.0 and (np.diff(grid) > 0).all()


@pytest.mark.parametrize(
    ("target", "expected"),
    [
        # the thresholds give (3, 1), (2, 1), (4/3, 1), (2/3, 2/3) and (0, 1/3)
        (Target("quality", 1.0), (4 / 3, 1.0)),  # all right, as cheaply as that allows
        (Target("quality", 0.6), (2 / 3, 2 / 3)),
        (Target("quality", 0.3), (0.0, 1 / 3)),
        (Target("cost", 1000.0), (2 / 3, 2 / 3)),  # at most $1 a request: the best within it
        (Target("cost", 0.0), (0.0, 1 / 3)),
    ],
)
def test_calibrate_meets_the_target_as_cheaply_as_it_can(
    target: Target, expected: tuple[float, float]
) -> None:
    tau = calibrate(PREDICTED, SCORES, COSTS, target)
    point = operating_point(PREDICTED, SCORES, COSTS, tau)
    assert (point.cost, point.quality) == pytest.approx(expected)


def test_an_unreachable_quality_takes_the_best_prediction() -> None:
    assert calibrate(PREDICTED, SCORES, COSTS, Target("quality", 1.5)) == 0.0


def test_an_impossible_budget_takes_the_cheapest() -> None:
    costs = COSTS + 1.0
    assert calibrate(PREDICTED, SCORES, costs, Target("cost", 0.5)) == 1.0


@pytest.mark.parametrize(
    ("kind", "value", "message"),
    [
        ("speed", 1.0, "use 'quality' or 'cost'"),
        ("quality", 0.0, "give a share such as 0.95"),
        ("quality", 2.0, "give a share such as 0.95"),
        ("cost", -1.0, "cannot be negative"),
    ],
)
def test_bad_targets(kind: str, value: float, message: str) -> None:
    with pytest.raises(YardError, match=message):
        Target(kind, value)  # type: ignore[arg-type]
