"""The embedded default end to end: the gateway runs llama.cpp with the real SmolLM2."""

from __future__ import annotations

from pathlib import Path

import httpx
import openai
import pytest

from modelyard.serve.client import chat
from modelyard.serve.config import default_config
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
