"""Render a ``RunReport`` as one self-contained HTML file (inline CSS, JS and SVG, nothing
fetched), plus ``report.json`` and CSV files beside it."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from modelyard.eval.schema import Estimate, ItemResult, ModelSummary, RunReport
from modelyard.report import (
    Axis,
    Cell,
    Chart,
    Column,
    Markup,
    Series,
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

FILTER_JS = """
function applyFilter(){const only=document.getElementById('disagree').checked;
const q=document.getElementById('q').value.toLowerCase();
for(const r of document.querySelectorAll('tr.item')){
const show=(!only||r.dataset.disagree==='1')&&(!q||r.textContent.toLowerCase().includes(q));
r.style.display=show?'':'none';}}
"""
REPLY_CHARS, PROMPT_CHARS, WHY_CHARS = 4000, 1500, 300
"""How much of a reply, prompt and score explanation the side-by-side table shows."""


def passed(value: float | None) -> bool | None:
    """A score's verdict: 1 passes, 0 fails; a graded score (judge 1-10, a tie) or none has
    no verdict."""
    return {1.0: True, 0.0: False}.get(value) if value is not None else None


def ci(est: Estimate) -> str:
    """``mean [low, high]``, or a dash when nothing was scored."""
    if est.mean is None:
        return "—"
    return f"{est.mean:.3f} [{est.low:.3f}, {est.high:.3f}]"


def _leaderboard(rows: list[ModelSummary]) -> Markup:
    columns: list[Column | str] = [
        "#",
        "model",
        num("mean [95% CI]"),
        num("n"),
        num("errors"),
        num("latency p50 s"),
        num("p95 s"),
        num("in tok / 1k items"),
        num("out tok / 1k items"),
        num("$ / 1k items"),
    ]
    body: list[list[Cell]] = [
        [
            i,
            r.model,
            ci(r.quality),
            r.quality.n,
            r.errors,
            numbers.fixed(r.latency_p50_s, 3),
            numbers.fixed(r.latency_p95_s, 3),
            numbers.count(r.prompt_tokens_per_1k),
            numbers.count(r.completion_tokens_per_1k),
            _usd_cell(r),
        ]
        for i, r in enumerate(rows, start=1)
    ]
    unpriced = [r.model for r in rows if r.usd_per_1k is None]
    why = (
        note(
            f"$ / 1k items: no catalog API price for {', '.join(unpriced)} (a model behind "
            "yard serve is priced in the gateway's ledger: yard usage)."
        )
        if unpriced
        else Markup("")
    )
    return table(columns, body, empty="No model was evaluated.") + why


def _usd_cell(row: ModelSummary) -> Cell:
    if row.usd_per_1k is None:
        return Markup('<span class="muted">no price</span>')
    return Markup('<span title="{}">{}</span>').format(
        row.price_source or "", numbers.usd(row.usd_per_1k)
    )


def _comparisons(report: RunReport) -> Markup:
    columns: list[Column | str] = [
        "A",
        "B",
        num("paired n"),
        num("A−B [95% CI]"),
        num("p (paired bootstrap)"),
        num("p (McNemar exact)"),
        num("p (mid-p)"),
    ]
    rows: list[list[Cell]] = [
        [
            c.a,
            c.b,
            c.n,
            _diff(c.diff, c.low, c.high),
            numbers.p_value(c.p_bootstrap),
            numbers.p_value(c.mcnemar.p_exact) if c.mcnemar else "—",
            numbers.p_value(c.mcnemar.p_midp) if c.mcnemar else "—",
        ]
        for c in report.comparisons
    ]
    models = len(report.spec.targets)
    empty = (
        f"Paired comparisons need two or more models; this run evaluated {models}."
        if models < 2
        else "No two models have scores on the same items."
    )
    return table(columns, rows, empty=empty)


def _diff(diff: float | None, low: float | None, high: float | None) -> str:
    if diff is None:
        return "—"
    return f"{diff:+.3f} [{low:+.3f}, {high:+.3f}]"


def pareto_frontier(points: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """The points no other point beats on both cost (lower) and quality (higher), by cost."""
    frontier: list[tuple[str, float, float]] = []
    for point in sorted(points, key=lambda p: (p[1], -p[2])):
        if not frontier or point[2] > frontier[-1][2]:
            frontier.append(point)
    return frontier


def _x_axis(rows: list[ModelSummary]) -> tuple[str, dict[str, float]]:
    usd = {r.model: r.usd_per_1k for r in rows if r.usd_per_1k is not None}
    if usd and len(usd) == len(rows):
        return "$ per 1,000 items", usd
    lat = {r.model: r.latency_p50_s for r in rows if r.latency_p50_s is not None}
    return "latency p50 (s); not every model has a catalog price", lat


def _plot(rows: list[ModelSummary]) -> Markup:
    x_label, xs = _x_axis(rows)
    shown = [r for r in rows if r.model in xs and r.quality.mean is not None]
    if not shown:
        return note("No model has both a score and a cost or latency to plot.")
    points = [(xs[r.model], r.quality.mean or 0.0) for r in shown]
    bars = [(r.quality.low or 0.0, r.quality.high or 0.0) for r in shown]
    series = [
        Series(
            "models (bars: 95% CI)",
            points,
            style="points",
            errors=bars,
            labels=[r.model for r in shown],
        )
    ]
    front = pareto_frontier([(r.model, x, y) for r, (x, y) in zip(shown, points, strict=True)])
    caption = f"Each model's mean score against its {x_label.split(';')[0]}."
    if len(front) > 1:
        line = [(x, y) for _, x, y in front]
        series.append(Series("Pareto frontier", line, style="line", dashed=True, color="#6e7781"))
        caption += " Dashed: the Pareto frontier (no other model is both cheaper and better)."
    top = max(1.0, max(h for _, h in bars))
    chart = Chart("Quality versus cost", Axis(x_label), Axis("mean score", lo=0.0, hi=top), series)
    return figure(chart, caption)


def _categories(rows: list[ModelSummary]) -> Markup:
    cats = sorted({c for r in rows for c in r.categories})
    body: list[list[Cell]] = [
        [c, *(_category_cell(r.categories.get(c)) for r in rows)] for c in cats
    ]
    return table(
        ["category", *(num(r.model) for r in rows)], body, empty="Items have no categories."
    )


def _category_cell(est: Estimate | None) -> str:
    return "" if est is None else f"{ci(est)} n={est.n}"


def _side_by_side(report: RunReport, prompts: dict[str, str]) -> Markup:
    models = [t.model for t in report.spec.targets]
    by_item: dict[str, dict[str, ItemResult]] = defaultdict(dict)
    for r in report.items:
        by_item[r.item_id][r.model] = r
    rows: list[list[Cell]] = []
    attrs = []
    for item_id, results in by_item.items():
        values = {results[m].score.value for m in models if m in results}
        prompt = Markup("<b>{}</b><pre>{}</pre>").format(
            item_id, prompts.get(item_id, "")[:PROMPT_CHARS]
        )
        rows.append([prompt, *(_cell(results.get(m)) for m in models)])
        attrs.append({"class": "item", "data-disagree": str(int(len(values) > 1))})
    controls = Markup(
        '<p><label><input type="checkbox" id="disagree" onchange="applyFilter()"> only items '
        'where models disagree</label> &nbsp; <input id="q" placeholder="search" '
        'oninput="applyFilter()"></p>'
    )
    return controls + table(["item", *models], rows, empty="No item was run.", row_attrs=attrs)


def _cell(result: ItemResult | None) -> Markup:
    if result is None:
        return Markup("")
    score, reply = result.score, result.completion
    text = reply.error or reply.text
    bad = Markup(' class="fail"') if reply.error else Markup("")
    return Markup(
        '{} <span class="muted">{}</span><details><summary>reply</summary><pre{}>{}</pre></details>'
    ).format(
        verdict(score.value, passed(score.value)),
        (score.explanation or "")[:WHY_CHARS],
        bad,
        text[:REPLY_CHARS],
    )


def render_html(report: RunReport, prompts: dict[str, str]) -> str:
    """The HTML report: leaderboard, comparisons, cost plot, categories and side-by-side."""
    spec, stats = report.spec, report.stats
    subtitle = (
        f"{spec.suite_source} · {numbers.count(stats.items)} items · "
        f"{numbers.count(stats.requests)} requests, {numbers.count(stats.cached)} from the store · "
        f"{stats.duration_s:.1f} s · temperature {spec.params.temperature}, seed "
        f"{spec.params.seed}, max_tokens {spec.params.max_tokens}"
    )
    error = (
        Markup('<p class="fail">Run stopped: {}</p>').format(report.error.message)
        if report.error
        else Markup("")
    )
    problems = section("Suite problems", listing(report.problems)) if report.problems else ""
    body = Markup("").join(
        [
            error,
            problems,
            section("Leaderboard", _leaderboard(report.results)),
            section("Paired comparisons", _comparisons(report)),
            section("Quality versus cost", _plot(report.results)),
            section("Per category", _categories(report.results)),
            section("Side by side", _side_by_side(report, prompts)),
        ]
    )
    return page(f"yard eval: {spec.suite}", subtitle, body, script=FILTER_JS)


def _write_csv(path: Path, header: list[str], rows: Sequence[Sequence[object]]) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        out.writerows(rows)


ITEM_COLUMNS = [
    "item_id",
    "category",
    "model",
    "score",
    "answer",
    "latency_s",
    "prompt_tokens",
    "completion_tokens",
    "cached",
    "error",
    "explanation",
]
LEADERBOARD_COLUMNS = [
    "model",
    "mean",
    "ci_low",
    "ci_high",
    "n",
    "errors",
    "latency_p50_s",
    "latency_p95_s",
    "prompt_tokens_per_1k",
    "completion_tokens_per_1k",
    "usd_per_1k",
]


def _write_csvs(report: RunReport, folder: Path) -> None:
    items = [
        [
            r.item_id,
            r.category,
            r.model,
            r.score.value,
            r.score.answer,
            r.completion.latency_s,
            r.completion.prompt_tokens,
            r.completion.completion_tokens,
            r.completion.cached,
            r.completion.error,
            r.score.explanation,
        ]
        for r in report.items
    ]
    board = [
        [
            s.model,
            s.quality.mean,
            s.quality.low,
            s.quality.high,
            s.quality.n,
            s.errors,
            s.latency_p50_s,
            s.latency_p95_s,
            s.prompt_tokens_per_1k,
            s.completion_tokens_per_1k,
            s.usd_per_1k,
        ]
        for s in report.results
    ]
    _write_csv(folder / "items.csv", ITEM_COLUMNS, items)
    _write_csv(folder / "leaderboard.csv", LEADERBOARD_COLUMNS, board)


def write_report(report: RunReport, folder: Path, prompts: dict[str, str]) -> dict[str, Path]:
    """Write report.html, report.json, items.csv and leaderboard.csv into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.json").write_text(
        json.dumps(report.model_dump(mode="json"), ensure_ascii=False, indent=1), encoding="utf-8"
    )
    (folder / "report.html").write_text(render_html(report, prompts), encoding="utf-8")
    _write_csvs(report, folder)
    return {
        name: folder / name
        for name in ("report.html", "report.json", "items.csv", "leaderboard.csv")
    }
