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
    # the content chunks, the finish chunk and [DONE]; no usage chunk: the client did not ask
    assert len(events) == upstream.chunks + 2
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


def test_served_model_is_the_public_name_and_upstream_model_what_was_sent(upstream, yard_home):
    backend = {"name": "a", "base_url": upstream.url, "model": "up-model"}
    with running_gateway(gateway_config([backend], {"m": ["a"]})) as gw:
        assert httpx.post(gw.url + "/v1/chat/completions", json=CHAT).status_code == 200
    (row,) = ledger_rows(yard_home)
    assert (row["requested_model"], row["served_model"], row["upstream_model"]) == (
        "m", "m", "up-model",
    )  # fmt: skip


def test_models_show_what_the_key_may_use_and_one_can_be_retrieved(upstream, yard_home):
    import openai

    backends = [{"name": "a", "base_url": upstream.url}]
    config = gateway_config(backends, {"m": ["a"], "n": ["a"]}, admin_key="sk-admin")
    with running_gateway(config) as gw:
        admin = {"Authorization": "Bearer sk-admin"}
        only_m = {"name": "only-m", "models": ["m"]}
        made = httpx.post(gw.url + "/admin/keys", headers=admin, json=only_m)
        key = {"Authorization": f"Bearer {made.json()['key']}"}
        listed = httpx.get(gw.url + "/v1/models", headers=key).json()["data"]
        everything = httpx.get(gw.url + "/v1/models", headers=admin).json()["data"]
        sdk = openai.OpenAI(base_url=gw.url + "/v1", api_key=made.json()["key"], max_retries=0)
        one = sdk.models.retrieve("m")
        with pytest.raises(openai.NotFoundError):
            sdk.models.retrieve("n")  # exists, but not for this key
        with pytest.raises(openai.NotFoundError):
            sdk.models.retrieve("nope")
        nobody = httpx.get(gw.url + "/v1/models/m")
    assert [m["id"] for m in listed] == ["m"] and [m["id"] for m in everything] == ["m", "n"]
    assert one.id == "m" and one.object == "model"
    assert nobody.status_code == 401


def test_refused_keys_leave_no_row_and_no_body_even_with_prompt_logging(upstream, yard_home):
    config = gateway_config([{"name": "a", "base_url": upstream.url}], {"m": ["a"]},
                            admin_key="sk-admin", log_prompts=True)  # fmt: skip
    secret = {**CHAT, "messages": [{"role": "user", "content": "x" * 100_000}]}
    with running_gateway(config) as gw:
        url = gw.url + "/v1/chat/completions"
        for auth in (None, "Bearer sk-wrong", "Basic x"):
            headers = {"Authorization": auth} if auth else {}
            assert httpx.post(url, json=secret, headers=headers).status_code == 401
        admin = {"Authorization": "Bearer sk-admin"}
        assert (
            httpx.post(url, json={"model": "m", "messages": "hi"}, headers=admin).status_code == 400
        )
        assert httpx.post(url, json=CHAT, headers=admin).status_code == 200
        metrics = httpx.get(gw.url + "/metrics").text
    rows = ledger_rows(yard_home)
    assert [(r["status"], r["key_id"]) for r in rows] == [(400, "admin"), (200, "admin")]
    assert rows[0]["request_json"] is None  # refused before forwarding: never stored
    assert rows[1]["request_json"] == orjson.dumps(CHAT).decode()
    assert 'yard_requests_total{backend="none",model="unknown",status="401"} 3.0' in metrics
    assert not any("x" * 1000 in (r["request_json"] or "") for r in rows)


def test_an_unexpected_failure_still_ends_in_one_row_a_metric_and_a_released_budget(
    upstream, yard_home
):
    """The server's send fails as the answer starts (a transport error, a server bug): the
    request is recorded once, as a 500, counted, and the budget it held is released."""
    from modelyard.serve.keys import KeyStore
    from modelyard.serve.ledger import Ledger

    ledger = Ledger.open(None, yard_home)
    _, raw = KeyStore.open(ledger.engine).create("k", budget_usd=1.0)
    ledger.close()
    backend = {"name": "a", "base_url": upstream.url, "price": "openai/gpt-4o"}
    config = gateway_config([backend], {"m": ["a"]}, admin_key="sk-admin")
    key = {"Authorization": f"Bearer {raw}"}
    with running_gateway(config, wrap=BreaksOnRequest) as gw:
        url = gw.url + "/v1/chat/completions"
        # a stream without max_tokens holds 128k tokens at gpt-4o's price: more than $1
        broken = httpx.post(url, json={**CHAT, "stream": True}, headers={**key, "x-break": "1"})
        again = httpx.post(url, json={**CHAT, "stream": True}, headers=key)
        metrics = httpx.get(gw.url + "/metrics").text
    assert broken.status_code == 500 and again.status_code == 200  # the hold was released
    assert [r["status"] for r in ledger_rows(yard_home)] == [500, 200]
    assert 'yard_requests_total{backend="a",model="m",status="500"} 1.0' in metrics


class BreaksOnRequest:
    """ASGI middleware standing for a server whose send fails: on requests with an x-break
    header, the first response start raises."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or (b"x-break", b"1") not in scope["headers"]:
            return await self.app(scope, receive, send)
        failed = False

        async def failing(message) -> None:
            nonlocal failed
            if message["type"] == "http.response.start" and not failed:
                failed = True
                raise RuntimeError("the transport failed")
            await send(message)

        await self.app(scope, receive, failing)
