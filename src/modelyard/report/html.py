"""HTML pieces for the reports: every value is escaped unless it is already ``Markup``.

Built on MarkupSafe (Jinja's escaping): ``Markup("<td>{}</td>").format(value)`` escapes
``value``; only code in this package writes raw markup.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from markupsafe import Markup, escape

from modelyard.report import numbers

Cell = Markup | str | int | float | None
"""A table cell: Markup as it is, text escaped, numbers formatted (``numbers``), None empty."""

CSS = """
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--head:#f6f8fa;--pass:#1a7f37;
--pass-bg:#dafbe1;--fail:#cf222e;--fail-bg:#ffebe9;--warn:#9a6700}
body{font:14px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--fg);
margin:24px auto;padding:0 16px;max-width:1200px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;
border-bottom:1px solid var(--line);padding-bottom:4px}h3{font-size:15px;margin:16px 0 6px}
table{border-collapse:collapse;margin:8px 0 16px;max-width:100%}
.scroll{overflow-x:auto}
td,th{border:1px solid var(--line);padding:4px 8px;vertical-align:top;text-align:left}
th{background:var(--head);font-weight:600}
td.num,th.num{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
pre{white-space:pre-wrap;word-break:break-word;max-width:520px;margin:0;font-size:12px}
.muted{color:var(--muted)}.warn{color:var(--warn)}
.pass{color:var(--pass);background:var(--pass-bg);font-weight:600;padding:0 4px;
border-radius:3px;white-space:nowrap}
.fail{color:var(--fail);background:var(--fail-bg);font-weight:600;padding:0 4px;
border-radius:3px;white-space:nowrap}
.none{color:var(--muted);white-space:nowrap}
.charts{display:flex;flex-wrap:wrap;gap:16px}
figure{margin:0 0 12px;max-width:100%;overflow-x:auto}
figcaption{color:var(--muted);font-size:13px;max-width:640px}
svg.chart{background:#fff;flex:none}
svg.chart text{font-family:system-ui,-apple-system,"Segoe UI",sans-serif}
details summary{cursor:pointer;color:var(--muted)}
"""


@dataclass(frozen=True)
class Column:
    """A table column: its header, alignment and an optional hover note."""

    name: str
    align: Literal["left", "num"] = "left"
    note: str | None = None


def num(name: str, note: str | None = None) -> Column:
    """A right-aligned column for figures."""
    return Column(name, "num", note)


def cell_text(value: Cell) -> Markup:
    """One cell's content: numbers formatted, text escaped."""
    if isinstance(value, Markup):
        return value
    if value is None:
        return Markup("")
    if isinstance(value, bool):
        return Markup("yes" if value else "no")
    if isinstance(value, int):
        return Markup(numbers.count(value))
    if isinstance(value, float):
        return Markup(numbers.sig(value))
    return escape(value)


def table(
    columns: Sequence[Column | str],
    rows: Iterable[Sequence[Cell]],
    *,
    empty: str,
    row_attrs: Sequence[Mapping[str, str]] | None = None,
) -> Markup:
    """A table, or the ``empty`` sentence when there are no rows (never a header alone).

    Args:
        columns: Headers (plain names are left-aligned text columns).
        rows: Cells per row, as many as columns.
        empty: Said instead of the table when ``rows`` is empty (why there is nothing).
        row_attrs: Extra attributes per row (``data-*`` for filters), in row order.
    """
    cols = [c if isinstance(c, Column) else Column(c) for c in columns]
    body = [_row(cols, row, row_attrs[i] if row_attrs else {}) for i, row in enumerate(rows)]
    if not body:
        return note(empty)
    head = Markup("").join(
        Markup('<th class="{}"{}>{}</th>').format(c.align, _title(c.note), c.name) for c in cols
    )
    return Markup('<div class="scroll"><table><tr>{}</tr>{}</table></div>').format(
        head, Markup("").join(body)
    )


def _row(cols: list[Column], row: Sequence[Cell], attrs: Mapping[str, str]) -> Markup:
    if len(row) != len(cols):
        raise ValueError(f"a row has {len(row)} cells for {len(cols)} columns")
    cells = Markup("").join(
        Markup('<td class="{}">{}</td>').format(c.align, cell_text(v))
        for c, v in zip(cols, row, strict=True)
    )
    return Markup("<tr{}>{}</tr>").format(attributes(attrs), cells)


def attributes(attrs: Mapping[str, str]) -> Markup:
    """` name="value"` pairs, values escaped (names are the caller's constants)."""
    return Markup("").join(Markup(' {}="{}"').format(Markup(k), v) for k, v in attrs.items())


def _title(note_text: str | None) -> Markup:
    return Markup(' title="{}"').format(note_text) if note_text else Markup("")


def verdict(score: float | None, passed: bool | None, label: str | None = None) -> Markup:
    """A score coloured by outcome, with a mark that does not rely on colour: ✓ pass, ✗ fail,
    – no score."""
    text = label if label is not None else ("no score" if score is None else f"{score:g}")
    if passed is None:
        return Markup('<span class="none">– {}</span>').format(text)
    kind, mark = ("pass", "✓") if passed else ("fail", "✗")
    return Markup('<span class="{}">{} {}</span>').format(kind, mark, text)


def note(text: str | Markup) -> Markup:
    """A muted sentence."""
    return Markup('<p class="muted">{}</p>').format(text)


def section(title: str, *parts: Markup, anchor: str | None = None) -> Markup:
    """A titled section of a report."""
    ident = Markup(' id="{}"').format(anchor) if anchor else Markup("")
    return Markup("<section{}><h2>{}</h2>{}</section>").format(ident, title, Markup("").join(parts))


def details(summary: str, body: Markup) -> Markup:
    """A collapsed block."""
    return Markup("<details><summary>{}</summary>{}</details>").format(summary, body)


def listing(items: Iterable[str | Markup], *, muted: bool = False) -> Markup:
    """A bulleted list."""
    cls = Markup(' class="muted"') if muted else Markup("")
    lis = Markup("").join(Markup("<li>{}</li>").format(i) for i in items)
    return Markup("<ul{}>{}</ul>").format(cls, lis) if lis else Markup("")


def link(href: str, text: str) -> Markup:
    """A link to a file beside the report (relative ``href``)."""
    return Markup('<a href="{}">{}</a>').format(href, text)


def page(title: str, subtitle: Markup | str, body: Markup, *, script: str | None = None) -> str:
    """A whole self-contained document: inline CSS (and script), nothing fetched."""
    js = Markup("<script>{}</script>").format(Markup(script)) if script else Markup("")
    return str(
        Markup(
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width,initial-scale=1">'
            "<title>{}</title><style>{}</style>{}</head><body><h1>{}</h1>"
            '<p class="muted">{}</p>{}</body></html>'
        ).format(title, Markup(CSS), js, title, subtitle, body)
    )
