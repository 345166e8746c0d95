"""Eval run history: the runs kept under ``YARD_HOME/eval/runs`` and what changed between two.

A diff pairs each model's items across the two runs by item id and lists the items whose score
changed (fixed: fail to pass, broke: pass to fail, changed: any other move, errors included),
with the paired test on the items both runs scored (``stats.compare``: paired bootstrap, and
McNemar's test when every score is 0 or 1).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from pydantic import ValidationError

from modelyard.errors import EvalError
from modelyard.eval.schema import Comparison, ItemResult, RunReport
from modelyard.eval.stats import compare

REPORT = "report.json"
Change = Literal["fixed", "broke", "changed"]


@dataclass(frozen=True)
class RunEntry:
    """One stored run, as the history lists it."""

    name: str
    """The run's folder name (``20261207-101500-arithmetic``)."""
    path: Path
    suite: str
    status: str
    items: int
    means: dict[str, float | None]
    """Mean score per model, in leaderboard order."""


@dataclass(frozen=True)
class ItemChange:
    """One item whose score moved between the runs."""

    item_id: str
    category: str | None
    before: float | None
    after: float | None
    before_error: str | None
    after_error: str | None
    change: Change


@dataclass(frozen=True)
class ModelDiff:
    """One model in both runs: the paired test and the items that moved."""

    model: str
    test: Comparison
    """``a`` is the later run, ``b`` the earlier: a positive difference is an improvement."""
    changes: list[ItemChange]
    only_before: int
    """Items the earlier run had and the later one did not."""
    only_after: int


@dataclass(frozen=True)
class RunDiff:
    """Two runs compared model by model."""

    before: RunEntry
    after: RunEntry
    models: list[ModelDiff]
    unpaired: list[str]
    """Models in only one of the runs (not compared)."""


def list_runs(root: Path) -> tuple[list[RunEntry], list[str]]:
    """Every run folder under ``root`` with a readable report, newest first.

    Returns:
        The runs, and one line per folder that could not be read (``path: why``).
    """
    runs, problems = [], []
    folders = (
        sorted((p for p in root.iterdir() if p.is_dir()), reverse=True) if root.is_dir() else []
    )
    for folder in folders:
        try:
            runs.append(_entry(folder, read_run(folder)))
        except EvalError as exc:
            problems.append(str(exc))
    return runs, problems


def read_run(folder: Path) -> RunReport:
    """The report a run folder holds.

    Raises:
        EvalError: no report.json, or one this version cannot read.
    """
    path = folder / REPORT if folder.is_dir() else folder
    try:
        return RunReport.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        raise EvalError(f"{path}: no such run report (yard runs list shows the runs)") from None
    except (OSError, ValidationError) as exc:
        raise EvalError(f"{path}: not a yard eval report: {_first_line(exc)}") from None


def find_run(ref: str, root: Path) -> Path:
    """The run folder ``ref`` names: a path, a folder name under ``root``, ``latest``, or
    ``latest~N`` (the Nth run before the latest).

    Raises:
        EvalError: nothing matches.
    """
    if ref.startswith("latest"):
        back = ref.removeprefix("latest").removeprefix("~")
        runs, _ = list_runs(root)
        index = int(back) if back.isdigit() else 0 if not back else -1
        if 0 <= index < len(runs):
            return runs[index].path
        raise EvalError(f"run {ref!r}: there are {len(runs)} runs under {root}")
    for candidate in (Path(ref), root / ref):
        if candidate.exists():
            return candidate
    raise EvalError(f"run {ref!r}: not a folder, report or run name under {root}")


def diff_runs(before: RunReport, after: RunReport, before_path: Path, after_path: Path) -> RunDiff:
    """Compare two runs model by model on the items they share."""
    models_before = [t.model for t in before.spec.targets]
    models_after = [t.model for t in after.spec.targets]
    shared = [m for m in models_after if m in models_before]
    unpaired = [m for m in [*models_before, *models_after] if m not in shared]
    return RunDiff(
        before=_entry(before_path, before),
        after=_entry(after_path, after),
        models=[_model_diff(m, before, after) for m in shared],
        unpaired=list(dict.fromkeys(unpaired)),
    )


def _model_diff(model: str, before: RunReport, after: RunReport) -> ModelDiff:
    old, new = _items(before, model), _items(after, model)
    scores = {
        "after": {i: r.score.value for i, r in new.items() if r.score.value is not None},
        "before": {i: r.score.value for i, r in old.items() if r.score.value is not None},
    }
    changes = [_change(new[i], old[i]) for i in new if i in old and _moved(old[i], new[i])]
    return ModelDiff(
        model=model,
        test=compare("after", "before", scores, binary=True),
        changes=sorted(changes, key=lambda c: (c.change, c.item_id)),
        only_before=len(old.keys() - new.keys()),
        only_after=len(new.keys() - old.keys()),
    )


def _items(report: RunReport, model: str) -> dict[str, ItemResult]:
    return {r.item_id: r for r in report.items if r.model == model}


def _moved(old: ItemResult, new: ItemResult) -> bool:
    return (old.score.value, old.completion.error is None) != (
        new.score.value,
        new.completion.error is None,
    )


def _change(new: ItemResult, old: ItemResult) -> ItemChange:
    kind: Change = "changed"
    if (old.score.value, new.score.value) == (0.0, 1.0):
        kind = "fixed"
    elif (old.score.value, new.score.value) == (1.0, 0.0):
        kind = "broke"
    return ItemChange(
        item_id=new.item_id,
        category=new.category,
        before=old.score.value,
        after=new.score.value,
        before_error=old.completion.error,
        after_error=new.completion.error,
        change=kind,
    )


def _entry(path: Path, report: RunReport) -> RunEntry:
    folder = path if path.is_dir() else path.parent
    return RunEntry(
        name=folder.name,
        path=folder,
        suite=report.spec.suite,
        status=report.status,
        items=report.stats.items,
        means={s.model: s.quality.mean for s in report.results},
    )


def _first_line(exc: Exception) -> str:
    return str(exc).splitlines()[0] if str(exc) else type(exc).__name__
