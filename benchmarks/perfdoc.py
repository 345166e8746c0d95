"""The parts every benchmark's ``summary.py`` uses to turn its results files into a section of
docs/PERFORMANCE.md: a ``Section`` and the formatting of tables, figures and goal verdicts.

A section holds the current figures only; every figure in it is read from a results file, so
re-running a benchmark and then ``benchmarks/performance.py`` is how the document changes. What
a run found, why and when (the story behind each figure) goes to docs/performance-history.md.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Section:
    """One benchmark's current figures."""

    title: str
    command: str
    """The shell command(s), from the repository root, that measure it again."""
    results: tuple[Path, ...]
    """The results files the figures were read from."""
    when: str
    """When and on what machine the figures were measured (as the results files say)."""
    body: str
    """Tables and goal verdicts rendered from the results files."""
    notes: str = ""
    """How to read the figures: method and caveats, with no figure of its own."""

    def markdown(self) -> str:
        files = ", ".join(f"`{path.relative_to(ROOT)}`" for path in self.results)
        parts = [
            f"## {self.title}",
            f"```\n{self.command.strip()}\n```",
            f"Measured {self.when}. Results: {files}.",
            self.body.strip(),
        ]
        if self.notes:
            parts.append(self.notes.strip())
        return "\n\n".join(parts) + "\n"


def load(path: Path) -> Any:
    """A results file's JSON."""
    return json.loads(path.read_text(encoding="utf-8"))


def table(columns: Sequence[str], rows: Sequence[Sequence[object]], right: int = 1) -> str:
    """A Markdown table; columns from index ``right`` on are right-aligned (figures)."""
    aligns = ["---" if i < right else "---:" for i in range(len(columns))]
    lines = [columns, aligns, *[[str(cell) for cell in row] for row in rows]]
    return "\n".join("| " + " | ".join(line) + " |" for line in lines)


def num(value: float | None, digits: int = 0) -> str:
    """``1234.5`` -> ``1,234`` (or ``1,234.50`` with digits); None -> ``n/a``."""
    return "n/a" if value is None else f"{value:,.{digits}f}"


def pct(value: float | None, digits: int = 1, sign: bool = True) -> str:
    """A fraction as a percentage: ``0.0123`` -> ``+1.2%``."""
    if value is None:
        return "n/a"
    return f"{value * 100:{'+' if sign else ''}.{digits}f}%"


def error(value: float | None, reference: float | None) -> float | None:
    """``value``'s relative error against ``reference``; None when either is missing."""
    if value is None or not reference:
        return None
    return (value - reference) / reference


def goal(name: str, met: bool, measured: str) -> str:
    """One goal's verdict line: ``- `yard --help` ≤ 300 ms: **met** (199 ms)``."""
    return f"- {name}: **{'met' if met else 'missed'}** ({measured})"
