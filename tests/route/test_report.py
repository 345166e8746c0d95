"""The `yard route eval` HTML report (route/report.py) from hand-made evaluations: every piece
of text from the labels is escaped, undefined figures are empty cells, the per-split chart
skips splits without a 95% point, costs are shown per 1,000 requests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from modelyard.route.evaluation import Evaluation
from modelyard.route.quality import known_mean
from modelyard.route.report import _cell, _landing, render

HOSTILE = '<script>alert("x")</script>'


def fig(value: float | None, ci: list[float] | None = None) -> dict[str, Any]:
    return {"value": value, "ci": ci}


def split(name: str, cost: float | None, share: float | None, best: float | None = 1.0,
          verdicts: list[dict[str, str]] | None = None) -> dict[str, Any]:  # fmt: skip
    return {
        "name": name,
        "rows": 40,
        "beaten_by": [],
        "verdicts": verdicts or [],
        "methods": {
            "router": {"figures": {"q95_cost": fig(cost), "q95_share": fig(share, [0.9, 1.0])}},
            "best_single": {"figures": {"q95_cost": fig(best)}},
        },
    }


def evaluation(splits: list[dict[str, Any]], **data: Any) -> Evaluation:
    base = {"source": "labels.jsonl", "models": ["small", "large"], "rows": 80, "mode": "tasks"}
    return Evaluation(base | data, splits, {}, {"router": [[0.0, 0.5], [1.0, 0.9]]}, [])


def test_text_from_the_labels_is_escaped_everywhere() -> None:
    hostile = split(HOSTILE, 0.5, 0.97, verdicts=[
        {"baseline": HOSTILE, "target": "q95", "outcome": "loss"}])  # fmt: skip
    hostile["beaten_by"] = [HOSTILE]
    result = evaluation([hostile, split("plain", 0.2, 0.9)], source=HOSTILE,
                        models=[HOSTILE, "large"])  # fmt: skip
    result.notes.append(HOSTILE)
    page = render(result)
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("&lt;script&gt;alert") >= 6  # source, model, split, chart, verdict, note


@pytest.mark.parametrize(
    ("methods", "expected"),
    [
        ({"router": {"figures": {"q95_cost": fig(0.3), "q95_share": fig(0.96, [0.9, 1.0])}},
          "best_single": {"figures": {"q95_cost": fig(0.6)}}}, (0.5, 0.96, (0.9, 1.0))),
        ({"router": {"figures": {"q95_cost": fig(0.3), "q95_share": fig(0.96)}},
          "best_single": {"figures": {"q95_cost": fig(0.6)}}}, (0.5, 0.96, (0.96, 0.96))),
        ({"router": {"figures": {"q95_cost": fig(None), "q95_share": fig(None)}},
          "best_single": {"figures": {"q95_cost": fig(0.6)}}}, None),  # target out of reach
        ({"router": {"figures": {"q95_cost": fig(0.3), "q95_share": fig(0.96)}},
          "best_single": {"figures": {"q95_cost": fig(0.0)}}}, None),  # nothing to divide by
        ({"router": {"figures": {}}}, None),
        ({}, None),
    ],
)  # fmt: skip
def test_where_the_router_landed(methods: dict[str, Any], expected: tuple | None) -> None:
    assert _landing(methods) == expected


@pytest.mark.parametrize(
    ("figure", "scale", "text"),
    [
        (fig(0.5, [0.4, 0.6]), 1.0, "0.500 [0.400, 0.600]"),
        (fig(0.000242, [0.000209, 0.000276]), 1000.0, "0.242 [0.209, 0.276]"),
        (fig(62_600.0), 1.0, "62,600"),  # never 6.26e+04
        (fig(None, [0.1, 0.2]), 1.0, ""),
        (None, 1.0, ""),
    ],
)
def test_a_figure_cell(figure: dict[str, Any] | None, scale: float, text: str) -> None:
    assert _cell(figure, scale) == text


def test_the_per_split_chart_needs_two_splits_that_landed() -> None:
    one = render(evaluation([split("a", 0.5, 0.97), split("b", None, None)]))
    assert "per held-out split" not in one
    two = render(evaluation([split("a", 0.5, 0.97), split("b", 0.25, 0.9)]))
    assert "per held-out split" in two and "target 95%" in two


def test_costs_in_usd_are_per_1000_requests() -> None:
    page = render(evaluation([split("a", 0.0005, 0.97)], cost_unit="USD per request"))
    assert "cost at 95% (USD/1k)" in page and "USD per 1,000 requests" in page
    calls = render(evaluation([split("a", 0.5, 0.97)]))
    assert "cost at 95% (calls)" in calls and "share of calls to the dearer model" in calls


def test_a_model_nobody_rated_has_no_opinion() -> None:
    y = np.array([[1.0, np.nan, 0.0], [0.0, np.nan, np.nan], [1.0, np.nan, 1.0]])
    np.testing.assert_allclose(known_mean(y), [2 / 3, 0.5, 0.5])
