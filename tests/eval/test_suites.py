"""Suite files, the shipped examples and the shared benchmark adapters."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard.cli import app
from modelyard.errors import EvalError
from modelyard.eval import example_suites, load_suite_file, resolve_suite
from modelyard.eval.adapters import MGSM_PREFIX
from tests.serve.fault_upstream import FaultUpstream


def test_examples_load_cleanly() -> None:
    suites = example_suites()
    assert set(suites) >= {"arithmetic", "json_extraction", "python_functions", "reply_language"}
    for path in suites.values():
        suite = load_suite_file(path)
        assert suite.problems == [] and len(suite.items) >= 10


def test_yaml_item_errors_name_the_item(tmp_path: Path) -> None:
    path = tmp_path / "s.yaml"
    path.write_text(
        "scorer: exact\nitems:\n  - {id: a, prompt: hi, reference: x}\n  - {id: b}\n"
        "  - [not, a, mapping]\n"
    )
    suite = load_suite_file(path)
    assert [i.id for i in suite.items] == ["a"]
    assert suite.problems[0].startswith(f"{path}: items[1]")
    assert "items[2]: expected an object" in suite.problems[1]


def test_unknown_suite_lists_what_exists(shared_data: Path) -> None:
    with pytest.raises(EvalError, match=r"mgsm.*arithmetic"):
        resolve_suite("nope", shared_data)
    with pytest.raises(EvalError, match="mgsm:fr"):
        resolve_suite("mgsm:xx", shared_data)


@pytest.mark.data
@pytest.mark.parametrize(
    ("spec", "count"),
    [
        ("gsm8k", 1319),
        ("humaneval", 164),
        ("mt_bench", 80),
        ("arena_hard", 500),
        ("m_ifeval:en", 541),
        ("m_ifeval:ja", 172),
    ],
)
def test_shared_sets_load(shared_data: Path, spec: str, count: int) -> None:
    suite = resolve_suite(spec, shared_data)
    assert len(suite.items) == count and suite.problems == []
    assert len({i.id for i in suite.items}) == count


@pytest.mark.data
def test_gsm8k_reference_is_the_final_number(shared_data: Path) -> None:
    first = resolve_suite("gsm8k", shared_data).items[0]
    assert first.reference == "18" and "####" in first.prompt


def localized_reply(model: str, messages: list[dict[str, str]]) -> str:
    prompt = messages[-1]["content"]
    prefix = next(p for lang, p in MGSM_PREFIX.items() if f'"{p}:' in prompt or f"「{p}:" in prompt)
    return f"16 - 3 - 4 = 9, 9 * 2 = 18\n{prefix}: 18"


@pytest.mark.data
@pytest.mark.parametrize("lang", ["en", "fr", "de", "es", "zh", "ja"])
def test_mgsm_runs_out_of_the_box(
    lang: str,
    shared_data: Path,
    fake_server: FaultUpstream,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YARD_SHARED_DATA", str(shared_data))
    fake_server.reply = localized_reply
    result = CliRunner().invoke(
        app,
        [
            "eval",
            f"mgsm:{lang}",
            "-m",
            "m",
            "--base-url",
            fake_server.url,
            "-n",
            "3",
            "-o",
            str(tmp_path),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "report.json").read_text())
    first = report["items"][0]
    assert first["score"]["value"] == 1.0, first["score"]
    assert first["score"]["metadata"]["extracted"] == f"after {MGSM_PREFIX[lang]!r}"
    assert [i["score"]["value"] for i in report["items"][1:]] == [0.0, 0.0]
    assert report["spec"]["suite"] == f"mgsm:{lang}"
