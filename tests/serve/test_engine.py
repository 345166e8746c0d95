"""The local llama.cpp engine with the real SmolLM2 model, over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from modelyard.errors import BackendError
from modelyard.serve.engine import LocalEngine

pytestmark = pytest.mark.slow


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        # SO_REUSEADDR ignores connections lingering in TIME_WAIT but not a listening socket
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_engine_answers_chat_completions_and_stops(smollm2_gguf: Path) -> None:
    engine = LocalEngine(smollm2_gguf, ctx_size=512, threads=2, parallel=1, alias="smollm2")
    url = asyncio.run(engine.start())
    try:
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
        assert engine.healthy()
        reply = httpx.post(
            f"{url}/chat/completions",
            json={
                "model": "smollm2",
                "messages": [{"role": "user", "content": "What is the capital of France?"}],
                "max_tokens": 8,
                "temperature": 0,
            },
            timeout=30,
        )
        assert reply.status_code == 200, reply.text
        body = reply.json()
        assert body["object"] == "chat.completion"
        assert body["choices"][0]["message"]["content"].strip()
        assert 0 < body["usage"]["completion_tokens"] <= 8
        assert body["usage"]["prompt_tokens"] > 5
        assert httpx.get(f"{url}/models", timeout=5).json()["data"][0]["id"] == "smollm2"
    finally:
        port = urlsplit(url).port
        asyncio.run(engine.stop())
    assert not engine.healthy()
    assert engine.pid is None
    assert port is not None and port_is_free(port)


def test_crashed_engine_is_reported_unhealthy(smollm2_gguf: Path) -> None:
    engine = LocalEngine(smollm2_gguf, ctx_size=256, threads=1, parallel=1)
    asyncio.run(engine.start())
    pid = engine.pid
    assert pid is not None and engine.healthy()
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 5
    while engine.healthy() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not engine.healthy()
    asyncio.run(engine.stop())  # stopping a dead engine is fine


def test_bad_model_file_fails_with_the_log_tail(tmp_path: Path) -> None:
    bogus = tmp_path / "broken.gguf"
    bogus.write_bytes(b"GGUF" + b"\0" * 64)
    engine = LocalEngine(bogus, log_path=tmp_path / "engine.log")
    with pytest.raises(BackendError, match=r"broken\.gguf exited while loading.*engine\.log"):
        asyncio.run(engine.start())
    assert engine.pid is None


def test_missing_model_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(BackendError, match=r"absent\.gguf: model file not found.*yard pull"):
        asyncio.run(LocalEngine(tmp_path / "absent.gguf").start())
