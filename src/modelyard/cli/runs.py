"""`yard runs`: the eval run history, and what changed between two runs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli._render import console, err_console, print_json, table

app = typer.Typer(help="Eval run history and diffs between runs.", no_args_is_help=True)
JsonOpt = Annotated[bool, typer.Option("--json", help="Output as JSON")]


@app.command("list")
def list_(json_: JsonOpt = False) -> None:
    """List the kept eval runs, newest first, with each model's mean score"""
    from modelyard.eval import INDEX, list_runs, runs_dir

    root = runs_dir()
    runs, problems = list_runs(root)
    for problem in problems:
        err_console.print(f"[yellow]skipped[/] {problem}")
    if json_:
        print_json(runs)
        return
    rows = [
        (r.name, r.suite, r.status, ", ".join(f"{m} {_mean(v)}" for m, v in r.means.items()))
        for r in runs
    ]
    console.print(
        table(
            ["run", "suite", "status", "mean per model"], rows, title=f"{len(runs)} runs in {root}"
        )
    )
    if (root / INDEX).is_file():
        console.print(f"[dim]history page:[/] {root / INDEX}")


@app.command()
def diff(
    before: Annotated[str, typer.Argument(help="Earlier run: name, folder, latest~1")],
    after: Annotated[str, typer.Argument(help="Later run (default: latest)")] = "latest",
    output: Annotated[Path | None, typer.Option("-o", "--output", help="Write HTML here")] = None,
    json_: JsonOpt = False,
) -> None:
    """Show which items changed score between two runs, with each model's paired test

    \b
    Examples:
      yard runs diff latest~1
      yard runs diff 20261207-101500-arithmetic latest -o diff.html
    """
    from modelyard.eval import diff_runs, find_run, read_run, render_diff, runs_dir

    root = runs_dir()
    first, second = find_run(before, root), find_run(after, root)
    result = diff_runs(read_run(first), read_run(second), first, second)
    if output is not None:
        output.write_text(render_diff(result), encoding="utf-8")
    if json_:
        print_json(result)
        return
    for m in result.models:
        t = m.test
        shift = "—" if t.diff is None else f"{t.diff:+.3f} [{t.low:+.3f}, {t.high:+.3f}]"
        p = "" if t.p_bootstrap is None else f"p={t.p_bootstrap:.4f}"
        console.print(f"[bold]{m.model}[/]: later − earlier {shift} over {t.n} items {p}")
        rows = [(c.item_id, c.change, _mean(c.before), _mean(c.after)) for c in m.changes]
        if rows:
            console.print(table(["item", "change", "earlier", "later"], rows))
    if result.unpaired:
        console.print(f"in one run only: {', '.join(result.unpaired)}")
    if output is not None:
        console.print(f"[dim]report:[/] {output}")


def _mean(value: float | None) -> str:
    return "—" if value is None else f"{value:.3f}"
