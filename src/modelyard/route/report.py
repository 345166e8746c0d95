"""`yard route eval --report`: one self-contained HTML page on the shared renderer
(modelyard/report): the cost–quality curves, where the router landed on each held-out split,
each split's figures with their intervals, the router against every baseline, all numbers."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from modelyard.report import (
    Axis,
    Cell,
    Chart,
    Column,
    Markup,
    Rule,
    Series,
    details,
    figure,
    listing,
    note,
    num,
    numbers,
    page,
    section,
    table,
    verdict,
)
from modelyard.route.evaluation import Evaluation

SHOWN = ("q95_cost", "q95_share", "q90_cost", "q90_share", "cheapest_quality", "auc")
HEADERS = {
    "q95_cost": "cost at 95%",
    "q95_share": "share at 95%",
    "q90_cost": "cost at 90%",
    "q90_share": "share at 90%",
    "cheapest_quality": "quality at cheapest cost",
    "auc": "curve area",
}
TARGETS = {"q95": "95% target", "q90": "90% target", "cheapest": "cheapest cost"}
MODES = {"split": "train/test split", "folds": "k-fold cross-validation",
         "tasks": "leave one task out"}  # fmt: skip
LABEL_ROOM = 1.25
"""The per-split chart's x axis reaches this far past the last point, so its label fits."""
OUTCOMES = {"win": True, "loss": False, "trade-off": None, "tie": None}
"""A verdict's colour: a win passes, a loss fails, the rest has no colour."""


def render(result: Evaluation) -> str:
    """The report as one HTML string."""
    data = result.data
    calls = data.get("cost_unit") != "USD per request"
    subtitle = (
        f"{data.get('source', '')} · models (cheapest first): {', '.join(data['models'])} · "
        f"{numbers.count(data['rows'])} prompts · every threshold chosen on training rows"
    )
    body = [
        section("Quality versus cost", _curves(result, calls), _landings(result.splits, calls)),
        section("Notes", listing(result.notes)) if result.notes else Markup(""),
        _summary(result.summary),
        *(_split(report, calls) for report in result.splits),
        section("All numbers", details("the evaluation as JSON", _json(result))),
    ]
    title = f"yard route eval: {MODES.get(data['mode'], data['mode'])}"
    return page(title, subtitle, Markup("").join(body))


def _cost_label(calls: bool) -> str:
    return "share of calls to the dearer model" if calls else "USD per 1,000 requests"


def _cost(value: float, calls: bool) -> float:
    """Costs are shown per 1,000 requests (a request costs fractions of a cent)."""
    return value if calls else value * 1000


def _curves(result: Evaluation, calls: bool) -> Markup:
    """Every learned method's curve (thresholds swept on the first split's test rows)."""
    series = [Series(name, [(_cost(p[0], calls), p[1]) for p in pts], style="line")
              for name, pts in result.curves.items()]  # fmt: skip
    first = result.splits[0]["name"] if result.splits else "the test rows"
    chart = Chart("Quality versus cost", Axis(_cost_label(calls)), Axis("mean quality",
                  zero=False), series)  # fmt: skip
    caption = (
        f"On {first}: each point a threshold swept on the test rows (RouteLLM's convention, "
        "for the shape only); the figures below use thresholds from the training rows."
    )
    return figure(chart, caption)


def _landings(splits: list[dict[str, Any]], calls: bool) -> Markup:
    """Per split, where the router landed at the 95% target: its cost relative to the best
    single model's and its share of that model's quality, with the interval."""
    landed = [(r["name"], at) for r in splits if (at := _landing(r["methods"])) is not None]
    if len(landed) < 2:
        return Markup("")
    points = [(x, y) for _, (x, y, _) in landed]
    unit = "calls" if calls else "cost"
    chart = Chart(
        "The router at the 95% target, per held-out split",
        Axis(f"router's {unit} / best single model's", lo=0.0,
             hi=max(1.0, *(x for x, _ in points)) * LABEL_ROOM),
        Axis("share of the best single model's quality", zero=False),
        [Series("router (bars: 95% CI)", points, style="points",
                errors=[bar for _, (_, _, bar) in landed], labels=[n for n, _ in landed])],
        [Rule(0.95, "target 95%")],
    )  # fmt: skip
    caption = "Below the dashed line the router missed the target; left of 1 it spent less."
    return figure(chart, caption)


def _landing(methods: dict[str, Any]) -> tuple[float, float, tuple[float, float]] | None:
    """The router's relative cost, quality share and the share's interval at 95%; None when
    a figure is missing (the target out of reach, no best single model)."""
    router = methods.get("router", {}).get("figures", {})
    best = methods.get("best_single", {}).get("figures", {})
    base = best.get("q95_cost", {}).get("value")
    cost = router.get("q95_cost", {}).get("value")
    share = router.get("q95_share", {})
    if not base or cost is None or share.get("value") is None:
        return None
    low, high = share.get("ci") or (share["value"], share["value"])
    return cost / base, share["value"], (low, high)


def _summary(summary: dict[str, Any]) -> Markup:
    """Leave-one-task-out: per baseline and target, how often the router won or lost."""
    if not summary:
        return Markup("")
    columns: list[Column | str] = ["router against", num("wins"), num("losses"),
                                   num("trade-offs"), num("ties")]  # fmt: skip
    rows: list[list[Cell]] = [
        [name, *(counts.get(k, 0) for k in ("win", "loss", "trade-off", "tie"))]
        for name, counts in summary["outcomes"].items()
    ]
    cheapest = ", ".join(summary["router_cheapest_at_95"]) or "none"
    mixed = ", ".join(summary["random_mix_beat_router"]) or "none"
    return section(
        f"Over {summary['tasks']} held-out tasks",
        note(f"Cheaper than every baseline at 95% of the best single model's quality: {cheapest}"),
        note(f"Beaten by the random mix: {mixed}"),
        table(columns, rows, empty="No split was compared."),
    )


def _split(report: dict[str, Any], calls: bool) -> Markup:
    """One split: each method's figures with their 95% intervals; the router's verdicts."""
    unit = "calls" if calls else "USD/1k"
    columns: list[Column | str] = ["method"]
    columns += [num(HEADERS[k] + (f" ({unit})" if k.endswith("_cost") else "")) for k in SHOWN]
    scale = {k: _cost(1.0, calls) if k.endswith("_cost") else 1.0 for k in SHOWN}
    rows: list[list[Cell]] = [
        [name, *(_cell(m["figures"].get(k), scale[k]) for k in SHOWN)]
        for name, m in report["methods"].items()
    ]
    beaten = ", ".join(report["beaten_by"]) or "none"
    return section(
        f"{report['name']} ({numbers.count(report['rows'])} prompts)",
        table(columns, rows, empty="No method ran on this split."),
        _verdicts(report.get("verdicts", [])),
        note(f"baselines that beat the router at some target: {beaten}"),
    )


def _verdicts(verdicts: list[dict[str, Any]]) -> Markup:
    """The router against each baseline, per target, coloured: win, loss, trade-off or tie."""
    by_base: dict[str, dict[str, str]] = {}
    for v in verdicts:
        by_base.setdefault(v["baseline"], {})[v["target"]] = v["outcome"]
    rows: list[list[Cell]] = [
        [base, *(_outcome(found.get(t)) for t in TARGETS)] for base, found in by_base.items()
    ]
    return table(["router against", *TARGETS.values()], rows, empty="No baseline to compare.")


def _outcome(outcome: str | None) -> Cell:
    return None if outcome is None else verdict(None, OUTCOMES.get(outcome), outcome)


def _cell(fig: dict[str, Any] | None, scale: float = 1.0) -> str:
    """``value [low, high]`` (times ``scale``) to three significant digits; empty when
    undefined."""
    if not fig or fig.get("value") is None:
        return ""
    ci = fig.get("ci")
    text = numbers.sig(fig["value"] * scale)
    return text + (f" [{numbers.sig(ci[0] * scale)}, {numbers.sig(ci[1] * scale)}]" if ci else "")


def _json(result: Evaluation) -> Markup:
    text = json.dumps(result.to_json(), indent=1, default=float)
    return Markup("<pre>{}</pre>").format(text)


def write(result: Evaluation, path: Path) -> Path:
    """Write the HTML report to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result), encoding="utf-8")
    return path
