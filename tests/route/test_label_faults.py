"""Label files as users get them wrong, seen from the real `yard route` command: one line naming
file:line and field on stderr, exit status 1, no traceback; and the reply-joining step's faults."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from modelyard.route.datasets import LabelError, join_replies, read_labels

GOOD = {"id": "set.0", "prompt": "What is 2 + 2?", "labels": {"a": 1, "b": 0}}
YARD = str(Path(sys.executable).parent / "yard")


def run_yard(*args: str, home: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "YARD_RAISE_ERRORS"}
    env |= {"YARD_HOME": str(home), "COLUMNS": "100"}
    return subprocess.run([YARD, *args], env=env, capture_output=True, text=True, timeout=120)


def write_lines(path: Path, *lines: object) -> Path:
    text = "".join((x if isinstance(x, str) else json.dumps(x)) + "\n" for x in lines)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("lines", "shown"),
    [
        ([GOOD, "{oops"], ":2: not JSON"),
        ([GOOD, GOOD, {"prompt": "p", "labels": {"a": "yes"}}], ":3: labels.a: 'yes' is not a"),
        ([{"prompt": "p", "labels": {"a": 1}, "costs": {"a": -0.5}}], ":1: costs.a: -0.5 is not"),
        ([GOOD, {"prompt": "p", "labels": {"a": 0, "b": 42}}], "scores run from 0 to 42"),
        (["", "  "], "no usable rows"),
        ([GOOD, {"prompt": ["a list"], "labels": {"a": 1}}], ":2: prompt: must be a string"),
    ],
)
def test_the_command_names_the_fault_and_exits_1(tmp_path: Path, lines: list[object],
                                                  shown: str) -> None:  # fmt: skip
    data = write_lines(tmp_path / "labels.jsonl", *lines)
    done = run_yard("route", "train", str(data), "-m", "a,b", "-o", str(tmp_path / "r.json"),
                    home=tmp_path)  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert shown in done.stderr and str(data) in done.stderr
    assert "Traceback" not in done.stderr and not (tmp_path / "r.json").exists()


def test_a_label_file_that_is_a_directory_or_missing(tmp_path: Path) -> None:
    for path in (tmp_path / "missing.jsonl", tmp_path):
        done = run_yard("route", "eval", str(path), "-m", "a,b", home=tmp_path)
        assert done.returncode == 1 and "no such label file" in done.stderr, done.stderr
        assert "Traceback" not in done.stderr


def test_a_model_the_labels_do_not_have_is_named(tmp_path: Path) -> None:
    data = write_lines(tmp_path / "labels.jsonl", *[GOOD] * 3)
    done = run_yard("route", "train", str(data), "-m", "a,zeta", "-o", str(tmp_path / "r.json"),
                    home=tmp_path)  # fmt: skip
    assert done.returncode == 1 and "model 'zeta' has no labels" in done.stderr, done.stderr


def _raw_csv(path: Path, prompts: list[str]) -> Path:
    header = "prompt,a_response,b_response\n"
    body = "".join(f'"{p}",reply a {i},reply b {i}\n' for i, p in enumerate(prompts))
    path.write_text(header + body, encoding="utf-8")
    return path


def test_replies_join_by_the_ids_index(tmp_path: Path) -> None:
    rows = [{**GOOD, "id": f"set.{i}", "prompt": f"q{i}"} for i in range(3)]
    labels = write_lines(tmp_path / "labels.jsonl", *rows)
    raw = _raw_csv(tmp_path / "raw.csv", ["q0", "q1", "q2"])
    joined = read_labels(join_replies(labels, raw, tmp_path / "joined.jsonl"))
    assert joined.responses == {"a": ["reply a 0", "reply a 1", "reply a 2"],
                                "b": ["reply b 0", "reply b 1", "reply b 2"]}  # fmt: skip


@pytest.mark.parametrize(
    ("row", "prompts"),
    [
        ({**GOOD, "id": "no-index", "prompt": "q0"}, ["q0"]),  # no ".<n>" to find the CSV row by
        ({**GOOD, "id": "set.5", "prompt": "q0"}, ["q0"]),  # the CSV has no row 5
        ({**GOOD, "id": "set.0", "prompt": "q0"}, ["another prompt"]),  # row 0 holds another
    ],
)
def test_a_reply_row_that_does_not_match_is_refused(tmp_path: Path, row: dict,
                                                     prompts: list[str]) -> None:  # fmt: skip
    labels = write_lines(tmp_path / "labels.jsonl", GOOD | {"prompt": prompts[0], "id": "x.0"},
                         row)  # fmt: skip
    raw = _raw_csv(tmp_path / "raw.csv", prompts)
    with pytest.raises(LabelError, match=r"labels\.jsonl:2: no row of .*raw\.csv holds this"):
        join_replies(labels, raw, tmp_path / "out.jsonl")


def test_a_bad_row_stops_the_join_at_its_line(tmp_path: Path) -> None:
    labels = write_lines(tmp_path / "labels.jsonl", GOOD | {"prompt": "q0"}, "[1]")
    raw = _raw_csv(tmp_path / "raw.csv", ["q0"])
    with pytest.raises(LabelError, match=r"labels\.jsonl:2: a row must be a JSON object"):
        join_replies(labels, raw, tmp_path / "out.jsonl")
