"""The gateway config: strict validation, ${ENV} secrets, errors naming file, line and field."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelyard.errors import ConfigError
from modelyard.serve.config import GatewayConfig, default_config, load_config

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
         r"gateway.yaml:4: backends.0.colour: Extra inputs are not permitted"),
        ("backends:\n  - name: a\nmodels: {m: [a]}\n",
         r"gateway.yaml:2: backends.0: Value error, an openai backend needs base_url"),
        ("backends:\n  - name: a\n    base_url: http://x/v1\nmodels: {m: [a, b]}\n",
         r"models.m: unknown backend b"),
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
