"""`yard serve`'s structured logs: one JSON line per request and per event on stdout, at the
configured level, never a prompt, a reply or a key."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import httpx
import orjson
import pytest

from modelyard.serve.keys import KeyStore
from modelyard.serve.ledger import Ledger
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import log_lines
from tests.serve.replicas import YARD, free_port

pytestmark = pytest.mark.slow

PROMPT = "my card is 4111 1111 1111 1111 and my secret word is zebra-quartz"
UPSTREAM_KEY = "sk-upstream-never-logged-9d2e"


def serve(tmp_path: Path, home: Path, config: str) -> tuple[str, subprocess.Popen]:
    """`yard serve` on ``config``, once it answers: its URL and process (stdout piped)."""
    path = tmp_path / "gateway.yaml"
    path.write_text(config)
    port = free_port()
    proc = subprocess.Popen(
        [str(YARD), "serve", "--config", str(path), "--port", str(port)],
        env={**os.environ, "YARD_HOME": str(home)}, stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            httpx.get(url + "/health")
            break
        except httpx.HTTPError:
            assert time.monotonic() < deadline and proc.poll() is None, "did not start"
            time.sleep(0.2)
    return url, proc


def test_one_line_per_request_and_per_event_without_secrets(tmp_path: Path, yard_home: Path):
    ledger = Ledger.open(None, yard_home)
    _, key = KeyStore.open(ledger.engine).create("alice")
    ledger.close()
    with FaultUpstream("a") as a, FaultUpstream("b") as b:
        config = (  # the card number goes to the remote backends as a placeholder
            "server: {log_level: info}\nprivacy: {private_data: redact, ner: false}\n"
            f"backends:\n  - {{name: a, base_url: '{a.url}', api_key: {UPSTREAM_KEY},"
            " max_retries: 1, retry_backoff_s: 0.01, breaker: {failures: 2}}\n"
            f"  - {{name: b, base_url: '{b.url}'}}\nmodels: {{m: [a, b]}}\n"
        )
        url, proc = serve(tmp_path, yard_home, config)
        auth = {"Authorization": f"Bearer {key}"}
        chat = {"model": "m", "messages": [{"role": "user", "content": PROMPT}]}
        try:
            a.plan("500", "leak:500")  # two failures: a retry, the breaker opens, b answers
            assert (
                httpx.post(url + "/v1/chat/completions", json=chat, headers=auth).status_code == 200
            )
            assert httpx.post(url + "/v1/chat/completions", json=chat).status_code == 401
            assert httpx.post(url + "/v1/chat/completions", json={**chat, "model": "x"},
                              headers=auth).status_code == 404  # fmt: skip
        finally:
            proc.terminate()
            out = proc.communicate(timeout=30)[0]
    lines = [orjson.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert len(lines) == len(out.strip().splitlines())  # every line is JSON
    requests = log_lines(out, "request")
    assert [(r["status"], r["key"]) for r in requests] == [
        (200, "alice"),
        (401, None),
        (404, "alice"),
    ]
    ok = requests[0]
    assert (ok["model"], ok["served_model"], ok["backend"]) == ("m", "m", "b")
    assert ok["prompt_tokens"] == 7 and ok["latency_ms"] > 0
    assert ok["route"].startswith("a: HTTP 500")
    assert log_lines(out, "retry")[0]["backend"] == "a"
    assert log_lines(out, "breaker_open")[0]["backend"] == "a"
    assert log_lines(out, "fallback")[0]["to"] == "b"
    for secret in (PROMPT, "4111", "zebra", key, UPSTREAM_KEY, "hello from"):
        assert secret not in out, secret


def test_the_level_setting_hides_request_lines(tmp_path: Path, yard_home: Path):
    with FaultUpstream("a") as a:
        config = (f"server: {{log_level: warning}}\nbackends: [{{name: a, base_url: '{a.url}'}}]\n"
                  "models: {m: [a]}\n")  # fmt: skip
        url, proc = serve(tmp_path, yard_home, config)
        try:
            chat = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
            assert httpx.post(url + "/v1/chat/completions", json=chat).status_code == 200
        finally:
            proc.terminate()
            out = proc.communicate(timeout=30)[0]
    assert log_lines(out, "request") == []
    assert all(orjson.loads(line)["level"] in ("warning", "error") for line in out.splitlines()
               if line.startswith("{"))  # fmt: skip
