"""`yard route train` and `yard route eval` end to end on a small label file we write."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard.cli import app

MODEL_CACHE = Path(__file__).resolve().parents[2] / ".cache" / "models"


def test_train_then_eval(
    shared_data: Path, tmp_path: Path, featurizer: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the featurizer fixture has distilled the embedder into the repo cache: reuse it
    monkeypatch.setenv("YARD_MODEL_CACHE", str(MODEL_CACHE))
    rows = (shared_data / "routellm" / "gsm8k.jsonl").read_text().splitlines()[:120]
    data = tmp_path / "labels.jsonl"
    data.write_text("\n".join(rows) + "\n")
    runner = CliRunner()
    out = tmp_path / "r.json"
    replies = shared_data / "routellm" / "raw" / "gsm8k_responses.csv"
    weak = "mistralai/Mixtral-8x7B-Instruct-v0.1"
    args = ["--weak", weak, "--strong", "gpt-4-1106-preview", "--replies", str(replies)]
    done = runner.invoke(app, ["route", "train", str(data), "-o", str(out), *args, "--json"])
    assert done.exit_code == 0, done.output
    summary = json.loads(done.stdout)
    assert summary["candidates"][1] == "gpt-4-1106-preview" and set(summary["cascade"]) == {weak}
    report = tmp_path / "r.html"
    done = runner.invoke(
        app, ["route", "eval", str(data), "-k", "2", *args, "--json", "-r", str(report)]
    )
    assert done.exit_code == 0, done.output
    assert {"router", "cascade"} <= set(json.loads(done.stdout)["spread"])
    assert report.read_text().startswith("<!doctype html>")
