"""One self-contained HTML report per run (tables and inline SVG curves, no scripts, no CDN),
with the full result as JSON beside it."""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from pathlib import Path

from modelyard.bench.compare import PlanComparison
from modelyard.bench.metrics import Summary
from modelyard.bench.runner import BenchResult

Series = dict[str, list[tuple[float, float]]]
Scale = Callable[[float], float]
_COLORS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b")
_W, _H, _PAD = 640, 300, 50
_RIGHT = _W - 130
"""Right edge of the plot area; the legend sits beyond it."""
_CSS = (
    "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
    "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 8px;"
    "text-align:right}th{background:#f3f3f3}td:first-child{text-align:left}"
    "svg{margin:0 1em 1em 0;border:1px solid #eee}.muted{color:#666}"
)


def write_report(result: BenchResult, path: Path) -> tuple[Path, Path]:
    """Write ``path`` (HTML) and the same name with ``.json``; return both paths."""
    path.parent.mkdir(parents=True, exist_ok=True)
    json_path = path.with_suffix(".json")
    json_path.write_text(result.model_dump_json(indent=1), encoding="utf-8")
    path.write_text(render_html(result), encoding="utf-8")
    return path, json_path


def render_html(result: BenchResult) -> str:
    """The report page as one string."""
    e = html.escape
    parts = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>yard bench {e(result.model)}"
        f"</title><style>{_CSS}</style></head><body>",
        f"<h1>yard bench: {e(result.model)}</h1><p class='muted'>{e(result.url)} · "
        f"{e(result.started_at)} · load {e(result.mode)} · token counts from "
        f"{e(result.token_source)}</p>",
    ]
    if result.status == "interrupted":
        parts.append(f"<p><strong>Partial results</strong>: {e(result.stop_reason or '')}</p>")
    elif result.stop_reason:
        parts.append(f"<p>Sweep stopped: {e(result.stop_reason)}</p>")
    parts += [_summary_table(result.steps), _curves(result.steps), _timeline(result)]
    if result.comparison is not None:
        parts.append(_comparison_table(result.comparison))
    parts.append(
        "<p class='muted'>TTFT: send → first output chunk. ITL: gap between output chunks. "
        "TPOT: (e2e − TTFT) / (output tokens − 1). Goodput: completed requests/s meeting every "
        "SLO. See docs/bench.md.</p></body></html>"
    )
    return "\n".join(parts)


def _fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:,.{digits}f}"


def _table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    cells = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    body = "".join(
        "<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in rows
    )
    return f"<table><tr>{cells}</tr>{body}</table>"


def _summary_table(steps: list[Summary]) -> str:
    head = ["load", "req/s", "out tok/s", "TTFT p50", "TTFT p99", "ITL p50", "ITL p99",
            "TPOT p50", "TPOT p99", "E2E p50", "E2E p99", "errors", "goodput req/s"]  # fmt: skip
    rows = [
        [s.load, _fmt(s.req_s, 2), _fmt(s.output_tok_s), _fmt(s.ttft_ms.p50), _fmt(s.ttft_ms.p99),
         _fmt(s.itl_ms.p50), _fmt(s.itl_ms.p99), _fmt(s.tpot_ms.p50), _fmt(s.tpot_ms.p99),
         _fmt(s.e2e_ms.p50), _fmt(s.e2e_ms.p99), f"{s.errors}/{s.requests}",
         _fmt(s.goodput_req_s, 2) if s.slo else ""]
        for s in steps
    ]  # fmt: skip
    kinds = {k: v for s in steps for k, v in s.error_kinds.items()}
    errors = _table(["error", "count"], [[k, str(v)] for k, v in kinds.items()]) if kinds else ""
    return "<h2>Results (latencies in ms)</h2>" + _table(head, rows) + errors


def _curves(steps: list[Summary]) -> str:
    def points(pick: Callable[[Summary], float | None]) -> list[tuple[float, float]]:
        return [(s.req_s, v) for s in steps if (v := pick(s)) is not None]

    first = {
        "TTFT p50": points(lambda s: s.ttft_ms.p50), "TTFT p99": points(lambda s: s.ttft_ms.p99),
        "TPOT p50": points(lambda s: s.tpot_ms.p50), "TPOT p99": points(lambda s: s.tpot_ms.p99),
    }  # fmt: skip
    e2e = {"E2E p50": points(lambda s: s.e2e_ms.p50), "E2E p99": points(lambda s: s.e2e_ms.p99)}
    tput = {"output tok/s": [(s.mean_concurrency, s.output_tok_s) for s in steps]}
    return (
        "<h2>Latency versus load</h2>"
        + svg_chart("TTFT and TPOT", "achieved requests/s", "ms", first)
        + svg_chart("End-to-end latency", "achieved requests/s", "ms", e2e)
        + svg_chart("Throughput", "mean requests in flight", "output tokens/s", tput)
    )


def _timeline(result: BenchResult) -> str:
    ok = [(r.start_s, r.ttft_s * 1e3) for r in result.requests if r.ttft_s and not r.error]
    e2e = [(r.start_s, r.e2e_s * 1e3) for r in result.requests if not r.error]
    failed = [(r.start_s, r.e2e_s * 1e3) for r in result.requests if r.error]
    series = {"TTFT": ok, "E2E": e2e, "failed (E2E)": failed}
    return "<h2>Every request</h2>" + svg_chart(
        "Per request", "seconds since the first send", "ms", series, lines=False
    )


def _comparison_table(c: PlanComparison) -> str:
    rows = [
        [r.load, str(r.batch), r.metric, _fmt(r.predicted), _fmt(r.measured), _fmt(r.ratio, 2)]
        for r in c.rows
    ]
    basis = "".join(f"<li>{html.escape(b)}</li>" for b in c.basis)
    title = f"{c.model_id} on {c.gpu}, {c.engine}, {c.quant}"
    head = ["load", "batch", "metric", "planner", "measured", "measured/planner"]
    return (
        f"<h2>Planner versus measurement: {html.escape(title)}</h2>"
        + _table(head, rows)
        + f"<ul class='muted'>{basis}</ul>"
    )


def _scale(lo: float, hi: float, flip: bool) -> Scale:
    span = (hi - lo) or 1.0
    if flip:
        return lambda v: _H - _PAD - (v - lo) / span * (_H - 2 * _PAD)
    return lambda v: _PAD + (v - lo) / span * (_RIGHT - _PAD)


def svg_chart(title: str, x_label: str, y_label: str, series: Series, lines: bool = True) -> str:
    """A small line (or scatter) chart as inline SVG; empty series are skipped."""
    pts = [p for s in series.values() for p in s]
    if not pts:
        return ""
    x0, x1 = min(0.0, *(p[0] for p in pts)), max(p[0] for p in pts) or 1.0
    y1 = max(p[1] for p in pts) or 1.0
    fx, fy = _scale(x0, x1, False), _scale(0.0, y1, True)
    out = [f"<svg xmlns='http://www.w3.org/2000/svg' width='{_W}' height='{_H}' font-size='11'>",
           f"<text x='{_W / 2}' y='16' text-anchor='middle' font-weight='bold'>"
           f"{html.escape(title)}</text>"]  # fmt: skip
    out += _axes(fx, fy, x0, x1, y1, x_label, y_label)
    for i, (name, points) in enumerate(s for s in series.items() if s[1]):
        color = _COLORS[i % len(_COLORS)]
        xy = [(fx(x), fy(y)) for x, y in sorted(points)]
        if lines and len(xy) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in xy)
            out.append(f"<polyline fill='none' stroke='{color}' stroke-width='2' points='{path}'/>")
        out += [f"<circle cx='{x:.1f}' cy='{y:.1f}' r='2.5' fill='{color}'/>" for x, y in xy]
        out.append(
            f"<text x='{_RIGHT + 12}' y='{_PAD + 14 * i}' fill='{color}'>{html.escape(name)}</text>"
        )
    return "".join(out) + "</svg>"


def _axes(
    fx: Scale, fy: Scale, x0: float, x1: float, y1: float, x_label: str, y_label: str
) -> list[str]:
    out = [
        f"<line x1='{_PAD}' y1='{_H - _PAD}' x2='{_RIGHT}' y2='{_H - _PAD}' stroke='#333'/>",
        f"<line x1='{_PAD}' y1='{_PAD}' x2='{_PAD}' y2='{_H - _PAD}' stroke='#333'/>",
        f"<text x='{(_PAD + _RIGHT) / 2}' y='{_H - 12}' text-anchor='middle'>"
        f"{html.escape(x_label)}</text>",
        f"<text x='12' y='{_H / 2}' transform='rotate(-90 12 {_H / 2})' text-anchor='middle'>"
        f"{html.escape(y_label)}</text>",
    ]
    for k in range(5):
        xv, yv = x0 + (x1 - x0) * k / 4, y1 * k / 4
        out.append(f"<text x='{fx(xv):.1f}' y='{_H - _PAD + 14}' text-anchor='middle'>"
                   f"{xv:.3g}</text>")  # fmt: skip
        out.append(f"<text x='{_PAD - 4}' y='{fy(yv) + 4:.1f}' text-anchor='end'>{yv:.3g}</text>")
    return out
