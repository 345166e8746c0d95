"""The report renderer: number formats, round ticks, escaping, tables and SVG chart geometry."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from modelyard.report import Axis, Chart, Rule, Series, numbers, svg, table, ticks, verdict
from modelyard.report.svg import CHAR_W

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script>&'


@pytest.mark.parametrize(
    ("value", "text"),
    [(60_000, "60,000"), (6_999.6, "7,000"), (0, "0"), (-1234, "-1,234"), (None, "")],
)
def test_counts_have_separators(value: float | None, text: str) -> None:
    assert numbers.count(value) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (62_600.0, "62,600"),
        (0.00123, "0.00123"),
        (1.5, "1.50"),
        (123_456.7, "123,457"),
        (0.5, "0.500"),
        (1e-9, "0.00000000100"),
        (float("nan"), ""),
    ],
)
def test_significant_digits_never_use_scientific_notation(value: float, text: str) -> None:
    assert numbers.sig(value) == text


def test_no_format_writes_an_exponent_at_any_magnitude() -> None:
    for exponent in range(-9, 13):
        for mantissa in (1.0, 2.5, 9.99):
            value = mantissa * 10**exponent
            for out in (numbers.sig(value), numbers.count(value), numbers.usd(value)):
                assert "e" not in out.lower(), (value, out)


@pytest.mark.parametrize(
    ("value", "text"),
    [(1234.5, "$1,234.50"), (0.00123, "$0.00123"), (-2.0, "-$2.00"), (0.0, "$0")],
)
def test_dollars(value: float, text: str) -> None:
    assert numbers.usd(value) == text


def test_p_values_and_percentages() -> None:
    assert numbers.p_value(0.00001) == "<0.0001" and numbers.p_value(0.0312) == "0.0312"
    assert numbers.percent(0.1234) == "12.3%" and numbers.percent(None) == ""


@pytest.mark.parametrize(
    ("lo", "hi", "zero"),
    [
        (0, 89.7, True),
        (29.9, 89.7, False),
        (0.0012, 0.0031, False),
        (-3.5, 12.0, False),
        (62_600, 62_600, True),
        (5, 5, False),
        (0, 1, True),
        (1e6, 7.3e6, True),
    ],
)
def test_ticks_are_round_and_cover_the_data(lo: float, hi: float, zero: bool) -> None:
    t = ticks(lo, hi, 5, zero=zero)
    assert t.lo <= lo and t.hi >= hi and len(t.values) >= 2
    mantissa = t.step / 10 ** math.floor(math.log10(t.step))
    assert any(math.isclose(mantissa, m) for m in (1, 2, 2.5, 5, 10))
    for v in t.values:
        assert math.isclose(v / t.step, round(v / t.step), abs_tol=1e-6)
    if zero:
        assert t.lo == 0


def test_tick_labels() -> None:
    assert [numbers.tick(v, 20_000) for v in (0, 20_000, 60_000)] == ["0", "20,000", "60,000"]
    assert numbers.tick(0.25, 0.05) == "0.25" and numbers.tick(7.5, 2.5) == "7.5"
    assert numbers.tick(1_500_000, 500_000) == "1.5M"


def _parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)


def _texts(root: ET.Element, cls: str) -> list[ET.Element]:
    return [t for t in root.iter(f"{SVG}text") if t.get("class") == cls]


def test_big_y_ticks_are_not_clipped_and_axes_are_labelled() -> None:
    """The bench defect: 62,600 ms showed as `.26e+04`, cut at the left edge."""
    chart = Chart(
        "Per request",
        Axis("seconds since the first send"),
        Axis("latency (ms)"),
        [Series("E2E", [(0.0, 20_000.0), (3.0, 62_600.0)], style="points")],
    )
    root = _parse(svg(chart))
    y_ticks = [
        t
        for g in root.iter(f"{SVG}g")
        if g.get("class") == "axis axis-y"
        for t in _texts(g, "tick")
    ]
    assert [t.text for t in y_ticks][-1] == "80,000"
    for t in y_ticks:
        assert float(t.get("x")) - len(t.text or "") * CHAR_W >= 0, t.text  # inside the svg
    labels = {t.text for t in _texts(root, "axis-label")}
    assert labels == {"seconds since the first send", "latency (ms)"}
    width = float(root.get("width"))
    for t in _texts(root, "tick"):
        assert "e+" not in (t.text or "")
        assert float(t.get("x")) + len(t.text or "") * CHAR_W / 2 <= width


def _boxes(root: ET.Element) -> list[tuple[float, float, float, float]]:
    out = []
    for t in _texts(root, "point-label"):
        x, y, w = float(t.get("x")), float(t.get("y")), len(t.text or "") * CHAR_W
        left = {"start": x, "end": x - w, "middle": x - w / 2}[t.get("text-anchor")]
        out.append((left, y - 12, left + w, y + 2))
    return out


def test_point_labels_do_not_overlap_even_in_a_cluster() -> None:
    """The eval defect: `main` and `mini` printed over each other."""
    names = ["main", "mini", "small", "medium-model", "m4", "gpt-4o-mini"]
    points = [(0.5 + 0.001 * i, 0.6 + 0.002 * i) for i in range(len(names))]
    chart = Chart(
        "Quality versus cost",
        Axis("$"),
        Axis("score", lo=0, hi=1),
        [Series("models", points, style="points", labels=names)],
    )
    boxes = _boxes(_parse(svg(chart)))
    assert len(boxes) == len(names)
    for i, a in enumerate(boxes):
        for b in boxes[i + 1 :]:
            assert not (a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]), (a, b)


def test_hostile_names_are_escaped_everywhere() -> None:
    chart = Chart(
        HOSTILE,
        Axis(HOSTILE),
        Axis(HOSTILE),
        [Series(HOSTILE, [(1.0, 2.0)], labels=[HOSTILE])],
        rules=[Rule(1.5, HOSTILE)],
    )
    markup = str(svg(chart))
    assert "<script" not in markup
    root = _parse(markup)  # well-formed XML: nothing broke out of an attribute or element
    assert sum((t.text or "").startswith("<script>") for t in root.iter(f"{SVG}text")) >= 4
    page = str(table(["model", "score"], [[HOSTILE, verdict(1.0, True)]], empty="none"))
    assert "<script" not in page and "&lt;script&gt;" in page and 'class="pass"' in page


def test_failures_are_crosses_in_red_and_an_empty_chart_says_so() -> None:
    chart = Chart(
        "c",
        Axis("x"),
        Axis("y"),
        [
            Series("ok", [(1.0, 1.0)], style="points"),
            Series("failed", [(2.0, 3.0)], style="points", marker="cross", color="#cf222e"),
        ],
    )
    markup = str(svg(chart))
    assert 'stroke="#cf222e"' in markup and "l8 8" in markup
    empty = str(svg(Chart("nothing", Axis("x"), Axis("y"), [Series("s", [])])))
    assert "<svg" not in empty and "nothing to plot" in empty


def test_a_near_rule_widens_the_axis_and_a_far_one_is_named_instead() -> None:
    data = [Series("s", [(0.0, 10.0), (1.0, 20.0)])]
    near = _parse(svg(Chart("c", Axis("x"), Axis("ms"), data, rules=[Rule(45.0, "SLO 45 ms")])))
    assert max(float(t.text.replace(",", "")) for t in _texts(near, "tick")) >= 45
    far = _parse(svg(Chart("c", Axis("x"), Axis("ms"), data, rules=[Rule(500.0, "SLO 500 ms")])))
    assert max(float(t.text.replace(",", "")) for t in _texts(far, "tick")) <= 25
    assert "SLO 500 ms (above the chart)" in ET.tostring(far, encoding="unicode")


def test_an_empty_table_is_a_sentence_not_a_header() -> None:
    assert str(table(["a", "b"], [], empty="Needs two models.")) == (
        '<p class="muted">Needs two models.</p>'
    )
    with pytest.raises(ValueError, match="2 cells for 3 columns"):
        table(["a", "b", "c"], [[1, 2]], empty="")


def test_route_style_curves_one_line_per_method_with_a_wrapped_legend() -> None:
    """What route/report.py draws: quality against cost, one curve per routing method."""
    methods = ["router", "random", "oracle", "always strong", "always weak", "cascade", "knn"]
    curves = [
        Series(m, [(c / 10, 0.5 + 0.04 * i + c / 40) for c in range(11)], style="line")
        for i, m in enumerate(methods)
    ]
    chart = Chart(
        "Quality versus cost",
        Axis("share of calls to the strong model", lo=0, hi=1),
        Axis("quality"),
        curves,
        width=420,
    )
    root = _parse(svg(chart))
    assert len(list(root.iter(f"{SVG}polyline"))) == len(methods)
    legend = [g for g in root.iter(f"{SVG}g") if g.get("class") == "legend-item"]
    rows = {float(g.find(f"{SVG}text").get("y")) for g in legend}
    assert len(legend) == len(methods) and len(rows) >= 2  # too wide for one line: wrapped
    for g in legend:
        x = float(g.find(f"{SVG}text").get("x"))
        assert x + len(g.find(f"{SVG}text").text) * CHAR_W <= float(root.get("width"))
