"""One renderer for the HTML reports (eval, bench, route): escaping, tables, number formats,
pass/fail colours and SVG charts with labelled axes. Each report is one self-contained file."""

from modelyard.report import numbers
from modelyard.report.html import (
    Cell,
    Column,
    Markup,
    details,
    link,
    listing,
    note,
    num,
    page,
    section,
    table,
    verdict,
)
from modelyard.report.svg import Axis, Chart, Rule, Series, figure, svg
from modelyard.report.ticks import Ticks, nice_step, ticks

__all__ = [
    "Axis",
    "Cell",
    "Chart",
    "Column",
    "Markup",
    "Rule",
    "Series",
    "Ticks",
    "details",
    "figure",
    "link",
    "listing",
    "nice_step",
    "note",
    "num",
    "numbers",
    "page",
    "section",
    "svg",
    "table",
    "ticks",
    "verdict",
]
