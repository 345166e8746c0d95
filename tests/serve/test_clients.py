"""Real clients through the gateway: the OpenAI Python SDK, and keys issued over /admin."""

from __future__ import annotations

import httpx
import openai
import pytest

from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import gateway_config, running_gateway

MESSAGES = [{"role": "user", "content": "hi"}]


@pytest.fixture
def upstream():
    with FaultUpstream("a", chunks=4) as up:
        yield up


def test_openai_sdk(upstream):
    config = gateway_config([{"name": "a", "base_url": upstream.url}], {"m": ["a"]})
    with running_gateway(config) as gw:
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="unused", max_retries=0)
        done = client.chat.completions.create(model="m", messages=MESSAGES)
        assert done.choices[0].message.content == "hello from a"
        assert done.usage.prompt_tokens_details.cached_tokens == 2
        stream = client.chat.completions.create(
            model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "t0 t1 t2 t3 " and chunks[-1].usage.completion_tokens == 4
        assert [m.id for m in client.models.list()] == ["m"]
        with pytest.raises(openai.NotFoundError, match="does not exist"):
            client.chat.completions.create(model="gpt-9", messages=MESSAGES)


def test_keys_from_admin_guard_the_gateway(upstream):
    backends = [{"name": "a", "base_url": upstream.url}]
    config = gateway_config(backends, {"m": ["a"], "other": ["a"]}, admin_key="adm-secret")
    with running_gateway(config) as gw, httpx.Client(base_url=gw.url) as http:
        assert http.post("/admin/keys", json={"name": "x"}).status_code == 401
        made = http.post("/admin/keys", json={"name": "team", "models": ["m"]},
                         headers={"Authorization": "Bearer adm-secret"})  # fmt: skip
        assert made.status_code == 201
        key = made.json()["key"]
        body = {"model": "m", "messages": MESSAGES}
        assert http.post("/v1/chat/completions", json=body).status_code == 401
        auth = {"Authorization": f"Bearer {key}"}
        assert http.post("/v1/chat/completions", json=body, headers=auth).status_code == 200
        other = {**body, "model": "other"}
        denied = http.post("/v1/chat/completions", json=other, headers=auth)
        assert denied.status_code == 403 and denied.json()["error"]["message"]


def test_yard_chat_streams_the_answer(upstream):
    from typer.testing import CliRunner

    from modelyard.cli import app

    config = gateway_config([{"name": "a", "base_url": upstream.url}], {"m": ["a"]})
    with running_gateway(config) as gw:
        result = CliRunner().invoke(app, ["chat", "--url", gw.url, "-m", "m", "hello"])
        assert result.exit_code == 0 and result.output == "t0 t1 t2 t3 \n"
        missing = CliRunner().invoke(app, ["chat", "--url", gw.url, "-m", "zzz", "hello"])
    assert "HTTP 404" in str(missing.exception) and "does not exist" in str(missing.exception)
