"""The fake upstream itself: each behaviour looks on the wire as the docstring says."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.serve.fault_upstream import FaultUpstream

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}
STREAM = {**CHAT, "stream": True, "stream_options": {"include_usage": True}}


def events(response: httpx.Response) -> list[str]:
    return [line[6:] for line in response.text.splitlines() if line.startswith("data: ")]


def test_answers_statuses_and_streams_in_order_on_one_connection() -> None:
    with FaultUpstream("a", chunks=3) as up, httpx.Client(base_url=up.url) as client:
        up.plan("429:2", "ok", "cut", "error_event", "malformed")
        limited = client.post("/chat/completions", json=CHAT)
        assert limited.status_code == 429 and limited.headers["retry-after"] == "2"
        assert limited.json()["error"]["message"] == "injected 429"
        streamed = events(client.post("/chat/completions", json=STREAM))
        assert streamed[-1] == "[DONE]" and '"finish_reason":"stop"' in streamed[-3]
        assert '"completion_tokens":3' in streamed[-2]
        cut = events(client.post("/chat/completions", json=STREAM))
        assert len(cut) == 2 and "[DONE]" not in cut
        broken = events(client.post("/chat/completions", json=STREAM))
        assert "engine died" in broken[-1]
        assert client.post("/chat/completions", json=CHAT).content.startswith(b'{"id": "x"')
        assert client.post("/chat/completions", json=CHAT).json()["choices"][0]["message"] == {
            "role": "assistant",
            "content": "hello from a",
        }
        assert [r["model"] for r in up.requests] == ["m"] * 6


def test_drop_and_reset_close_the_connection() -> None:
    with FaultUpstream("a") as up, httpx.Client(base_url=up.url) as client:
        up.plan("drop", "reset")
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/chat/completions", json=CHAT)
        with pytest.raises(httpx.RemoteProtocolError):
            client.post("/chat/completions", json=STREAM)
        assert client.post("/chat/completions", json=CHAT).status_code == 200


def test_a_client_giving_up_on_a_hang_is_counted() -> None:
    with FaultUpstream("a") as up:
        up.plan("hang", "stall")
        for body in (CHAT, STREAM):
            with pytest.raises(httpx.ReadTimeout):
                httpx.post(up.url + "/chat/completions", json=body, timeout=0.3)
        deadline = 50
        while up.cancelled < 2 and deadline:
            deadline -= 1
            httpx.get(up.url + "/models")  # a round trip lets the server notice
        assert up.cancelled == 2


def test_malformed_requests_get_clear_statuses() -> None:
    with FaultUpstream("a") as up, httpx.Client(base_url=up.url) as client:
        assert client.post("/chat/completions", content=b"{not json").status_code == 400
        assert client.get("/nowhere").status_code == 404
        assert client.get("/models").json()["data"][0]["id"] == "a"
        chunked = client.post("/chat/completions", content=iter([b'{"model": "m"}']))
        assert chunked.status_code == 411
        try:  # refused with 431 at once: the client may still be sending when it closes
            big = client.post("/chat/completions", json=CHAT, headers={"x-big": "a" * 70_000})
            assert big.status_code == 431
        except httpx.TransportError:
            pass
        assert len(up.requests) == 0
        assert httpx.post(up.url + "/chat/completions", json=CHAT).status_code == 200


def test_as_a_process_it_prints_its_url_and_fails_the_share_asked(tmp_path: Path) -> None:
    script = Path(__file__).with_name("fault_upstream.py")
    server = subprocess.Popen([sys.executable, str(script), "--error-rate", "0.3"],
                              stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        url = (server.stdout.readline() if server.stdout else "").strip()
        with httpx.Client(base_url=url) as client:
            codes = [client.post("/chat/completions", json=CHAT).status_code for _ in range(400)]
    finally:
        server.terminate()
        server.communicate(timeout=10)
    assert url.startswith("http://127.0.0.1:") and url.endswith("/v1")
    assert set(codes) == {200, 503} and 0.22 < codes.count(503) / 400 < 0.38


def test_unrecorded_plain_requests_get_the_same_answers_from_the_fast_path() -> None:
    with FaultUpstream("a", chunks=3, record=False) as up, httpx.Client(base_url=up.url) as client:
        assert up.plain
        assert client.post("/chat/completions", json=CHAT).json()["choices"][0]["message"] == {
            "role": "assistant",
            "content": "hello from a",
        }
        streamed = events(client.post("/chat/completions", json=STREAM))
        assert streamed[0].startswith('{"id":"chatcmpl-1"') and streamed[-1] == "[DONE]"
        assert '"completion_tokens":3' in streamed[-2]
        up.plan("503")  # a planned behaviour takes the general path again
        assert client.post("/chat/completions", json=CHAT).status_code == 503
        closing = client.post("/chat/completions", json=CHAT, headers={"connection": "close"})
        assert closing.status_code == 200 and up.requests == []


def test_pipelined_requests_are_answered_in_order() -> None:
    with FaultUpstream("a", record=False) as up:
        one = b'{"model": "one"}'
        two = b'{"model": "two", "stream": true}'
        raw = b"".join(
            b"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n%s"
            % (len(body), body)
            for body in (one, two)
        )
        with socket.create_connection(("127.0.0.1", up.port)) as conn:
            conn.sendall(raw)
            received = b""
            while b"[DONE]" not in received:
                received += conn.recv(65536)
    first, second = received.index(b'"model":"one"'), received.index(b'"model":"two"')
    assert received.startswith(b"HTTP/1.1 200 OK") and first < second
    assert received.count(b"HTTP/1.1 200 OK") == 2
