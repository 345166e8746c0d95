"""One self-contained HTML report of an evaluation: curves as inline SVG, numbers as JSON."""

from __future__ import annotations

import html
import json
from pathlib import Path

from modelyard.route.evaluation import Evaluation

WIDTH, HEIGHT, PAD = 640, 400, 50
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#7f7f7f", "#ff7f0e", "#8c564b"]


def svg_curves(curves: dict[str, list[list[float]]], x_label: str) -> str:
    """Quality against cost (or share of strong calls), one polyline per method."""
    xs = [p[0] for pts in curves.values() for p in pts]
    ys = [p[1] for pts in curves.values() for p in pts]
    x0, x1, y0, y1 = min(xs), max(xs) or 1.0, min(ys), max(ys)

    def at(x: float, y: float) -> str:
        px = PAD + (x - x0) / ((x1 - x0) or 1) * (WIDTH - 2 * PAD)
        py = HEIGHT - PAD - (y - y0) / ((y1 - y0) or 1) * (HEIGHT - 2 * PAD)
        return f"{px:.1f},{py:.1f}"

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}">']
    box = f'width="{WIDTH - 2 * PAD}" height="{HEIGHT - 2 * PAD}"'
    parts.append(f'<rect x="{PAD}" y="{PAD}" {box} fill="none" stroke="#999"/>')
    for i, (name, pts) in enumerate(curves.items()):
        colour = COLOURS[i % len(COLOURS)]
        line = " ".join(at(x, y) for x, y in pts)
        parts.append(
            f'<polyline points="{line}" fill="none" stroke="{colour}" stroke-width="1.5"/>'
        )
        at_legend = f'x="{WIDTH - PAD + 4}" y="{PAD + 14 * i}"'
        parts.append(f'<text {at_legend} font-size="11" fill="{colour}">{html.escape(name)}</text>')
    axis = f"{html.escape(x_label)} ({x0:.3g} … {x1:.3g})"
    parts.append(
        f'<text x="{WIDTH / 2}" y="{HEIGHT - 12}" font-size="12" text-anchor="middle">{axis}</text>'
    )
    parts.append(f'<text x="12" y="{PAD - 10}" font-size="12">quality ({y0:.3f} … {y1:.3f})</text>')
    return "\n".join([*parts, "</svg>"])


def render(result: Evaluation) -> str:
    """The report as one HTML string."""
    data = result.to_json()
    calls = result.data.get("cost_unit") != "USD per request"
    x_label = "share of calls to the dearer model" if calls else "USD per request"
    tables = "".join(_split_table(report) for report in result.splits)
    return (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<title>yard route eval</title></head><body>"
        f"<h1>Routing evaluation: {html.escape(str(result.data.get('source', '')))}</h1>"
        f"<p>models (cheapest first): {html.escape(', '.join(result.data['models']))}; "
        f"{result.data['rows']} prompts; mode: {html.escape(result.data['mode'])}; every "
        "threshold chosen on training rows</p>"
        f"{svg_curves(result.curves, x_label)}"
        + "".join(f"<p>{html.escape(note)}</p>" for note in result.notes)
        + tables
        + f"<h2>All numbers</h2><pre>{html.escape(json.dumps(data, indent=1, default=float))}</pre>"
        "</body></html>"
    )


SHOWN = ("q95_cost", "q95_share", "q90_cost", "q90_share", "cheapest_quality", "auc")


def _split_table(report: dict) -> str:
    """One split: each method's figures with their 95% intervals; who beat the router."""
    rows = "".join(
        f"<tr><td>{html.escape(name)}</td>"
        + "".join(f"<td>{_cell(m['figures'].get(k))}</td>" for k in SHOWN)
        + "</tr>"
        for name, m in report["methods"].items()
    )
    head = "".join(f"<th>{k}</th>" for k in ("method", *SHOWN))
    beaten = ", ".join(report["beaten_by"]) or "none"
    return (
        f"<h2>{html.escape(report['name'])} ({report['rows']} prompts)</h2>"
        f"<table border='1'><tr>{head}</tr>{rows}</table>"
        f"<p>baselines that beat the router at some target: {html.escape(beaten)}</p>"
    )


def _cell(fig: dict | None) -> str:
    if not fig or fig.get("value") is None:
        return "-"
    ci = fig.get("ci")
    return f"{fig['value']:.4g}" + (f" [{ci[0]:.4g}, {ci[1]:.4g}]" if ci else "")


def write(result: Evaluation, path: Path) -> Path:
    """Write the HTML report to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(result))
    return path
