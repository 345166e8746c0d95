"""Render a ``RunReport`` as one self-contained HTML file (inline CSS, JS and SVG, nothing
fetched), plus ``report.json`` and CSV files beside it."""

from __future__ import annotations

import csv
import html
import json
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path

from modelyard.eval.schema import Estimate, ItemResult, ModelSummary, RunReport

_CSS = """
body{font:14px/1.45 system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #ddd;padding:4px 8px;
vertical-align:top;text-align:left}th{background:#f4f4f4}td.num{text-align:right;
font-variant-numeric:tabular-nums}pre{white-space:pre-wrap;max-width:520px;margin:0;
font-size:12px}.bad{color:#b00}.muted{color:#777}svg text{font-size:11px}
"""
_JS = """
function applyFilter(){const only=document.getElementById('disagree').checked;
const q=document.getElementById('q').value.toLowerCase();
for(const r of document.querySelectorAll('tr.item')){
const show=(!only||r.dataset.disagree==='1')&&(!q||r.textContent.toLowerCase().includes(q));
r.style.display=show?'':'none';}}
"""


def _e(text: object) -> str:
    return html.escape("" if text is None else str(text))


def _num(value: float | None, digits: int = 3) -> str:
    return (
        ""
        if value is None
        else f"{value:.{digits}g}"
        if abs(value) >= 1000
        else f"{value:.{digits}f}"
    )


def _ci(est: Estimate) -> str:
    if est.mean is None:
        return "—"
    return f"{est.mean:.3f} [{est.low:.3f}, {est.high:.3f}]"


def _leaderboard(rows: list[ModelSummary]) -> str:
    head = (
        "<tr><th>#</th><th>model</th><th>mean [95% CI]</th><th>n</th><th>errors</th>"
        "<th>latency p50 s</th><th>p95 s</th><th>in tok/1k</th><th>out tok/1k</th>"
        "<th>$ / 1k items</th></tr>"
    )
    body = "".join(
        f"<tr><td>{i}</td><td>{_e(r.model)}</td><td class=num>{_ci(r.quality)}</td>"
        f"<td class=num>{r.quality.n}</td><td class=num>{r.errors}</td>"
        f"<td class=num>{_num(r.latency_p50_s)}</td><td class=num>{_num(r.latency_p95_s)}</td>"
        f"<td class=num>{_num(r.prompt_tokens_per_1k, 0)}</td>"
        f"<td class=num>{_num(r.completion_tokens_per_1k, 0)}</td>"
        f"<td class=num title='{_e(r.price_source)}'>{_num(r.usd_per_1k, 4)}</td></tr>"
        for i, r in enumerate(rows, start=1)
    )
    return f"<table>{head}{body}</table>"


def _comparisons(report: RunReport) -> str:
    rows = "".join(
        f"<tr><td>{_e(c.a)}</td><td>{_e(c.b)}</td><td class=num>{c.n}</td>"
        f"<td class=num>{_num(c.diff)} [{_num(c.low)}, {_num(c.high)}]</td>"
        f"<td class=num>{_num(c.p_bootstrap, 4)}</td>"
        f"<td class=num>{_num(c.mcnemar.p_exact, 4) if c.mcnemar else '—'}</td>"
        f"<td class=num>{_num(c.mcnemar.p_midp, 4) if c.mcnemar else '—'}</td></tr>"
        for c in report.comparisons
    )
    return (
        "<table><tr><th>A</th><th>B</th><th>paired n</th><th>A−B [95% CI]</th>"
        "<th>p (paired bootstrap)</th><th>p (McNemar exact)</th><th>p (mid-p)</th></tr>"
        f"{rows}</table>"
    )


def pareto_frontier(points: list[tuple[str, float, float]]) -> list[tuple[str, float, float]]:
    """The points no other point beats on both cost (lower) and quality (higher), by cost."""
    frontier: list[tuple[str, float, float]] = []
    for point in sorted(points, key=lambda p: (p[1], -p[2])):
        if not frontier or point[2] > frontier[-1][2]:
            frontier.append(point)
    return frontier


def _axis(rows: list[ModelSummary]) -> tuple[str, dict[str, float]]:
    usd = {r.model: r.usd_per_1k for r in rows if r.usd_per_1k is not None}
    if usd and len(usd) == len(rows):
        return "$ per 1k items", usd
    lat = {r.model: r.latency_p50_s for r in rows if r.latency_p50_s is not None}
    return "latency p50 (s) — not every model has a catalog price", lat


def _plot(rows: list[ModelSummary]) -> str:
    label, xs = _axis(rows)
    pts = [
        (r.model, xs[r.model], q.mean, q.low, q.high)
        for r in rows
        if r.model in xs
        and (q := r.quality).mean is not None
        and q.low is not None
        and q.high is not None
    ]
    if not pts:
        return "<p class=muted>No model has both a score and a cost or latency to plot.</p>"
    w, h, pad = 640, 360, 50
    x_max = max(p[1] for p in pts) * 1.1 or 1.0
    y_lo, y_hi = min(p[3] for p in pts), max(p[4] for p in pts)
    span = (y_hi - y_lo) or 1.0

    def sx(x: float) -> float:
        return pad + x / x_max * (w - 2 * pad)

    def sy(y: float) -> float:
        return h - pad - (y - y_lo + 0.05 * span) / (1.1 * span) * (h - 2 * pad)

    front = pareto_frontier([(p[0], p[1], p[2]) for p in pts])
    line = " ".join(f"{sx(x):.1f},{sy(y):.1f}" for _, x, y in front)
    marks = "".join(
        f"<line x1='{sx(x):.1f}' x2='{sx(x):.1f}' y1='{sy(lo):.1f}' y2='{sy(hi):.1f}' "
        f"stroke='#99a'/><circle cx='{sx(x):.1f}' cy='{sy(y):.1f}' r='5' fill='#2a6fdb'/>"
        f"<text x='{sx(x) + 7:.1f}' y='{sy(y) - 6:.1f}'>{_e(m)}</text>"
        for m, x, y, lo, hi in pts
    )
    return (
        f"<svg width='{w}' height='{h}' xmlns='http://www.w3.org/2000/svg'>"
        f"<rect width='{w}' height='{h}' fill='#fff' stroke='#ccc'/>"
        f"<polyline points='{line}' fill='none' stroke='#e07b00' stroke-dasharray='5 3'/>"
        f"{marks}<text x='{w / 2:.0f}' y='{h - 12}' text-anchor='middle'>{_e(label)}</text>"
        f"<text x='14' y='{h / 2:.0f}' transform='rotate(-90 14 {h / 2:.0f})' "
        f"text-anchor='middle'>mean score (bars: 95% CI)</text></svg>"
        "<p class=muted>Dashed: Pareto frontier (no other model is both cheaper and better)."
        "</p>"
    )


def _categories(rows: list[ModelSummary]) -> str:
    cats = sorted({c for r in rows for c in r.categories})
    if not cats:
        return "<p class=muted>Items have no categories.</p>"
    head = "<tr><th>category</th>" + "".join(f"<th>{_e(r.model)}</th>" for r in rows) + "</tr>"
    body = "".join(
        f"<tr><td>{_e(c)}</td>"
        + "".join(
            f"<td class=num>{_ci(r.categories[c])} n={r.categories[c].n}</td>"
            if c in r.categories
            else "<td></td>"
            for r in rows
        )
        + "</tr>"
        for c in cats
    )
    return f"<table>{head}{body}</table>"


def _side_by_side(report: RunReport, prompts: dict[str, str]) -> str:
    models = [t.model for t in report.spec.targets]
    by_item: dict[str, dict[str, ItemResult]] = defaultdict(dict)
    for r in report.items:
        by_item[r.item_id][r.model] = r
    head = "<tr><th>item</th>" + "".join(f"<th>{_e(m)}</th>" for m in models) + "</tr>"
    rows = []
    for item_id, results in by_item.items():
        values = {results[m].score.value for m in models if m in results}
        cells = "".join(_cell(results.get(m)) for m in models)
        rows.append(
            f"<tr class=item data-disagree='{int(len(values) > 1)}'><td><b>{_e(item_id)}"
            f"</b><pre>{_e(prompts.get(item_id, ''))[:1500]}</pre></td>{cells}</tr>"
        )
    controls = (
        "<p><label><input type=checkbox id=disagree onchange=applyFilter()> only items "
        "where models disagree</label> &nbsp; <input id=q placeholder='search' "
        "oninput=applyFilter()></p>"
    )
    return f"{controls}<table>{head}{''.join(rows)}</table>"


def _cell(result: ItemResult | None) -> str:
    if result is None:
        return "<td></td>"
    score = result.score
    value = "—" if score.value is None else f"{score.value:g}"
    text = result.completion.error or result.completion.text
    cls = " class=bad" if result.completion.error else ""
    return (
        f"<td><b>score {value}</b> <span class=muted>{_e(score.explanation)[:300]}</span>"
        f"<details><summary>reply</summary><pre{cls}>{_e(text)[:4000]}</pre></details></td>"
    )


def render_html(report: RunReport, prompts: dict[str, str]) -> str:
    """The HTML report: leaderboard, comparisons, cost plot, categories and side-by-side."""
    spec = report.spec
    problems = "".join(f"<li>{_e(p)}</li>" for p in report.problems)
    error = f"<p class=bad>Run stopped: {_e(report.error.message)}</p>" if report.error else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>yard eval {_e(spec.suite)}"
        f"</title><style>{_CSS}</style><script>{_JS}</script></head><body>"
        f"<h1>yard eval: {_e(spec.suite)}</h1><p class=muted>{_e(spec.suite_source)} · "
        f"{report.stats.items} items · {report.stats.requests} requests, {report.stats.cached} "
        f"from the store · {report.stats.duration_s:.1f} s · temperature "
        f"{spec.params.temperature}, seed {spec.params.seed}, max_tokens "
        f"{spec.params.max_tokens}</p>{error}"
        f"{f'<h3>Suite problems</h3><ul>{problems}</ul>' if problems else ''}"
        f"<h2>Leaderboard</h2>{_leaderboard(report.results)}"
        f"<h2>Paired comparisons</h2>{_comparisons(report)}"
        f"<h2>Quality versus cost</h2>{_plot(report.results)}"
        f"<h2>Per category</h2>{_categories(report.results)}"
        f"<h2>Side by side</h2>{_side_by_side(report, prompts)}</body></html>"
    )


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
