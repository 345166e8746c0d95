"""The pieces of `yard route eval` on splits built by hand: pooling folds, the tally over held-out
tasks, RouteLLM's figures only where they mean something, and the report."""

from __future__ import annotations

import numpy as np
import pytest

from modelyard.route.calibrate import Target
from modelyard.route.evaluation import Evaluation, categories, pool, tally, two_model
from modelyard.route.holdout import TARGETS, Outcome, Played, Split
from modelyard.route.report import render


def _played(name: str, cost: np.ndarray, quality: np.ndarray, predicted=None) -> Played:
    outcome = Outcome(cost, quality)
    grid = Outcome(np.stack([cost, cost]), np.stack([quality, quality]))
    return Played(name, {t: outcome for t in TARGETS}, {t: 0.5 for t in TARGETS}, grid, predicted)


def _split(rows: np.ndarray, y: np.ndarray) -> Split:
    costs = np.tile([0.0, 1.0], (len(rows), 1))
    predicted = np.stack([1 - rows / 10, rows / 10], 1)
    methods = {"router": _played("router", costs[:, 1] * (rows % 2), y[:, 1], predicted)}
    return Split(y, costs, methods, {"q95": Target("quality", 0.95)}, 1)


def test_pooled_folds_put_every_row_back_in_place() -> None:
    y = np.stack([np.zeros(6), np.ones(6)], 1)
    first, second = _split(np.array([0, 2, 4]), y[:3]), _split(np.array([1, 3, 5]), y[3:])
    order = np.argsort(np.array([0, 2, 4, 1, 3, 5]))
    pooled = pool([first, second], order)
    router = pooled.methods["router"]
    assert router.at["q95"].cost.tolist() == [0, 1, 0, 1, 0, 1]
    assert router.predicted is not None and router.predicted[:, 1].tolist() == pytest.approx(
        [0, 0.1, 0.2, 0.3, 0.4, 0.5]
    )
    assert router.grid is not None and router.grid.cost.shape == (2, 6)
    assert router.chosen["q95"] == "0.5 / 0.5" and pooled.reference == 1


def test_apgr_only_when_the_dearer_model_is_better() -> None:
    rng = np.random.default_rng(7)
    y = (rng.random((200, 2)) < [0.4, 0.8]).astype(float)
    split = _split(np.arange(200) % 10, y)
    figures = two_model(split)
    assert figures is not None and figures["random"] == {"apgr": 0.5}
    assert 0 <= figures["router"]["apgr"] <= 1.5 and "cpt_95" in figures["router"]
    flipped = _split(np.arange(200) % 10, y[:, ::-1].copy())
    assert two_model(flipped) == {
        "note": "no APGR: the dearer model is not the better one on these rows"
    }
    three = Split(np.zeros((5, 3)), np.zeros((5, 3)), {}, {}, 0)
    assert two_model(three) is None


def _report(name: str, outcomes: dict[str, str], share_ci: list[float]) -> dict:
    verdicts = [{"baseline": b, "target": "q95", "outcome": o} for b, o in outcomes.items()]
    return {
        "name": name,
        "verdicts": verdicts,
        "beaten_by": [b for b, o in outcomes.items() if o == "loss"],
        "methods": {"router": {"figures": {"q95_share": {"value": 0.95, "ci": share_ci}}}},
    }


def test_tally_over_held_out_tasks() -> None:
    reports = [
        _report("a", {"random_mix": "win", "knn": "win"}, [0.93, 0.97]),
        _report("b", {"random_mix": "loss", "knn": "win"}, [0.93, 0.97]),
        _report("c", {"random_mix": "tie", "knn": "win"}, [0.80, 0.90]),  # 95% out of reach
    ]
    summary = tally(reports)
    assert summary["tasks"] == 3
    assert summary["outcomes"]["random_mix @ q95"] == {"win": 1, "loss": 1, "tie": 1}
    assert summary["router_cheapest_at_95"] == ["a"]
    assert summary["random_mix_beat_router"] == ["b"]


def test_categories_break_the_router_down() -> None:
    from modelyard.route.datasets import LabelSet
    from modelyard.route.features import Prompt

    y = np.array([[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]])
    split = _split(np.array([1, 2, 3]), y)
    labels = LabelSet(["1", "2", "3"], [Prompt("x")] * 3, ["maths", "maths", "poems"],
                      ["cheap", "dear"], y, "sha")  # fmt: skip
    table = categories(split, labels)
    assert table["maths"]["rows"] == 2 and table["maths"]["quality"] == [0.5, 1.0]
    assert table["poems"]["router_q95_cost"] == 1.0


def test_the_report_shows_every_split() -> None:
    figures = {"q95_cost": {"value": 0.5, "ci": [0.4, 0.6]}, "auc": {"value": None, "ci": None}}
    split = {"name": "gsm8k <held out>", "rows": 10, "beaten_by": ["knn"],
             "methods": {"router": {"figures": figures}}}  # fmt: skip
    result = Evaluation({"source": "a.jsonl", "models": ["m1", "m2"], "rows": 10,
                         "mode": "tasks", "cost_unit": "USD per request"}, [split], {},
                        {"router": [[0.0, 0.5], [1.0, 0.9]]}, ["a note"])  # fmt: skip
    page = render(result)
    assert "gsm8k &lt;held out&gt;" in page and "0.5 [0.4, 0.6]" in page
    assert "baselines that beat the router at some target: knn" in page
    assert "<svg" in page and "a note" in page
