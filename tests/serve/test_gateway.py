"""The gateway API against a real loopback upstream: pass-through, streaming, errors, ledger."""

from __future__ import annotations

import gc
import socket
import sqlite3
import time
from pathlib import Path

import httpx
import orjson
import pytest

from modelyard.serve.config import GatewayConfig
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import gateway_config, running_gateway

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def upstream():
    with FaultUpstream("a") as up:
        yield up


@pytest.fixture
def gateway(upstream, yard_home):
    backend = {"name": "a", "base_url": upstream.url, "model": "up-model", "api_key": "sk-up"}
    config = gateway_config([backend], {"m": ["a"]}, max_body_bytes=2048)
    with running_gateway(config) as gw:
        yield gw


@pytest.fixture
def client(gateway):
    with httpx.Client(base_url=gateway.url, timeout=10) as c:
        yield c


def ledger_rows(home: Path) -> list[dict]:
    with sqlite3.connect(home / "ledger.db") as db:
        db.row_factory = sqlite3.Row
        return [dict(r) for r in db.execute("select * from requests order by rowid")]


def test_chat_passes_through_with_upstream_model_and_key(client, upstream):
    body = {**CHAT, "tools": [{"type": "function", "function": {"name": "f"}}],
            "response_format": {"type": "json_object"}, "temperature": 0.3}  # fmt: skip
    reply = client.post("/v1/chat/completions", json=body, headers={"Authorization": "Bearer c"})
    assert reply.status_code == 200
    assert reply.json()["choices"][0]["message"]["content"] == "hello from a"
    assert reply.headers["x-yard-backend"] == "a"
    assert reply.headers["x-request-id"]
    sent = upstream.requests[-1]
    assert sent["model"] == "up-model"
    assert sent["tools"] == body["tools"] and sent["response_format"] == body["response_format"]
    assert upstream.headers[-1]["Authorization"] == "Bearer sk-up"


def test_completions_and_embeddings(client):
    done = client.post("/v1/completions", json={"model": "m", "prompt": "x"})
    assert done.status_code == 200
    emb = client.post("/v1/embeddings", json={"model": "m", "input": "x"})
    assert emb.json()["data"][0]["embedding"] == [0.1, 0.2]


def test_stream_arrives_chunk_by_chunk(client, upstream):
    upstream.plan("slow:0.15")
    body = {**CHAT, "stream": True}
    arrivals, text = [], b""
    with client.stream("POST", "/v1/chat/completions", json=body) as reply:
        assert reply.headers["content-type"] == "text/event-stream"
        for piece in reply.iter_raw():
            arrivals.append(time.perf_counter())
            text += piece
    events = [e for e in text.split(b"\n\n") if e]
    assert events[-1] == b"data: [DONE]"
    assert len(events) == upstream.chunks + 1  # no usage chunk: the client did not ask for it
    assert upstream.requests[-1]["stream_options"] == {"include_usage": True}
    assert arrivals[-1] - arrivals[0] > 0.45  # pieces came as produced, not buffered to the end


def test_stream_usage_reaches_client_that_asked(client):
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}
    with client.stream("POST", "/v1/chat/completions", json=body) as reply:
        events = [e for e in reply.read().split(b"\n\n") if e]
    usage = orjson.loads(events[-2].removeprefix(b"data: "))["usage"]
    assert usage["completion_tokens"] == 5


@pytest.mark.parametrize(
    ("content", "status", "param", "code"),
    [
        (b"{not json", 400, None, "invalid_json"),
        (b"[1]", 400, None, "invalid_json"),
        (b'{"messages": []}', 400, "model", None),
        (b'{"model": "m"}', 400, "messages", "missing_required_parameter"),
        (b'{"model": "nope", "messages": [{"role": "user", "content": "x"}]}', 404, "model",
         "model_not_found"),
        (b'{"model": "m", "messages": [{"role": "user"}], "api_base": "http://evil"}', 400,
         "api_base", "forbidden_parameter"),
        (b'{"model": "m", "messages": [{}], "stream": "yes"}', 400, "stream", "invalid_type"),
        (b'{"model": "m", "messages": [{"role": "user", "content": "' + b"x" * 3000 + b'"}]}',
         413, None, "request_too_large"),
    ],
)  # fmt: skip
def test_client_errors_use_openai_schema(client, upstream, content, status, param, code):
    reply = client.post("/v1/chat/completions", content=content)
    assert reply.status_code == status
    error = reply.json()["error"]
    assert error["message"] and error["param"] == param and error["code"] == code
    assert reply.headers["x-request-id"]
    assert upstream.requests == []


def test_unknown_path_and_method(client):
    assert client.get("/v1/nothing").json()["error"]["code"] == "not_found"
    reply = client.get("/v1/chat/completions")
    assert reply.status_code == 405 and reply.headers["allow"] == "POST"


def test_upstream_client_error_passes_through_retold(client, upstream):
    upstream.plan("400")
    reply = client.post("/v1/chat/completions", json=CHAT)
    assert reply.status_code == 400
    assert reply.json()["error"]["message"] == "backend a answered HTTP 400: injected 400"
    assert len(upstream.requests) == 1  # a 4xx is the client's problem: no retry


def test_models_health_metrics(client):
    models = client.get("/v1/models").json()
    assert [m["id"] for m in models["data"]] == ["m"]
    health = client.get("/health")
    assert health.status_code == 200 and health.json()["backends"]["a"]["breaker"] == "closed"
    client.post("/v1/chat/completions", json=CHAT)
    text = client.get("/metrics").text
    assert 'yard_requests_total{backend="a",model="m",status="200"} 1.0' in text
    assert 'yard_backend_breaker_state{backend="a"} 0.0' in text


def test_every_request_lands_in_the_ledger(upstream, yard_home):
    config = gateway_config([{"name": "a", "base_url": upstream.url}], {"m": ["a"]})
    with running_gateway(config) as gw, httpx.Client(base_url=gw.url) as client:
        ok = client.post("/v1/chat/completions", json=CHAT)
        client.post("/v1/chat/completions", json={**CHAT, "model": "nope"})
        with client.stream("POST", "/v1/chat/completions", json={**CHAT, "stream": True}) as s:
            s.read()
    rows = ledger_rows(yard_home)
    assert [r["status"] for r in rows] == [200, 404, 200]
    first, missing, streamed = rows
    assert first["id"] == ok.headers["x-request-id"]
    assert (first["prompt_tokens"], first["completion_tokens"], first["cached_tokens"]) == (7, 4, 2)
    assert first["backend"] == "a" and first["route_reason"] == "first in chain"
    assert first["request_json"] is None  # prompts are not logged unless the operator asks
    assert missing["error_type"] == "model_not_found"
    assert streamed["stream"] and streamed["completion_tokens"] == 5 and streamed["ttft_ms"] >= 0


def test_request_ids_are_unique_time_ordered_ulids():
    from ulid import ULID

    from modelyard.serve.middleware.request_id import new_id

    ids = [new_id() for _ in range(2000)]
    assert len(set(ids)) == len(ids)
    assert all(str(ULID.from_str(i)) == i for i in ids[:50])
    assert abs(ULID.from_str(ids[0]).timestamp - time.time()) < 5


def test_models_list_says_the_context_each_model_really_gets():
    from modelyard.serve.config import default_config
    from modelyard.serve.models import ModelList, model_windows
    from tests.serve.gateway_server import shipped_catalog

    config = default_config()  # the local engine allocates 2,048 a request; SmolLM2 has 8,192
    listed = orjson.loads(ModelList(config, model_windows(config, shipped_catalog())).listing(
        None, lambda m: True))["data"]  # fmt: skip
    windows = {m["id"]: m["context_window"] for m in listed}
    assert windows == {"smollm2": 2048, "default": 2048, "auto": 2048}
    remote = GatewayConfig.model_validate({
        "backends": [{"name": "a", "base_url": "http://x/v1", "model": "qwen2.5-7b-instruct"},
                     {"name": "l", "kind": "local", "gguf": "x.gguf", "context_size": 4096}],
        "models": {"q": ["a"], "both": ["a", "l"]}})  # fmt: skip
    windows = model_windows(remote, shipped_catalog())
    assert windows["q"]["a"] and windows["both"] == {"a": windows["q"]["a"], "l": 4096}


def test_a_request_leaves_no_reference_cycles(yard_home: Path):
    """Every object a proxied request makes is freed by reference counting: nothing waits for
    the garbage collector, whose passes would walk them on the request path."""
    with FaultUpstream("a") as up:
        config = gateway_config([{"name": "a", "base_url": up.url}], {"m": ["a"]}, admin_key="sk-x")
        with running_gateway(config) as gw, socket.create_connection(("127.0.0.1", gw.port)) as s:
            body = orjson.dumps({"model": "m", "messages": [{"role": "user", "content": "hi"}]})
            request = (b"POST /v1/chat/completions HTTP/1.1\r\nHost: localhost\r\n"
                       b"Authorization: Bearer sk-x\r\nContent-Length: %d\r\n\r\n%s"
                       % (len(body), body))  # fmt: skip
            answers = s.makefile("rb")

            def chat() -> None:
                s.sendall(request)
                head = list(iter(answers.readline, b"\r\n"))
                assert head[0].startswith(b"HTTP/1.1 200")
                length = next(int(h.split(b":")[1]) for h in head if h.startswith(b"content-len"))
                answers.read(length)

            for _ in range(20):  # warm up: first-use caches are not per-request garbage
                chat()
            gc.collect()
            gc.set_debug(gc.DEBUG_SAVEALL)
            try:
                for _ in range(200):
                    chat()
                time.sleep(0.1)
                gc.collect()
                kinds = sorted({type(o).__qualname__ for o in gc.garbage})
            finally:
                gc.set_debug(0)
                gc.garbage.clear()
    assert kinds == []
