"""Report charts: the home-made SVG module against matplotlib on the charts the reports draw."""

from __future__ import annotations

from pathlib import Path

from perfdoc import Section, load, num, table

RESULTS = Path(__file__).resolve().parent / "results" / "latest.json"


def section() -> Section:
    run = load(RESULTS)
    rows = [
        [name, num(f["import_ms"]), num(f["scatter_ms"], 1), num(f["scatter_bytes"] / 1000),
         num(f["eval_ms"], 1), num(f["eval_bytes"] / 1000, 1)]
        for name, f in run["libraries"].items()
    ]  # fmt: skip
    columns = ["library", "import ms", "scatter ms", "scatter kB", "eval ms", "eval kB"]
    ours = run["libraries"]["modelyard.report"]
    ratios = [
        f"{name} takes {num(f['scatter_ms'] / ours['scatter_ms'])}× as long on the scatter, "
        f"{num(f['eval_ms'] / ours['eval_ms'])}× on the eval chart and "
        f"{num(f['import_ms'] / ours['import_ms'])}× to import."
        for name, f in run["libraries"].items()
        if f is not ours
    ]
    return Section(
        title="Report charts against matplotlib",
        command=(
            ".venv/bin/pip install matplotlib   # beside modelyard, for the comparison only\n"
            ".venv/bin/python benchmarks/report_render/run.py"
        ),
        results=(RESULTS,),
        when=f"{run['when']} on {run['machine']}",
        body=f"Medians of {run['repeat']} renders; the scatter has {num(run['points'])} "
        "requests.\n\n" + table(columns, rows) + "\n\n" + " ".join(ratios),
        notes=(
            "Two charts: the bench report's every-request scatter (TTFT, end-to-end and failed "
            "requests: three series) and the eval report's quality-versus-cost chart (eight "
            "labelled models with error bars); import time in a fresh interpreter. It decides "
            "whether the home-made SVG module (`report/svg.py`) stays; matplotlib is not a "
            "modelyard dependency and is measured only when installed."
        ),
    )
