"""The HTML/JSON report, the `yard bench` command and the planner comparison."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard.bench import BenchResult, compare_plan
from modelyard.cli import app
from modelyard.errors import YardError
from tests.serve.fault_upstream import FaultUpstream


def yard(*args: str):
    return CliRunner().invoke(app, list(args), catch_exceptions=True)


def test_cli_runs_a_load_and_writes_a_self_contained_report(tmp_path: Path) -> None:
    out = tmp_path / "r" / "bench.html"
    with FaultUpstream("bench", chunks=4, gap_s=0.005) as server:
        server.plan("ok", "503")  # the warm-up, then one failure
        run = yard("bench", server.url, "-m", "m", "-c", "2", "-n", "8", "--slo", "ttft=5s",
                   "-o", str(out), "--json")  # fmt: skip
    assert run.exit_code == 0, run.output
    data = json.loads(run.stdout[run.stdout.index("{") :])
    step = data["steps"][0]
    assert (step["requests"], step["errors"], step["error_kinds"]) == (8, 1, {"http 503": 1})
    assert step["good"] == 7 and "requests" not in data
    page = out.read_text()
    # one load level: its figures are in the table, no one-point curves; every request plotted
    assert page.count("<svg") == 1 and "<script" not in page and "src=" not in page
    assert "http 503" in page and "One load level ran" in page
    saved = BenchResult.model_validate_json(out.with_suffix(".json").read_text())
    assert len(saved.requests) == 8 and saved.steps[0].load == "concurrency=2"


def test_cli_table_and_sweep(tmp_path: Path) -> None:
    out = tmp_path / "sweep.html"
    sweep = ["--sweep", "-n", "6", "--max-concurrency", "8", "--slo", "ttft=250ms", "-o", str(out)]
    with FaultUpstream("bench", chunks=2, capacity=1, ttft_s=0.01) as server:
        run = yard("bench", server.url, "-m", "m", *sweep)
    assert run.exit_code == 0, run.output
    assert "concurrency=1" in run.stdout and "sweep stopped" in run.stdout
    page = out.read_text()
    assert page.count("<svg") == 4 and "SLO ttft 250 ms" in page
    assert page.count(">achieved requests/s</text>") == 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-c", "2", "--sweep"], "choose one of"),
        (["--compare-plan"], "needs --gpu"),
        (["--slo", "speed=1ms"], "--slo"),
        (["-r", "0"], "must be positive"),
    ],
)
def test_cli_rejects_bad_options(args: list[str], message: str) -> None:
    with pytest.raises(YardError, match=message):
        CliRunner().invoke(app, ["bench", "http://127.0.0.1:9/v1", "-m", "m", *args],
                           catch_exceptions=False)  # fmt: skip


def test_planner_prediction_sits_beside_the_measurement(tmp_path: Path) -> None:
    out = tmp_path / "b.html"
    with FaultUpstream("bench", chunks=4, gap_s=0.002) as server:
        run = yard("bench", server.url, "-m", "smollm2", "-c", "2", "-n", "6", "--compare-plan",
                   "--gpu", "H100", "-o", str(out))  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "Planner (smollm2-135m-instruct" in run.stdout
    saved = BenchResult.model_validate_json(out.with_suffix(".json").read_text())
    rows = {r.metric: r for r in saved.comparison.rows}  # type: ignore[union-attr]
    assert set(rows) == {"ttft_ms p50", "tpot_ms p50", "output_tok_s"}
    assert rows["output_tok_s"].measured == pytest.approx(saved.steps[0].output_tok_s)
    assert rows["tpot_ms p50"].predicted > 0 and rows["ttft_ms p50"].ratio is not None
    assert "Planner versus measurement" in out.read_text()


def test_compare_plan_unknown_model_is_a_clear_error() -> None:
    with pytest.raises(YardError, match="no-such-model"):
        compare_plan([], "no-such-model", "H100")
