"""The gateway config: strict validation, ${ENV} secrets, errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.errors import ConfigError
from modelyard.serve.config import GatewayConfig, default_config
from modelyard.serve.config_file import load_config

GOOD = """\
server:
  port: 4100
  admin_key: ${YARD_TEST_ADMIN}
backends:
  - name: vllm
    base_url: http://10.0.0.5:8000/v1
    replicas: [http://10.0.0.6:8000/v1]
    model: meta-llama/Llama-3.1-8B-Instruct
    timeouts: {connect: 2, first_token: 10, total: 120}
  - name: openai
    base_url: https://api.openai.com/v1
    api_key: ${YARD_TEST_OPENAI}
models:
  llama: [vllm, openai]
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    return path


def test_loads_and_resolves_env(tmp_path, monkeypatch):
    monkeypatch.setenv("YARD_TEST_ADMIN", "adm")
    monkeypatch.setenv("YARD_TEST_OPENAI", "sk-1")
    config = load_config(write(tmp_path, GOOD))
    assert config.server.admin_key == "adm"
    assert config.backend("openai").api_key == "sk-1"
    assert config.backend("vllm").urls == ["http://10.0.0.5:8000/v1", "http://10.0.0.6:8000/v1"]
    assert config.models["llama"] == ["vllm", "openai"]


def test_missing_env_names_line_and_field(tmp_path, monkeypatch):
    monkeypatch.setenv("YARD_TEST_ADMIN", "adm")
    monkeypatch.delenv("YARD_TEST_OPENAI", raising=False)
    with pytest.raises(
        ConfigError, match=r"gateway.yaml:12: backends.1.api_key: .*YARD_TEST_OPENAI"
    ):
        load_config(write(tmp_path, GOOD))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("backends:\n  - name: a\n    base_url: http://x/v1\n    colour: red\nmodels: {m: [a]}\n",
         r"gateway.yaml:4: backends.0.colour: unknown field 'colour'"),
        ("backends:\n  - name: a\nmodels: {m: [a]}\n",
         r"gateway.yaml:2: backends.0: Value error, an openai backend needs base_url"),
        ("backends:\n  - name: a\n    base_url: http://x/v1\nmodels: {m: [a, b]}\n",
         r"gateway.yaml:4: models.m.1: unknown backend 'b'; known: a"),
        ("backends:\n  - name: a\n    base_url: http://x/v1\n    timeouts: {total: -1}\n"
         "models: {m: [a]}\n", r"gateway.yaml:4: backends.0.timeouts.total: Input should be"),
        ("backends: [\n", r"gateway.yaml:2:1: invalid YAML"),
        ("backends:\n  - name: a\n    base_url: http://x/v1\n    supervision: {probe_failures: 2}\n"
         "models: {m: [a]}\n", r"backends.0: Value error, supervision applies to local backends"),
        ("backends:\n  - {name: a, kind: local, gguf: smollm2, supervision: {probe_every_s: 0}}\n"
         "models: {m: [a]}\n", r"gateway.yaml:2: backends.0.supervision.probe_every_s: Input"),
    ],
)  # fmt: skip
def test_errors_name_the_line(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_config(write(tmp_path, text))


def test_local_engine_supervision_is_configurable(tmp_path):
    text = ("backends:\n  - name: a\n    kind: local\n    gguf: smollm2\n"
            "    supervision: {probe_every_s: 1.5, probe_failures: 5, max_delay_s: 8}\n"
            "models: {m: [a]}\n")  # fmt: skip
    watch = load_config(write(tmp_path, text)).backends[0].supervision
    assert watch is not None
    assert (watch.probe_every_s, watch.probe_failures, watch.max_delay_s) == (1.5, 5, 8)
    assert watch.probe_timeout_s == 2.0  # the rest keep their defaults


def test_default_is_the_local_smollm2():
    config = default_config()
    assert config.backends[0].kind == "local" and config.backends[0].gguf == "smollm2"
    assert set(config.models) == {"smollm2", "default"}


def test_a_loaded_config_survives_the_round_trip_to_a_worker(tmp_path):
    # `--workers` hands each worker the validated config as JSON; it must validate again
    text = ("backends:\n  - {name: a, base_url: 'http://x/v1'}\n"
            "  - {name: b, kind: local, gguf: smollm2, supervision: {probe_failures: 4}}\n"
            "models: {m: [a, b]}\n")  # fmt: skip
    config = load_config(write(tmp_path, text))
    again = GatewayConfig.model_validate(config.model_dump(mode="json"))
    assert again.model_dump() == config.model_dump()


def test_every_problem_is_reported_at_once_with_its_line(tmp_path, monkeypatch):
    monkeypatch.delenv("YARD_TEST_UNSET", raising=False)
    text = """\
server:
  prot: 4100
backends:
  - name: local
    kind: local
    gguf: smollm2
  - name: remote
    base_url: ${YARD_TEST_UNSET}
    api_key: ${YARD_TEST_UNSET}
    timeouts: {total: 0}
models:
  small: [lokal]
  big: [remote, local, nothere]
auto:
  candidates: [small, bigg]
"""
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    lines = str(caught.value).splitlines()[1:]
    path = tmp_path / "gateway.yaml"
    assert lines == [
        f"{path}:8: backends.1.base_url: environment variable YARD_TEST_UNSET is not set; "
        "export it or edit the file",
        f"{path}:9: backends.1.api_key: environment variable YARD_TEST_UNSET is not set; "
        "export it or edit the file",
        f"{path}:2: server.prot: unknown field 'prot'; did you mean port?",
        f"{path}:10: backends.1.timeouts.total: Input should be greater than 0",
        f"{path}:12: models.small.0: unknown backend 'lokal'; did you mean local?",
        f"{path}:13: models.big.2: unknown backend 'nothere'; known: local, remote",
        f"{path}:15: auto.candidates.1: unknown model 'bigg'; did you mean big?",
    ]


def test_reference_errors_all_point_at_their_line_with_a_suggestion(tmp_path):
    text = """\
backends:
  - {name: local, kind: local, gguf: smollm2}
  - {name: remote, base_url: "http://x/v1"}
  - {name: remote, base_url: "http://y/v1"}
models:
  small: [lokal]
  big: [remote, local, nothere]
auto:
  candidates: [small, bigg]
"""
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, text))
    path = tmp_path / "gateway.yaml"
    assert str(caught.value).splitlines()[1:] == [
        f"{path}:4: backends.2.name: backend name 'remote' is used twice",
        f"{path}:6: models.small.0: unknown backend 'lokal'; did you mean local?",
        f"{path}:7: models.big.2: unknown backend 'nothere'; known: local, remote",
        f"{path}:9: auto.candidates.1: unknown model 'bigg'; did you mean big?",
    ]
