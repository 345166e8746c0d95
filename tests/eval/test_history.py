"""Eval reports on the shared renderer, the run history page and the diff between two runs."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from modelyard.errors import EvalError
from modelyard.eval import EvalRequest, render_html, run_eval
from modelyard.eval.history import diff_runs, find_run, list_runs, read_run
from modelyard.eval.history_report import render_diff, write_history
from modelyard.eval.schema import (
    Completion,
    ItemResult,
    RunReport,
    RunSpec,
    Score,
    Target,
)
from modelyard.eval.stats import summarize
from tests.serve.fault_upstream import FaultUpstream

HOSTILE = "<img src=x onerror=alert(1)>"


def run(scores: dict[str, list[float | None]], suite: str = "s") -> RunReport:
    """A finished run: ``scores[model][i]`` is item ``q{i}``'s score (None: an error)."""
    items = [
        ItemResult(
            item_id=f"q{i}",
            model=model,
            category="c",
            completion=Completion(
                text=f"reply {i}",
                completion_tokens=60_000,
                latency_s=0.5,
                error=None if v is not None else "timeout",
            ),
            score=Score(value=v, explanation="why"),
        )
        for model, values in scores.items()
        for i, v in enumerate(values)
    ]
    report = RunReport(
        spec=RunSpec(
            suite=suite,
            suite_source="s.yaml",
            targets=[Target(model=m, base_url="http://x/v1") for m in scores],
        ),
        items=items,
    )
    report.results, report.comparisons = summarize(items, list(scores), True, {})
    report.stats.items = max(len(v) for v in scores.values())
    return report


def save(root: Path, name: str, report: RunReport) -> Path:
    folder = root / name
    folder.mkdir(parents=True)
    (folder / "report.json").write_text(report.model_dump_json())
    return folder


def test_one_model_says_why_there_are_no_comparisons_and_tokens_read_plainly() -> None:
    page = render_html(run({"only": [1.0, 0.0, 1.0]}), {"q0": "What?"})
    assert "need two or more models; this run evaluated 1" in page
    assert "60,000" in page and "e+04" not in page
    assert 'class="pass"' in page and 'class="fail"' in page
    assert "mean score" in page and "no catalog API price for only" in page


def test_hostile_model_names_prompts_and_replies_are_escaped() -> None:
    report = run({HOSTILE: [1.0, 0.0]})
    first = report.items[0]
    report.items[0] = first.model_copy(
        update={"completion": first.completion.model_copy(update={"text": HOSTILE})}
    )
    page = render_html(report, {"q0": HOSTILE})
    assert "<img" not in page and "&lt;img src=x onerror=alert(1)&gt;" in page


def test_diff_lists_fixed_and_broken_items_with_the_paired_test(tmp_path: Path) -> None:
    before = run({"a": [1, 1, 0, 0, 1, None], "gone": [1.0]})
    after = run({"a": [1, 0, 1, 1, 1, 1], "new": [0.0]})
    diff = diff_runs(before, after, tmp_path / "r1", tmp_path / "r2")
    (model,) = diff.models
    kinds = {c.item_id: c.change for c in model.changes}
    assert kinds == {"q1": "broke", "q2": "fixed", "q3": "fixed", "q5": "changed"}
    assert model.test.n == 5 and model.test.diff == pytest.approx(0.2)
    assert model.test.mcnemar is not None
    assert (model.test.mcnemar.a_only, model.test.mcnemar.b_only) == (2, 1)
    assert diff.unpaired == ["gone", "new"]
    page = render_diff(diff)
    assert "broke" in page and "fixed" in page and "error: timeout" in page
    assert "In one run only, not compared: gone, new." in page


def test_history_page_and_diff_against_the_previous_run_of_the_suite(tmp_path: Path) -> None:
    root = tmp_path / "runs"
    first = save(root, "20260101-000000-s", run({"a": [1.0, 0.0]}))
    save(root, "20260101-000001-other", run({"a": [1.0]}, suite="other"))
    (root / "20260101-000002-broken").mkdir()
    (root / "20260101-000002-broken" / "report.json").write_text("{not json")
    latest = save(root, "20260101-000003-s", run({"a": [0.0, 1.0]}))
    written = write_history(root, latest)
    assert set(written) == {"diff", "history"}
    diff_page = written["diff"].read_text()
    assert "20260101-000000-s" in diff_page and "broke" in diff_page and "fixed" in diff_page
    index = written["history"].read_text()
    assert index.index("000003-s") < index.index("000000-s")  # newest first
    assert "20260101-000002-broken" in index and "not a yard eval report" in index
    assert find_run("latest", root) == latest
    assert find_run("latest~2", root) == first
    runs, problems = list_runs(root)
    assert runs[0].name == latest.name and len(problems) == 1
    with pytest.raises(EvalError, match="there are 3 runs"):
        find_run("latest~3", root)
    with pytest.raises(EvalError, match="not a folder"):
        find_run("nope", root)
    with pytest.raises(EvalError, match="no such run report"):
        read_run(tmp_path)


def test_yard_eval_keeps_a_history_with_diffs(tmp_path: Path, yard_home: Path) -> None:
    with FaultUpstream("eval", reply=lambda model, messages: "The answer is 42.") as server:
        url = server.url
        first = run_eval(EvalRequest(suite="arithmetic", models=["m"], base_url=url, limit=3))
        time.sleep(1.05)  # run folders are named by the second
        (yard_home / "eval" / "results.sqlite").unlink()  # a fresh reply, not the stored one
        server.reply = lambda model, messages: "I think it is 7."
        second = run_eval(EvalRequest(suite="arithmetic", models=["m"], base_url=url, limit=3))
    assert "diff" not in first.files and first.files["history"].is_file()
    diff_page = second.files["diff"].read_text()
    assert "add-1" in diff_page and "broke" in diff_page  # 17 + 25 = 42 passed, then failed
    assert "add-2" not in diff_page  # failed both times
