"""The run history page (``YARD_HOME/eval/runs/index.html``) and the diff between two runs,
as self-contained HTML; `yard eval` refreshes both after each run it keeps in the history."""

from __future__ import annotations

import os
from pathlib import Path

from modelyard.eval.history import ModelDiff, RunDiff, RunEntry, diff_runs, list_runs, read_run
from modelyard.eval.report import passed
from modelyard.report import (
    Cell,
    Column,
    Markup,
    link,
    listing,
    note,
    num,
    numbers,
    page,
    section,
    table,
    verdict,
)

INDEX = "index.html"
DIFF = "diff-previous.html"
"""Beside a run's report: what changed since the previous run of the same suite."""


def render_history(runs: list[RunEntry], problems: list[str], root: Path) -> str:
    """The history page: every run, newest first, with links to its report and its diff."""
    columns: list[Column | str] = ["run", "suite", "status", num("items"), "mean per model", ""]
    rows: list[list[Cell]] = [
        [
            link(f"{r.name}/report.html", r.name),
            r.suite,
            r.status,
            r.items,
            ", ".join(f"{m} {_mean(v)}" for m, v in r.means.items()),
            link(f"{r.name}/{DIFF}", "changes") if (r.path / DIFF).is_file() else "",
        ]
        for r in runs
    ]
    body = table(columns, rows, empty=f"No eval run is kept under {root} yet.")
    if problems:
        body += section("Folders that could not be read", listing(problems))
    return page("yard eval: run history", str(root), body)


def render_diff(diff: RunDiff) -> str:
    """Each model's paired test and the items whose score changed between the runs."""
    before, after = diff.before, diff.after
    subtitle = f"{before.name} ({before.suite}) → {after.name} ({after.suite})"
    parts = [section("Paired tests (later − earlier)", _tests(diff.models))]
    if before.suite != after.suite:
        parts.insert(0, note("The runs are of different suites: items are matched by id."))
    parts += [_model_section(m) for m in diff.models]
    if diff.unpaired:
        parts.append(note(f"In one run only, not compared: {', '.join(diff.unpaired)}."))
    return page("yard eval: what changed", subtitle, Markup("").join(parts))


def _mean(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"


def _tests(models: list[ModelDiff]) -> Markup:
    columns: list[Column | str] = [
        "model",
        num("paired n"),
        num("later − earlier [95% CI]"),
        num("p (paired bootstrap)"),
        num("fixed"),
        num("broke"),
        num("p (McNemar exact)"),
    ]
    rows: list[list[Cell]] = []
    for m in models:
        t = m.test
        diff = "—" if t.diff is None else f"{t.diff:+.3f} [{t.low:+.3f}, {t.high:+.3f}]"
        rows.append(
            [
                m.model,
                t.n,
                diff,
                numbers.p_value(t.p_bootstrap),
                t.mcnemar.a_only if t.mcnemar else sum(c.change == "fixed" for c in m.changes),
                t.mcnemar.b_only if t.mcnemar else sum(c.change == "broke" for c in m.changes),
                numbers.p_value(t.mcnemar.p_exact) if t.mcnemar else "—",
            ]
        )
    return table(columns, rows, empty="No model is in both runs.")


def _model_section(m: ModelDiff) -> Markup:
    rows: list[list[Cell]] = [
        [
            c.item_id,
            c.category,
            c.change,
            _score(c.before, c.before_error),
            _score(c.after, c.after_error),
        ]
        for c in m.changes
    ]
    unmatched = (
        note(f"Items only in the earlier run: {m.only_before}; only in the later: {m.only_after}.")
        if m.only_before or m.only_after
        else Markup("")
    )
    changed = table(
        ["item", "category", "change", "earlier", "later"],
        rows,
        empty="No item changed its score.",
    )
    return section(f"{m.model}: items that changed", changed, unmatched)


def _score(value: float | None, error: str | None) -> Markup:
    if error:
        return verdict(None, False, label=f"error: {error[:120]}")
    return verdict(value, passed(value))


def write_history(root: Path, latest: Path) -> dict[str, Path]:
    """Refresh the history page under ``root`` and write ``latest``'s diff against the
    previous run of its suite (when there is one).

    Returns:
        The files written, by name.
    """
    runs, problems = list_runs(root)
    written: dict[str, Path] = {}
    mine = next((r for r in runs if r.path == latest), None)
    earlier = [r for r in runs if mine and r.suite == mine.suite and r.name < mine.name]
    if mine is not None and earlier:
        diff = diff_runs(read_run(earlier[0].path), read_run(latest), earlier[0].path, latest)
        written["diff"] = _write(latest / DIFF, render_diff(diff))
    written["history"] = _write(root / INDEX, render_history(runs, problems, root))
    return written


def _write(path: Path, text: str) -> Path:
    """Write through a temporary file, so a reader never sees half a page."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
    return path
