"""`yard privacy scan` as a user runs it: a text file, a JSONL of bodies, stdin, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard.cli import app
from modelyard.errors import YardError

runner = CliRunner()
EMAIL = "jane.doe@gmail.com"
IBAN = "DE89 3704 0044 0532 0130 00"


def run(*args: str, stdin: str | None = None) -> str:
    result = runner.invoke(
        app, list(args), input=stdin, catch_exceptions=False, env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    return result.output


def test_text_file_masks_values(tmp_path: Path) -> None:
    path = tmp_path / "prompt.txt"
    path.write_text(f"Mail {EMAIL} the refund to\n{IBAN}.\n")
    out = run("privacy", "scan", str(path))
    assert "email" in out and "iban" in out and "1 item(s), 1 private" in out
    assert EMAIL not in out and "3704" not in out and "ja**************om" in out


def test_jsonl_reports_each_body_with_paths(tmp_path: Path) -> None:
    path = tmp_path / "requests.jsonl"
    bodies = [
        {"model": "auto", "messages": [{"role": "user", "content": "What is 2 + 2?"}]},
        {"model": "auto", "user": EMAIL, "messages": [{"role": "user", "content": "hi"}]},
    ]
    path.write_text("\n".join(json.dumps(b) for b in bodies) + "\n\n{not json\n")
    reports = json.loads(run("privacy", "scan", str(path), "--json"))
    assert [r["line"] for r in reports] == [1, 2, 4]
    assert reports[0]["private"] is False and reports[0]["findings"] == []
    assert reports[1]["kinds"] == ["email"] and reports[1]["findings"][0]["where"] == "user"
    assert reports[2]["private"] is True and reports[2]["error"].startswith("not JSON")
    assert EMAIL not in json.dumps(reports)


def test_stdin_as_jsonl() -> None:
    body = json.dumps({"messages": [{"role": "user", "content": "card 4111 1111 1111 1111"}]})
    reports = json.loads(run("privacy", "scan", "-", "--jsonl", "--json", stdin=body + "\n"))
    assert reports[0]["kinds"] == ["card"]
    assert reports[0]["findings"][0]["where"] == "messages[0].content"


def test_missing_and_binary_files_are_clear_errors(tmp_path: Path) -> None:
    with pytest.raises(YardError, match="no such file"):
        runner.invoke(app, ["privacy", "scan", str(tmp_path / "nope.txt")], catch_exceptions=False)
    binary = tmp_path / "image.png"
    binary.write_bytes(b"\x89PNG\r\n\x1a\n\xff\xfe")
    with pytest.raises(YardError, match="not UTF-8"):
        runner.invoke(app, ["privacy", "scan", str(binary)], catch_exceptions=False)
