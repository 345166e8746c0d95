"""`yard route train` and `yard route eval` end to end on small label files we write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard.cli import app

MODEL_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "models"
WEAK, STRONG = "mistralai/Mixtral-8x7B-Instruct-v0.1", "gpt-4-1106-preview"
PAIR = ["--weak", WEAK, "--strong", STRONG]


@pytest.fixture
def cache(featurizer: object, monkeypatch: pytest.MonkeyPatch) -> None:
    # the featurizer fixture has distilled the embedder into the repo cache: reuse it
    monkeypatch.setenv("YARD_MODEL_CACHE", str(MODEL_CACHE))
    monkeypatch.setenv("COLUMNS", "80")


def _rows(shared_data: Path, name: str, start: int, stop: int) -> list[str]:
    return (shared_data / "routellm" / name).read_text().split("\n")[start:stop]


def _write(path: Path, rows: list[str]) -> Path:
    path.write_text("\n".join(rows) + "\n")
    return path


def test_train_then_eval(shared_data: Path, tmp_path: Path, cache: None) -> None:
    data = _write(tmp_path / "labels.jsonl", _rows(shared_data, "gsm8k.jsonl", 0, 120))
    runner = CliRunner()
    out = tmp_path / "r.json"
    replies = shared_data / "routellm" / "raw" / "gsm8k_responses.csv"
    args = [*PAIR, "--replies", str(replies)]
    done = runner.invoke(app, ["route", "train", str(data), "-o", str(out), *args, "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["candidates"][1] == STRONG and set(summary["cascade"]) == {WEAK}
    report = tmp_path / "r.html"
    done = runner.invoke(
        app, ["route", "eval", str(data), "-k", "2", *args, "--json", "-r", str(report)]
    )
    assert done.exit_code == 0, done.output
    assert {"router", "cascade"} <= set(json.loads(done.stdout)["splits"][0]["methods"])
    assert report.read_text().startswith("<!doctype html>")


def test_train_test_tables_fit_80_columns(shared_data: Path, tmp_path: Path, cache: None) -> None:
    train = _write(tmp_path / "train.jsonl", _rows(shared_data, "gsm8k.jsonl", 0, 160))
    test = _write(tmp_path / "test.jsonl", _rows(shared_data, "gsm8k.jsonl", 160, 260))
    done = CliRunner().invoke(
        app, ["route", "eval", "--train", str(train), "--test", str(test), *PAIR]
    )
    assert done.exit_code == 0, done.output
    assert "test: 99 prompts" in done.stdout  # one contaminated row dropped
    assert "paired against each baseline" in done.stdout
    assert max(len(line) for line in done.stdout.splitlines()) <= 80


def test_leave_one_file_out(shared_data: Path, tmp_path: Path, cache: None) -> None:
    gsm = _write(tmp_path / "gsm8k.jsonl", _rows(shared_data, "gsm8k.jsonl", 0, 90))
    mmlu = _write(tmp_path / "mmlu.jsonl", _rows(shared_data, "mmlu.jsonl", 0, 90))
    done = CliRunner().invoke(
        app, ["route", "eval", str(gsm), str(mmlu), "--leave-out", "file", *PAIR, "--json"]
    )
    assert done.exit_code == 0, done.output
    body = json.loads(done.stdout)
    assert body["data"]["tasks"] == ["gsm8k", "mmlu"]
    assert [s["name"] for s in body["splits"]] == ["gsm8k", "mmlu"]
    assert body["summary"]["tasks"] == 2


def test_null_scores_are_skipped_and_counted(tmp_path: Path, cache: None) -> None:
    rows = [
        {"prompt": f"What is {i} plus {i}?", "labels": {"a": i % 2, "b": 1 if i % 3 else None}}
        for i in range(60)
    ]
    data = _write(tmp_path / "nulls.jsonl", [json.dumps(r) for r in rows])
    out = tmp_path / "r.json"
    done = CliRunner().invoke(
        app, ["route", "train", str(data), "-m", "a,b", "-o", str(out), "--json"]
    )
    assert done.exit_code == 0, done.output
    assert json.loads(done.stdout)["skipped"] == {"null score": 20}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["route", "eval"], "give label files"),
        (["route", "eval", "x.jsonl", "--score-range", "5"], "give LOW,HIGH"),
        (["route", "eval", "x.jsonl", "--score-range", "5,1"], "HIGH must exceed LOW"),
        (["route", "eval", "x.jsonl", "--weak", "a"], "give both --strong and --weak"),
    ],
)
def test_bad_options_are_refused(args: list[str], message: str) -> None:
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 2 and message in done.output


def test_missing_file_names_it(tmp_path: Path) -> None:
    done = CliRunner().invoke(app, ["route", "eval", str(tmp_path / "none.jsonl"), *PAIR])
    assert done.exit_code == 1 and "none.jsonl: no such label file" in str(done.exception)
