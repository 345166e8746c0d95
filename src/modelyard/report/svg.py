"""Charts as inline SVG: labelled axes with round ticks, a legend, point labels that do not
overlap, error bars, threshold lines. Nothing is fetched and no script runs.

Sizes are computed from the text they hold: the left margin fits the longest y tick label (a
62,600 ms tick is never clipped), the legend wraps, x ticks thin out when their labels would
collide. Text is 12 px; widths are estimated at 7 px a character.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from markupsafe import Markup

from modelyard.report import numbers
from modelyard.report.ticks import Ticks, ticks

PALETTE = ("#0072b2", "#e69f00", "#cc79a7", "#56b4e9", "#000000", "#8c6d31")
"""Okabe-Ito colours (told apart with the common colour-vision deficiencies) without their green
and vermilion, and a brown: green and red mean pass and fail, and nothing else."""
PASS, FAIL = "#1a7f37", "#cf222e"
CHAR_W, FONT = 7.0, 12
TOP, RIGHT, BOTTOM = 28, 18, 46
LEGEND_ROW = 18
RULE_REACH = 3.0
"""A threshold widens its axis when within this many times the data's largest value."""
HALO = Markup(' stroke="#fff" stroke-width="3" paint-order="stroke"')
"""A white outline that keeps a label legible where it crosses a line."""


@dataclass(frozen=True)
class Series:
    """One named set of points."""

    name: str
    points: Sequence[tuple[float, float]]
    """(x, y) in data units; a line joins them in this order."""
    style: Literal["line", "points", "both"] = "both"
    marker: Literal["circle", "cross"] = "circle"
    """``cross`` for failures: a shape, not only a colour."""
    color: str | None = None
    """Default: the palette colour of its position."""
    dashed: bool = False
    errors: Sequence[tuple[float, float]] | None = None
    """A (low, high) interval per point, drawn as a vertical bar."""
    labels: Sequence[str] | None = None
    """A label per point, placed where it overlaps nothing drawn before it."""


@dataclass(frozen=True)
class Rule:
    """A threshold line across the plot (an SLO, a target)."""

    value: float
    label: str
    axis: Literal["x", "y"] = "y"


@dataclass(frozen=True)
class Axis:
    """An axis: its title (with the unit) and its range."""

    label: str
    zero: bool = True
    """Start at zero when every value is positive."""
    lo: float | None = None
    """Fixed ends (e.g. 0 and 1 for a score); default: fitted to the data."""
    hi: float | None = None


@dataclass(frozen=True)
class Chart:
    """A chart: title, axes, series and threshold lines."""

    title: str
    x: Axis
    y: Axis
    series: Sequence[Series]
    rules: Sequence[Rule] = ()
    width: int = 640
    height: int = 340


@dataclass
class _Frame:
    """The plot area and the scales of one chart."""

    left: float
    top: float
    right: float
    bottom: float
    xt: Ticks
    yt: Ticks
    taken: list[tuple[float, float, float, float]] = field(default_factory=list)
    """Boxes already holding text, for label placement."""

    def x(self, value: float) -> float:
        return self.left + (value - self.xt.lo) / (self.xt.hi - self.xt.lo) * (
            self.right - self.left
        )

    def y(self, value: float) -> float:
        return self.bottom - (value - self.yt.lo) / (self.yt.hi - self.yt.lo) * (
            self.bottom - self.top
        )


def svg(chart: Chart) -> Markup:
    """The chart as an ``<svg>`` element; a sentence instead when no series has a point."""
    drawn = [s for s in chart.series if s.points]
    if not drawn:
        return Markup('<p class="muted">{}: nothing to plot.</p>').format(chart.title)
    legend = _legend_rows(drawn, chart.width)
    frame = _frame(chart, drawn, TOP + LEGEND_ROW * len(legend))
    parts = [
        _title(chart),
        *_legend(legend, drawn),
        *_grid_and_axes(chart, frame),
        *(_rule(r, frame) for r in chart.rules),
    ]
    for i, series in enumerate(drawn):
        parts += _series(series, _color(series, i), frame)
    frame.taken += [box for s in drawn for box in _marks(s, frame)]
    for i, series in enumerate(drawn):
        parts += _point_labels(series, _color(series, i), frame)
    return Markup(
        '<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{}" '
        'width="{}" height="{}" viewBox="0 0 {} {}" font-size="{}"><title>{}</title>{}</svg>'
    ).format(
        chart.title,
        chart.width,
        chart.height,
        chart.width,
        chart.height,
        FONT,
        chart.title,
        Markup("").join(parts),
    )


def figure(chart: Chart, caption: str | Markup | None = None) -> Markup:
    """The chart with a caption under it."""
    text = Markup("<figcaption>{}</figcaption>").format(caption) if caption else Markup("")
    return Markup("<figure>{}{}</figure>").format(svg(chart), text)


def _color(series: Series, index: int) -> str:
    return series.color or PALETTE[index % len(PALETTE)]


def _extent(values: list[float], axis: Axis, target: int) -> Ticks:
    lo = axis.lo if axis.lo is not None else min(values)
    hi = axis.hi if axis.hi is not None else max(values)
    return ticks(lo, hi, target, zero=axis.zero and axis.lo is None)


def _frame(chart: Chart, drawn: list[Series], top: float) -> _Frame:
    xs = [p[0] for s in drawn for p in s.points]
    ys = [p[1] for s in drawn for p in s.points]
    ys += [v for s in drawn for bar in s.errors or () for v in bar]
    xs += [r.value for r in chart.rules if r.axis == "x" and _near(r.value, xs)]
    ys += [r.value for r in chart.rules if r.axis == "y" and _near(r.value, ys)]
    yt = _extent(ys, chart.y, 5)
    widest = max(len(numbers.tick(v, yt.step)) for v in yt.values)
    left = 30 + widest * CHAR_W
    xt = _extent(xs, chart.x, 6)
    for target in (5, 4, 3, 2):  # fewer x ticks until their labels fit side by side
        label_w = max(len(numbers.tick(v, xt.step)) for v in xt.values) * CHAR_W + 12
        right = chart.width - max(RIGHT, label_w / 2)  # the last tick's label stays inside
        if label_w * len(xt.values) <= right - left:
            break
        xt = _extent(xs, chart.x, target)
    return _Frame(left, top, right, chart.height - BOTTOM, xt, yt)


def _title(chart: Chart) -> Markup:
    return Markup(
        '<text x="{}" y="18" text-anchor="middle" font-weight="600" font-size="13">{}</text>'
    ).format(chart.width / 2, chart.title)


def _legend_rows(drawn: list[Series], width: int) -> list[list[int]]:
    """Series indexes per legend row, wrapped to the chart's width."""
    rows: list[list[int]] = [[]]
    used = 0.0
    for i, series in enumerate(drawn):
        need = 26 + len(series.name) * CHAR_W
        if rows[-1] and used + need > width - 20:
            rows.append([])
            used = 0.0
        rows[-1].append(i)
        used += need
    return rows


def _legend(rows: list[list[int]], drawn: list[Series]) -> list[Markup]:
    out = []
    for r, row in enumerate(rows):
        x, y = 12.0, TOP + 6 + r * LEGEND_ROW
        for i in row:
            series, color = drawn[i], _color(drawn[i], i)
            out.append(
                Markup('<g class="legend-item">{}<text x="{:.1f}" y="{:.1f}">{}</text></g>').format(
                    _swatch(series, color, x + 7, y - 4), x + 18, y, series.name
                )
            )
            x += 26 + len(series.name) * CHAR_W
    return out


def _swatch(series: Series, color: str, x: float, y: float) -> Markup:
    if series.marker == "cross":
        return _cross(x, y, color)
    if series.style == "points" or len(series.points) == 1:
        return _markers([(x, y)], color, "circle")
    dash = Markup(' stroke-dasharray="5 3"') if series.dashed else Markup("")
    return Markup(
        '<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="2"{}/>'
    ).format(x - 7, x + 7, y, y, color, dash)


def _grid_and_axes(chart: Chart, f: _Frame) -> list[Markup]:
    out = [Markup('<g class="axis axis-y">')]
    for v in f.yt.values:
        y = f.y(v)
        out.append(
            Markup(
                '<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="#e5e7eb"/>'
                '<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="end">{}</text>'
            ).format(f.left, f.right, y, y, f.left - 6, y + 4, numbers.tick(v, f.yt.step))
        )
    mid_y = (f.top + f.bottom) / 2
    out.append(
        Markup(
            '<text class="axis-label" x="14" y="{:.1f}" transform="rotate(-90 14 {:.1f})" '
            'text-anchor="middle">{}</text></g><g class="axis axis-x">'
        ).format(mid_y, mid_y, chart.y.label)
    )
    for v in f.xt.values:
        x = f.x(v)
        out.append(
            Markup(
                '<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="#555"/>'
                '<text class="tick" x="{:.1f}" y="{:.1f}" text-anchor="middle">{}</text>'
            ).format(x, x, f.bottom, f.bottom + 4, x, f.bottom + 17, numbers.tick(v, f.xt.step))
        )
    out.append(
        Markup(
            '<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="#555"/>'
            '<line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" stroke="#555"/>'
            '<text class="axis-label" x="{:.1f}" y="{}" text-anchor="middle">{}</text></g>'
        ).format(
            f.left,
            f.right,
            f.bottom,
            f.bottom,
            f.left,
            f.left,
            f.top,
            f.bottom,
            (f.left + f.right) / 2,
            chart.height - 8,
            chart.x.label,
        )
    )
    return out


def _near(value: float, data: list[float]) -> bool:
    """Whether a threshold is close enough to the data to widen the axis for it: a limit far
    above every value would squash the data flat at the bottom."""
    top = max((abs(v) for v in data), default=0.0)
    return abs(value) <= RULE_REACH * top


def _rule(rule: Rule, f: _Frame) -> Markup:
    beyond = rule.value > (f.yt.hi if rule.axis == "y" else f.xt.hi)
    if beyond:  # off the chart: say where it is instead of squashing the data
        text = f"{rule.label} ({'above' if rule.axis == 'y' else 'right of'} the chart)"
        f.taken.append((f.right - len(text) * CHAR_W, f.top, f.right, f.top + 14))
        return Markup(
            '<g class="rule"><text x="{:.1f}" y="{:.1f}" text-anchor="end" fill="#59636e"{}>'
            "{}</text></g>"
        ).format(f.right - 2, f.top + 12, HALO, text)
    if rule.axis == "y":
        y = f.y(rule.value)
        f.taken.append((f.right - len(rule.label) * CHAR_W, y - 16, f.right, y))
        return Markup(
            '<g class="rule"><line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" '
            'stroke="#6e7781" stroke-dasharray="6 4"/><text x="{:.1f}" y="{:.1f}" '
            'text-anchor="end" fill="#59636e"{}>{}</text></g>'
        ).format(f.left, f.right, y, y, f.right - 2, y - 4, HALO, rule.label)
    x = f.x(rule.value)
    return Markup(
        '<g class="rule"><line x1="{:.1f}" x2="{:.1f}" y1="{:.1f}" y2="{:.1f}" '
        'stroke="#6e7781" stroke-dasharray="6 4"/><text x="{:.1f}" y="{:.1f}" '
        'fill="#59636e"{}>{}</text></g>'
    ).format(x, x, f.top, f.bottom, x + 4, f.top + 12, HALO, rule.label)


def _pixels(series: Series, f: _Frame) -> list[tuple[float, float]]:
    return [(f.x(x), f.y(y)) for x, y in series.points]


def _marks(series: Series, f: _Frame) -> list[tuple[float, float, float, float]]:
    """Boxes around the series' points and error bars, which labels must not cover."""
    boxes = [(x - 4, y - 4, x + 4, y + 4) for x, y in _pixels(series, f)]
    for (x, _), (lo, hi) in zip(_pixels(series, f), series.errors or (), strict=False):
        boxes.append((x - 4, f.y(hi), x + 4, f.y(lo)))
    return boxes


def _series(series: Series, color: str, f: _Frame) -> list[Markup]:
    out = [Markup('<g class="series">')]
    pts = _pixels(series, f)
    for (px, _), (lo, hi) in zip(pts, series.errors or (), strict=False):
        out.append(_error_bar(px, f.y(lo), f.y(hi)))
    if series.style in ("line", "both") and len(pts) > 1:
        dash = Markup(' stroke-dasharray="6 4"') if series.dashed else Markup("")
        path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
        out.append(
            Markup('<polyline fill="none" stroke="{}" stroke-width="2" points="{}"{}/>').format(
                color, path, dash
            )
        )
    if series.style in ("points", "both") or len(pts) == 1:
        out.append(_markers(pts, color, series.marker))
    return [*out, Markup("</g>")]


def _error_bar(x: float, y_lo: float, y_hi: float) -> Markup:
    return Markup(
        '<path d="M{:.1f} {:.1f}V{:.1f}M{:.1f} {:.1f}h8M{:.1f} {:.1f}h8" stroke="#8c959f"/>'
    ).format(x, y_lo, y_hi, x - 4, y_lo, x - 4, y_hi)


def _markers(pts: list[tuple[float, float]], color: str, marker: str) -> Markup:
    """Every point of a series as one path: a filled circle or a cross each (one element
    however many points, so a 10,000-request timeline stays small)."""
    if marker == "cross":
        path = "".join(f"M{x - 4:.1f} {y - 4:.1f}l8 8m0 -8l-8 8" for x, y in pts)
        return Markup('<path d="{}" stroke="{}" stroke-width="2" fill="none"/>').format(path, color)
    path = "".join(f"M{x - 3.5:.1f} {y:.1f}a3.5 3.5 0 1 0 7 0a3.5 3.5 0 1 0 -7 0" for x, y in pts)
    return Markup('<path d="{}" fill="{}"/>').format(path, color)


def _cross(x: float, y: float, color: str) -> Markup:
    return _markers([(x, y)], color, "cross")


def _point_labels(series: Series, color: str, f: _Frame) -> list[Markup]:
    if not series.labels:
        return []
    out = []
    for (x, y), label in zip(series.points, series.labels, strict=True):
        px, py = f.x(x), f.y(y)
        tx, ty, anchor, far = _place(label, px, py, f)
        if far:
            out.append(
                Markup(
                    '<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" '
                    'stroke-width="0.8"/>'
                ).format(px, py, tx, ty - 4, color)
            )
        out.append(
            Markup(
                '<text class="point-label" x="{:.1f}" y="{:.1f}" text-anchor="{}" '
                'fill="{}"{}>{}</text>'
            ).format(tx, ty, anchor, color, HALO, label)
        )
    return out


OFFSETS = (
    (8, 4, "start"),
    (-8, 4, "end"),
    (0, -9, "middle"),
    (0, 17, "middle"),
    (8, -8, "start"),
    (-8, -8, "end"),
    (8, 16, "start"),
    (-8, 16, "end"),
)
"""Where a point's label may go, tried in order: right, left, above, below, then diagonals."""


def _place(label: str, px: float, py: float, f: _Frame) -> tuple[float, float, str, bool]:
    """The first spot around the point, nearest ring first, whose box stays in the plot and
    overlaps nothing placed before; stacked beside the point when every spot is taken.

    Returns:
        The text position and anchor, and whether it is far enough from the point to need a
        leader line.
    """
    width = len(label) * CHAR_W
    for ring in (1, 2, 3):
        for dx, dy, anchor in OFFSETS:
            x, y = px + dx * ring, py + dy * ring
            box = _box(x, y, width, anchor)
            if _inside(box, f) and not any(_overlap(box, t) for t in f.taken):
                f.taken.append(box)
                return x, y, anchor, ring > 1
    y = py + 4
    while any(_overlap(_box(px + 8, y, width, "start"), t) for t in f.taken) and y < f.bottom:
        y += 14
    f.taken.append(_box(px + 8, y, width, "start"))
    return px + 8, y, "start", True


def _box(x: float, y: float, width: float, anchor: str) -> tuple[float, float, float, float]:
    left = {"start": x, "end": x - width, "middle": x - width / 2}[anchor]
    return (left, y - FONT, left + width, y + 2)


def _inside(box: tuple[float, float, float, float], f: _Frame) -> bool:
    return box[0] >= f.left and box[2] <= f.right and box[1] >= f.top and box[3] <= f.bottom


def _overlap(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]
