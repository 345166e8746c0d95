"""The set pass that lets a short text skip the patterns it cannot match changes no verdict."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelyard.privacy import Scanner, _re

ROOT = Path(__file__).resolve().parents[2] / "benchmarks" / "privacy"
CORPORA = [ROOT / "corpus" / f"{half}.jsonl" for half in ("dev", "heldout")] + [
    ROOT / "blind" / f"{half}.jsonl" for half in ("dev", "test")
]


def bodies() -> list[dict[str, Any]]:
    return [json.loads(line)["body"] for path in CORPORA for line in path.read_text().splitlines()]


def verdicts(scanner: Scanner, items: list[dict[str, Any]]) -> list[tuple[object, ...]]:
    found = []
    for body in items:
        scan = scanner.scan_body(body)
        spans = tuple((f.kind, f.start, f.end) for f in scan.findings)
        found.append((scan.private, tuple(scan.kinds), spans))
    return found


def test_every_corpus_body_gets_the_same_findings_with_and_without_the_set_pass(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    items = bodies()
    assert len(items) > 700
    with_pass = verdicts(Scanner(), items)
    monkeypatch.setattr(_re, "PREFILTER_BYTES", -1)
    assert verdicts(Scanner(), items) == with_pass


def test_the_set_names_the_patterns_that_can_match() -> None:
    prefilter = _re.Prefilter()
    digits, word = _re.re2.compile(r"a\d+"), _re.re2.compile("foo")
    prefilter.add(digits, r"a\d+")
    prefilter.add(word, "(?i:foo)")
    found = prefilter.matching(b"say FOO")
    assert found is not None
    assert prefilter.may_match(word, found) and not prefilter.may_match(digits, found)
    assert prefilter.may_match(_re.re2.compile("unknown"), found)  # added later: runs


def test_a_set_beyond_its_memory_answers_nothing_so_every_pattern_runs() -> None:
    prefilter = _re.Prefilter(memory=1 << 10)
    pattern = "|".join(f"w{n}x[a-z]{{3,9}}y" for n in range(500))
    prefilter.add(_re.re2.compile(pattern), pattern)
    assert prefilter.matching(b"w1xabcy") is None
