"""`yard plan` through Typer's CliRunner: ranking, breakdown, JSON and user errors."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from modelyard.cli import app
from modelyard.errors import YardError

runner = CliRunner()


def test_breakdown_json() -> None:
    args = ["plan", "llama-3.3-70b-instruct", "--gpu", "2xA100-80G", "--context", "32k", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["memory"]["tensor_parallel"] == 2
    # BF16 leaves no KV room on 2×80 GiB at 32k, so auto picks FP8
    assert data["memory"]["quant"] == "fp8"
    assert {r["engine"] for r in data["recipes"]} >= {"vllm", "sglang", "tgi", "compose"}
    assert data["cost"]["breakeven"]


def test_breakdown_table_shows_basis_and_recipes() -> None:
    result = runner.invoke(app, ["plan", "qwen3-8b", "--gpu", "1xH100", "--context", "16k"])
    assert result.exit_code == 0, result.output
    assert "memory basis" in result.output and "vllm serve" in result.output


def test_ranking_excludes_with_reasons() -> None:
    args = [
        "plan",
        "--gpu",
        "1xH100",
        "--workload",
        "chat",
        "--tokens-per-day",
        "20M",
        "--license",
        "commercial",
        "--languages",
        "fr,de",
        "--json",
    ]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["ranked"]
    reasons = {e["model_id"]: " ".join(e["reasons"]) for e in data["excluded"]}
    assert "does not fit" in reasons["deepseek-v3"] or "language" in reasons["deepseek-v3"]
    assert any("language" in r for r in reasons.values())


def test_unknown_gpu_is_a_user_error() -> None:
    result = runner.invoke(app, ["plan", "qwen3-8b", "--gpu", "H1000"])
    assert isinstance(result.exception, YardError)
    assert "did you mean" in str(result.exception)


@pytest.mark.parametrize(
    "flag", [["--quant", "q9"], ["--engine", "exllama"], ["--hybrid", "50/50"]]
)
def test_bad_flags_are_user_errors(flag: list[str]) -> None:
    result = runner.invoke(app, ["plan", "qwen3-8b", "--gpu", "h100", *flag])
    assert isinstance(result.exception, YardError)
