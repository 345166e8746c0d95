"""Retries, fallback, timeouts, the breaker, balancing and disconnects, through real servers."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest

from modelyard.serve.balancer import LeastInFlight
from modelyard.serve.resilience import CircuitBreaker, backoff_delay, retry_after_seconds
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import gateway_config, running_gateway

CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}]}


@pytest.fixture
def pair():
    with FaultUpstream("a") as a, FaultUpstream("b") as b:
        yield a, b


def serve(a, b, http=None, **backend):
    """A gateway over upstreams a then b for model "m"; ``backend`` tunes backend a."""
    backends = [{"name": "a", "base_url": a.url, **backend}, {"name": "b", "base_url": b.url}]
    return running_gateway(gateway_config(backends, {"m": ["a", "b"]}), http=http)


def chat(gw, **extra):
    return httpx.post(gw.url + "/v1/chat/completions", json={**CHAT, **extra}, timeout=10)


def test_retries_then_succeeds_on_the_same_backend(pair):
    a, b = pair
    a.plan("500", "503")
    with serve(a, b) as gw:
        reply = chat(gw)
    assert reply.status_code == 200 and reply.headers["x-yard-backend"] == "a"
    assert len(a.requests) == 3 and b.requests == []


@pytest.mark.parametrize("fault", ["500", "malformed", "reset"])
def test_falls_back_when_retries_run_out(pair, fault):
    a, b = pair
    a.plan(fault, fault, fault)
    with serve(a, b) as gw:
        reply = chat(gw)
    assert reply.headers["x-yard-backend"] == "b"
    assert reply.json()["choices"][0]["message"]["content"] == "hello from b"
    assert len(a.requests) == 3


def test_all_backends_failing_gives_502_naming_each(pair):
    a, b = pair
    a.plan(*["502"] * 3)
    b.plan(*["500"] * 3)
    with serve(a, b) as gw:
        reply = chat(gw)
    assert reply.status_code == 502
    error = reply.json()["error"]
    assert error["code"] == "upstream_error" and "a: HTTP 502" in error["message"]
    assert "b: HTTP 500" in error["message"]


def test_retry_after_is_respected(pair):
    a, b = pair
    a.plan("429:1")
    with serve(a, b) as gw:
        start = time.perf_counter()
        reply = chat(gw)
    assert reply.headers["x-yard-backend"] == "a"
    assert time.perf_counter() - start >= 0.95


def test_long_retry_after_falls_back_at_once(pair):
    a, b = pair
    a.plan("429:120")
    with serve(a, b) as gw:
        start = time.perf_counter()
        reply = chat(gw)
    assert reply.headers["x-yard-backend"] == "b" and time.perf_counter() - start < 2


def test_rate_limited_everywhere_is_a_429(pair):
    a, b = pair
    a.plan("429:120")
    b.plan("429:120")
    with serve(a, b) as gw:
        reply = chat(gw)
    assert reply.status_code == 429 and reply.headers["retry-after"] == "120"
    assert reply.json()["error"]["type"] == "rate_limit_error"


def test_total_timeout_then_fallback(pair):
    a, b = pair
    a.plan("hang")
    with serve(a, b, timeouts={"total": 0.3}, max_retries=0) as gw:
        reply = chat(gw)
        time.sleep(0.2)
    assert reply.headers["x-yard-backend"] == "b"
    assert a.cancelled == 1  # the gateway hung up on the slow upstream


def test_first_token_timeout_on_streams(pair):
    a, b = pair
    a.plan("hang")
    with serve(a, b, timeouts={"first_token": 0.3}, max_retries=0) as gw:
        reply = chat(gw, stream=True)
    assert reply.headers["x-yard-backend"] == "b" and reply.text.endswith("data: [DONE]\n\n")


def test_connect_refused_falls_back(pair):
    _, b = pair
    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}/v1"
    backends = [{"name": "a", "base_url": dead}, {"name": "b", "base_url": b.url}]
    with running_gateway(gateway_config(backends, {"m": ["a", "b"]})) as gw:
        reply = chat(gw)
    assert reply.headers["x-yard-backend"] == "b"


def test_stream_broken_after_first_byte_is_not_retried(pair):
    a, b = pair
    a.plan("reset")
    with serve(a, b) as gw:
        reply = chat(gw, stream=True)
    events = [e for e in reply.text.split("\n\n") if e]
    assert len(events) == 3 and "upstream_disconnected" in events[-1]
    assert len(a.requests) == 1 and b.requests == []


def test_breaker_opens_then_probes_back(pair):
    a, b = pair
    a.plan("500", "500")
    with serve(a, b, max_retries=0, breaker={"failures": 2, "cooldown_s": 0.5}) as gw:
        assert [chat(gw).headers["x-yard-backend"] for _ in range(3)] == ["b", "b", "b"]
        assert len(a.requests) == 2  # the third request skipped the open breaker
        assert httpx.get(gw.url + "/health").json()["backends"]["a"]["breaker"] == "open"
        time.sleep(0.6)
        assert chat(gw).headers["x-yard-backend"] == "a"  # the probe worked: closed again
        assert httpx.get(gw.url + "/health").json()["backends"]["a"]["breaker"] == "closed"


@pytest.mark.parametrize("http", [None, "httptools"], ids=["hooks", "receive"])
def test_client_disconnect_cancels_upstream(pair, http):
    """Both ways of noticing: modelyard's protocol's hook, and a task in receive() elsewhere."""
    a, b = pair
    a.plan("hang", "slow:0.2")
    with serve(a, b, http=http) as gw:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(gw.url + "/v1/chat/completions", json=CHAT, timeout=0.3)
        with httpx.stream("POST", gw.url + "/v1/chat/completions",
                          json={**CHAT, "stream": True}, timeout=5) as reply:  # fmt: skip
            next(reply.iter_raw())
        deadline = time.monotonic() + 3
        while a.cancelled < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
    assert a.cancelled == 2
    assert len(a.requests) == 2 and b.requests == []


def test_least_in_flight_balancing(pair):
    a, b = pair
    a.plan("slow:0.3")
    b.plan("slow:0.3")
    backends = [{"name": "r", "base_url": a.url, "replicas": [b.url]}]
    with running_gateway(gateway_config(backends, {"m": ["r"]})) as gw:
        busy = threading.Thread(target=chat, args=(gw,), kwargs={"stream": True})
        busy.start()
        while not (a.requests or b.requests):
            time.sleep(0.01)
        for _ in range(4):
            chat(gw)
        busy.join()
    counts = sorted([len(a.requests), len(b.requests)])
    assert counts == [1, 4]  # while one replica streams, every new request goes to the other


def test_breaker_state_machine():
    now = [0.0]
    breaker = CircuitBreaker(failures=2, cooldown_s=10, clock=lambda: now[0])
    breaker.failure()
    assert breaker.allow()
    breaker.failure()
    assert breaker.state == "open" and not breaker.allow()
    now[0] = 10
    assert breaker.allow() and not breaker.allow()  # one probe at a time
    breaker.failure()
    assert breaker.state == "open"
    now[0] = 20
    assert breaker.allow()
    breaker.success()
    assert breaker.state == "closed" and breaker.allow()


def test_retry_after_forms():
    assert retry_after_seconds("3") == 3
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480) == 10
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None
    assert backoff_delay(3, 0.1, retry_after=None) <= 0.8
    assert backoff_delay(0, 0.1, retry_after=2.0) == 2.0


def test_least_in_flight_prefers_idle_replica():
    balancer = LeastInFlight(["u1", "u2", "u3"])
    balancer.replicas[0].in_flight = 2
    balancer.replicas[1].in_flight = 1
    assert balancer.pick().url == "u3"
    balancer.replicas[1].in_flight = 0
    assert {balancer.pick().url for _ in range(4)} == {"u2", "u3"}  # ties rotate
