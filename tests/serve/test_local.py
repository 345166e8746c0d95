"""The embedded default end to end: the gateway runs llama.cpp with the real SmolLM2."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import orjson
import pytest

from modelyard.serve.client import chat
from modelyard.serve.config import GatewayConfig, default_config
from tests.serve.gateway_server import running_gateway

pytestmark = pytest.mark.slow


def test_default_config_serves_smollm2(smollm2_gguf: Path, monkeypatch: pytest.MonkeyPatch):
    cache_root = smollm2_gguf.parents[2]  # where pull() keeps models: <root>/pypi/<wheel>/
    monkeypatch.setenv("YARD_MODEL_CACHE", str(cache_root))
    with running_gateway(default_config()) as gw:
        client = openai.OpenAI(base_url=gw.url + "/v1", api_key="none", max_retries=0)
        done = client.chat.completions.create(
            model="default", messages=[{"role": "user", "content": "Say hi"}], max_tokens=8
        )
        assert done.choices[0].message.content and done.usage.completion_tokens > 0
        assert done.model == smollm2_gguf.name.removesuffix(".gguf")  # not the file's path
        pieces = list(chat(gw.url, "smollm2", "Count to three", max_tokens=12))
        assert len(pieces) > 1 and "".join(pieces).strip()
        health = httpx.get(gw.url + "/health").json()
    assert health["backends"]["local"]["engine"]["running"] is True


def test_cascade_reads_the_local_engines_logprobs(
    smollm2_gguf: Path, monkeypatch: pytest.MonkeyPatch, remote_up, yard_home
):
    from tests.serve.test_gateway import ledger_rows

    monkeypatch.setenv("YARD_MODEL_CACHE", str(smollm2_gguf.parents[2]))
    raw = default_config().model_dump()
    raw["backends"].append({"name": "remote", "base_url": remote_up.url, "api_key": "sk-r"})
    raw["models"]["big"] = ["remote"]
    priced = {"model": "big", "input_per_mtok": 1.0, "output_per_mtok": 2.0}
    # SmolLM2's replies average far below -0.01 a token: always escalated
    raw["auto"] = {"candidates": ["smollm2", priced], "cascade": True, "cascade_min_logprob": -0.01}
    with running_gateway(GatewayConfig.model_validate(raw)) as gw:
        body = {"model": "auto", "messages": [{"role": "user", "content": "Say hi"}]}
        reply = httpx.post(
            gw.url + "/v1/chat/completions", json={**body, "max_tokens": 8}, timeout=120
        )  # a shared machine can take its time
    assert reply.status_code == 200, reply.text
    assert reply.headers["x-yard-route"].startswith("big; reason=cascade, cheapest first")
    (attempt,) = [a for a in orjson.loads(ledger_rows(yard_home)[-1]["route_reason"])["attempts"]
                  if a.startswith("smollm2:")]  # fmt: skip
    confidence = float(attempt.split("log-probability ")[1].split(",")[0])
    assert -20 < confidence < -0.01 and attempt.endswith("below -0.01, escalated")
    assert "logprobs" not in remote_up.requests[0]


def test_the_local_engine_follows_its_config_and_says_what_it_cannot_do(
    smollm2_gguf: Path, monkeypatch: pytest.MonkeyPatch
):
    """context_size is what /v1/models reports and what each slot gets; parallel slots;
    embeddings served when asked for; tools refused, since SmolLM2's template has none."""
    monkeypatch.setenv("YARD_MODEL_CACHE", str(smollm2_gguf.parents[2]))
    raw = default_config().model_dump()
    raw["backends"][0].update(context_size=1024, parallel=2, embeddings="mean", threads=2)
    with running_gateway(GatewayConfig.model_validate(raw)) as gw:
        models = {m["id"]: m for m in httpx.get(gw.url + "/v1/models").json()["data"]}
        engine = httpx.get(gw.url + "/health").json()["backends"]["local"]["engine"]
        props = httpx.get(engine_url(gw) + "/props").json()
        vector = httpx.post(gw.url + "/v1/embeddings", json={"model": "smollm2", "input": "hi"},
                            timeout=60)  # fmt: skip
        tools = httpx.post(gw.url + "/v1/chat/completions", json={
            "model": "smollm2", "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "tools": [{"type": "function", "function": {"name": "weather"}}]})  # fmt: skip
    assert models["smollm2"]["context_window"] == 1024 and engine["running"]
    assert props["total_slots"] == 2
    assert props["default_generation_settings"]["n_ctx"] == 1024
    assert vector.status_code == 200 and len(vector.json()["data"][0]["embedding"]) > 100
    assert tools.status_code == 400 and tools.json()["error"]["code"] == "tools_not_supported"


def engine_url(gw) -> str:
    """The local engine's base URL, as the gateway's backend knows it."""
    core = gw.app
    while not hasattr(core, "state"):
        core = core.app
    return core.state.backends.by_name["local"].balancer.replicas[0].url.removesuffix("/v1")
