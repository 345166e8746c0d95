"""Fine-tuned LoRA adapters through the gateway: `MODEL:ADAPTER` and aliases reach only the
backends that hold the adapter, under the name the upstream serves it as; the ledger and
`yard usage` record which adapter answered; bad adapter configs name file, line and field."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from modelyard.cli import app
from modelyard.errors import ConfigError
from modelyard.serve.config import GatewayConfig
from modelyard.serve.config_file import load_config
from modelyard.serve.usage import open_store, summarize
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import running_gateway

CHAT = {"messages": [{"role": "user", "content": "hi"}]}


def _config(base_url: str, tuned_url: str) -> GatewayConfig:
    return GatewayConfig.model_validate(
        {
            "backends": [
                {"name": "base", "base_url": base_url, "model": "llama-base", "max_retries": 0},
                {
                    "name": "tuned",
                    "base_url": tuned_url,
                    "model": "llama-base",
                    "adapters": {"support": "support-v3", "sql": "sql"},
                    "max_retries": 0,
                },
            ],
            "models": {"llama": ["base", "tuned"]},
            "aliases": {"helpdesk": "llama:support"},
        }
    )


@pytest.fixture
def upstreams():
    with FaultUpstream("base") as base, FaultUpstream("tuned") as tuned:
        yield base, tuned


def test_adapter_requests_reach_only_the_holding_backend(upstreams, yard_home: Path) -> None:
    base, tuned = upstreams
    with running_gateway(_config(base.url, tuned.url)) as gw, httpx.Client(base_url=gw.url) as c:
        plain = c.post("/v1/chat/completions", json={**CHAT, "model": "llama"})
        by_name = c.post("/v1/chat/completions", json={**CHAT, "model": "llama:support"})
        by_alias = c.post("/v1/chat/completions", json={**CHAT, "model": "helpdesk"})
        sql = c.post("/v1/chat/completions", json={**CHAT, "model": "llama:sql", "stream": True})
        unknown = c.post("/v1/chat/completions", json={**CHAT, "model": "llama:nope"})
    assert [r.status_code for r in (plain, by_name, by_alias, sql)] == [200] * 4
    assert plain.headers["x-yard-backend"] == "base"
    assert by_name.headers["x-yard-backend"] == by_alias.headers["x-yard-backend"] == "tuned"
    assert [r["model"] for r in base.requests] == ["llama-base"]
    assert [r["model"] for r in tuned.requests] == ["support-v3", "support-v3", "sql"]
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "model_not_found"
    with sqlite3.connect(yard_home / "ledger.db") as db:
        rows = db.execute("select requested_model, adapter, backend from requests order by rowid")
        assert rows.fetchall() == [
            ("llama", None, "base"),
            ("llama:support", "support", "tuned"),
            ("helpdesk", "support", "tuned"),
            ("llama:sql", "sql", "tuned"),
            ("llama:nope", None, None),
        ]
    report = summarize(open_store(None, yard_home))
    assert [(r.group, r.requests) for r in report.by_adapter] == [("support", 2), ("sql", 1)]
    result = CliRunner().invoke(app, ["usage", "--by", "adapter", "--json"])
    assert result.exit_code == 0, result.output
    assert {r["group"] for r in json.loads(result.output)["by_adapter"]} == {"support", "sql"}


def test_adapter_down_means_no_fallback_to_the_base_model(upstreams, yard_home: Path) -> None:
    base, tuned = upstreams
    tuned.plan("503")
    with running_gateway(_config(base.url, tuned.url)) as gw, httpx.Client(base_url=gw.url) as c:
        reply = c.post("/v1/chat/completions", json={**CHAT, "model": "llama:support"})
    # the base backend does not hold the adapter: answering with the base model would be wrong
    assert reply.status_code >= 500 and base.requests == []


BAD = [
    ("adapters: {'a:b': x}", "adapters.a:b", "should match pattern"),
    ("adapters: {a: ''}", "adapters.a", "at least 1 character"),
    ("aliases: {helpdesk: 'llama:nope'}", "aliases.helpdesk", "no backend of 'llama'"),
    ("aliases: {helpdesk: 'other:support'}", "aliases.helpdesk", "not MODEL:ADAPTER"),
    ("aliases: {llama: 'llama:support'}", "aliases.llama", "already a model name"),
]


@pytest.mark.parametrize(("extra", "field", "message"), BAD)
def test_bad_adapter_config_names_the_field(tmp_path: Path, extra: str, field: str,
                                            message: str) -> None:  # fmt: skip
    adapters = extra if extra.startswith("adapters") else "adapters: {support: s}"
    aliases = extra if extra.startswith("aliases") else ""
    text = (
        "backends:\n  - name: vllm\n    base_url: http://127.0.0.1:9/v1\n"
        f"    {adapters}\nmodels:\n  llama: [vllm]\n{aliases}\n"
    )
    path = tmp_path / "gateway.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message) as err:
        load_config(path)
    assert str(path) in str(err.value)
    assert field.split(".")[0] in str(err.value)


def test_model_name_clashing_with_an_adapter_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "gateway.yaml"
    path.write_text(
        "backends:\n  - name: v\n    base_url: http://127.0.0.1:9/v1\n    adapters: {8b: x}\n"
        "models:\n  'qwen3:8b': [v]\n"
    )
    with pytest.raises(ConfigError, match="also an adapter"):
        load_config(path)
    path.write_text(
        "backends:\n  - name: local\n    kind: local\n    gguf: smollm2\n    adapters: {a: a}\n"
        "models:\n  m: [local]\n"
    )
    with pytest.raises(ConfigError, match="openai backend"):
        load_config(path)
