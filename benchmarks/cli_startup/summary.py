"""CLI start-up: before/after medians of each command, and the two goals of issue #24."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from perfdoc import Section, goal, load, num, table

RESULTS = Path(__file__).resolve().parent / "results"
BEFORE = RESULTS / "before-4ba978b.json"
AFTER = RESULTS / "after.json"
GOALS = {"yard --help": 300, "yard models list": 500}
"""Issue #24: median wall milliseconds."""


def by_name(run: dict[str, Any]) -> dict[str, dict[str, float]]:
    return {row["name"]: row for row in run["results"]}


def section() -> Section:
    before, after = load(BEFORE), load(AFTER)
    old, new = by_name(before), by_name(after)
    rows = [
        [f"`{name}`", num(old.get(name, {}).get("median_ms")), num(old.get(name, {}).get("cpu_ms")),
         num(row["median_ms"]), num(row["p90_ms"]), num(row["cpu_ms"])]
        for name, row in new.items()
    ]  # fmt: skip
    columns = ["command", "before median", "before CPU", "after median", "after p90", "after CPU"]
    verdicts = [
        goal(f"`{name}` ≤ {limit} ms", new[name]["median_ms"] <= limit,
             f"{num(new[name]['median_ms'])} ms median")
        for name, limit in GOALS.items()
    ]  # fmt: skip
    return Section(
        title="CLI start-up",
        command=(
            "mkdir /tmp/base && git archive 4ba978b src | tar -x -C /tmp/base\n"
            ".venv/bin/python benchmarks/cli_startup/run.py --runs 30 --src /tmp/base/src"
            " --label before-4ba978b\n"
            ".venv/bin/python benchmarks/cli_startup/run.py --runs 30 --label after"
        ),
        results=(BEFORE, AFTER),
        when=f"{after['when']} on {after['machine']} (before: {before['when']})",
        body=table(columns, rows)
        + "\n\nMilliseconds; CPU = user + system.\n\n"
        + "\n".join(verdicts),
        notes=(
            "hyperfine, 3 warm-ups, no shell, a fresh `YARD_HOME`. The two floors (`python -c "
            "pass`, a bare Typer app's `--help`) show what any Typer CLI pays before its own "
            "code; on a shared machine the medians rise with the load while the CPU column "
            "holds. `tests/cli/test_startup.py` checks that `--help` loads no package code."
        ),
    )
