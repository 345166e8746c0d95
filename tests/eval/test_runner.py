"""The runner against a real loopback endpoint: store, retries, resume after SIGKILL, reports."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard.cli import app
from modelyard.eval import (
    EvalOptions,
    EvalRequest,
    Target,
    example_suites,
    load_suite_file,
    run_eval,
    run_suite,
)
from tests.serve.fault_upstream import FaultUpstream

ARITH = load_suite_file(example_suites()["arithmetic"])
ANSWERS = {i.prompt: str(i.reference) for i in ARITH.items}


def arithmetic_reply(model: str, messages: list[dict[str, str]]) -> str:
    truth = ANSWERS.get(messages[-1]["content"], "0")
    if model == "weak" and truth.endswith(("2", "3", "4", "5", "6")):
        return "I think it is 7."
    return f"The answer is {truth}."


def write_suite(path: Path, n: int) -> Path:
    rows = [
        {"id": f"q{i}", "prompt": f"Say the number {i}.", "reference": i, "scorer": "numeric"}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def test_two_models_report_files_labels_and_store(
    fake_server: FaultUpstream, tmp_path: Path
) -> None:
    fake_server.reply = arithmetic_reply
    request = EvalRequest(
        suite="arithmetic",
        models=["strong", "weak"],
        base_url=fake_server.url,
        output=tmp_path / "out",
        labels=tmp_path / "labels.jsonl",
    )
    outcome = run_eval(request)
    report = outcome.report
    assert report.status == "ok" and report.stats.requests == 24
    top, bottom = report.results
    assert (top.model, top.quality.mean, bottom.model) == ("strong", 1.0, "weak")
    assert bottom.quality.mean == pytest.approx(
        sum(not str(i.reference).endswith(("2", "3", "4", "5", "6")) for i in ARITH.items) / 12
    )
    assert set(top.categories) == {"addition", "subtraction", "multiplication", "word"}
    pair = report.comparisons[0]
    assert pair.mcnemar is not None and pair.mcnemar.a_only + pair.mcnemar.b_only > 0
    assert top.latency_p50_s is not None and top.completion_tokens_per_1k > 0
    html = (tmp_path / "out/report.html").read_text()
    assert "<svg" in html and "mean score" in html and "disagree" in html
    assert 'class="pass"' in html and 'class="fail"' in html  # strong passes, weak fails some
    assert "http://" not in html.replace(fake_server.url, "").replace(
        "http://www.w3.org/2000/svg", ""
    )
    assert json.loads((tmp_path / "out/report.json").read_text())["version"] == 1
    assert (tmp_path / "out/items.csv").read_text().count("\n") == 25
    rows = [json.loads(line) for line in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert len(rows) == 12 and set(rows[0]) >= {"id", "prompt", "labels"}
    assert set(rows[0]["labels"]) == {"strong", "weak"}
    asked = [{"role": "user", "content": rows[0]["prompt"]}]
    assert rows[0]["responses"] == {m: arithmetic_reply(m, asked) for m in ("strong", "weak")}

    again = run_eval(request).report
    assert again.stats.requests == 0 and again.stats.cached == 24
    assert len(fake_server.requests) == 24


def test_retries_after_429(fake_server: FaultUpstream, tmp_path: Path) -> None:
    fake_server.plan("429:0.01", "429:0.01", "429:0.01")
    outcome = run_eval(
        EvalRequest(
            suite=str(write_suite(tmp_path / "s.jsonl", 4)),
            models=["m"],
            base_url=fake_server.url,
            concurrency=1,
            output=tmp_path / "out",
        )
    )
    assert outcome.report.stats.retries == 3
    assert all(r.completion.error is None for r in outcome.report.items)


def test_http_errors_are_recorded_per_item(tmp_path: Path) -> None:
    suite = load_suite_file(write_suite(tmp_path / "s.jsonl", 2))
    # nothing listens on port 9: every item is an error, the run itself still completes
    options = EvalOptions(
        targets=[Target(model="m", base_url="http://127.0.0.1:9/v1")],
        store_path=tmp_path / "store.sqlite",
        retries=2,
        backoff_s=0.01,
    )
    report = asyncio.run(run_suite(suite, options))
    assert report.status == "ok" and report.results[0].errors == 2
    assert "ClientConnectorError" in (report.items[0].completion.error or "")


def test_malformed_lines_are_reported_and_the_rest_runs(
    fake_server: FaultUpstream, tmp_path: Path
) -> None:
    suite = tmp_path / "mixed.jsonl"
    suite.write_text(
        '{"id": "a", "prompt": "Say 1", "reference": 1, "scorer": "numeric"}\n'
        '{"id": "b", "prompt": "Say 2", "reference": 2,\n'
        "\n"
        '{"id": "c", "reference": 3}\n'
        '{"id": "d", "prompt": "Say 4", "reference": 4, "scorer": "numeric", "colour": 1}\n'
        '{"id": "e", "prompt": "Say 5", "reference": 5, "scorer": "numeric"}\n'
    )
    result = CliRunner().invoke(
        app,
        [
            "eval",
            str(suite),
            "-m",
            "m",
            "--base-url",
            fake_server.url,
            "-o",
            str(tmp_path / "o"),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    problems = body["problems"]
    assert [p.split(": ")[0] for p in problems] == [f"{suite}:2", f"{suite}:4", f"{suite}:5"]
    assert "not JSON" in problems[0] and "neither 'prompt'" in problems[1]
    assert "colour" in problems[2]
    assert body["stats"]["items"] == 2 and len(fake_server.requests) == 2


def store_count(home: Path) -> int:
    with sqlite3.connect(home / "eval" / "results.sqlite") as conn:
        return conn.execute("SELECT COUNT(*) FROM replies").fetchone()[0]


@pytest.mark.slow
def test_killed_run_resumes_without_losing_or_repeating_results(
    fake_server: FaultUpstream, tmp_path: Path, yard_home: Path
) -> None:
    n = 60
    suite = write_suite(tmp_path / "resume.jsonl", n)
    fake_server.delay_s = 0.05
    argv = [
        sys.executable,
        "-c",
        "from modelyard.cli import main; main()",
        "eval",
        str(suite),
        "-m",
        "m",
        "--base-url",
        fake_server.url,
        "-c",
        "2",
        "-o",
        str(tmp_path / "o"),
        "--json",
    ]
    child = subprocess.Popen(
        argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy()
    )
    deadline = time.monotonic() + 60
    while len(fake_server.requests) < 20 and time.monotonic() < deadline:
        time.sleep(0.01)
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    first_run = [b["messages"][-1]["content"] for b in fake_server.requests]
    kept = store_count(yard_home)
    assert 10 <= kept < n, "the kill must land midway"

    finished = subprocess.run(
        argv, capture_output=True, text=True, timeout=120, env=os.environ.copy()
    )
    assert finished.returncode == 0, finished.stderr
    second_run = [b["messages"][-1]["content"] for b in fake_server.requests[len(first_run) :]]
    assert len(second_run) == n - kept, "stored results were requested again"
    assert len(set(second_run)) == len(second_run)
    assert set(first_run) | set(second_run) == {f"Say the number {i}." for i in range(n)}
    report = json.loads((tmp_path / "o/report.json").read_text())
    assert report["stats"]["cached"] == kept and report["stats"]["requests"] == n - kept
    assert report["results"][0]["quality"]["n"] == n
