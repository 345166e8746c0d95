"""The load generator against a real loopback streaming server that can misbehave."""

from __future__ import annotations

import itertools
import statistics

import pytest

from modelyard.bench import (
    BenchSpec,
    Load,
    Stop,
    Sweep,
    Target,
    arrivals,
    endpoint,
    run_bench,
    synthetic_prompts,
    token_counter,
)
from modelyard.errors import YardError
from tests.serve.fault_upstream import FaultUpstream

COUNTER = token_counter()
PROMPTS = synthetic_prompts(30, 50, 16, COUNTER)


def bench(server: FaultUpstream, load: Load | None, stop: Stop, **spec: object):
    target = Target(endpoint(server.url), "m", stall_s=spec.pop("stall_s", 5.0))  # type: ignore[arg-type]
    return run_bench(BenchSpec(target, stop, load, **spec), PROMPTS, COUNTER)  # type: ignore[arg-type]


def test_endpoint_urls() -> None:
    assert endpoint("http://h:1") == "http://h:1/v1/chat/completions"
    assert endpoint("http://h:1/v1/") == "http://h:1/v1/chat/completions"
    assert endpoint("https://h/v1/chat/completions") == "https://h/v1/chat/completions"
    with pytest.raises(YardError, match="http"):
        endpoint("h:1")


def test_faults_are_counted_not_crashed_on() -> None:
    with FaultUpstream("bench", chunks=4) as server:
        server.plan("ok", "500", "stall", "reset", "cut", "error_event", "429")  # first = warm-up
        result = bench(server, Load("concurrency", 3), Stop(requests=12), stall_s=0.5)
    s = result.steps[0]
    assert (s.requests, s.completed, s.errors) == (12, 6, 6)
    assert s.error_kinds == {
        "http 500": 1, "http 429": 1, "timeout (stalled)": 1, "incomplete stream": 1,
        "error event": 1, "connection: ClientPayloadError": 1,
    }  # fmt: skip
    assert result.status == "ok"
    assert sum(r.error is not None for r in result.requests) == 6


def test_a_connection_dropped_before_the_response_is_retried_once() -> None:
    with FaultUpstream("bench", chunks=2) as server:
        server.plan("ok", "drop", "ok", "drop", "drop")  # warm-up; retried and fine; fails twice
        s = bench(server, Load("concurrency", 1), Stop(requests=2)).steps[0]
    assert (s.completed, s.errors) == (1, 1)
    assert s.error_kinds == {"connection: ServerDisconnectedError": 1}
    assert len(server.requests) == 5


def test_request_body_streams_with_usage() -> None:
    with FaultUpstream("bench") as server:
        target = Target(endpoint(server.url), "m", ignore_eos=True)
        run_bench(BenchSpec(target, Stop(requests=2), Load("concurrency", 1)), PROMPTS, COUNTER)
    body = server.requests[-1]
    assert body["stream"] is True and body["stream_options"] == {"include_usage": True}
    assert body["max_tokens"] == 16 and body["ignore_eos"] is True and body["model"] == "m"


def test_timings_match_the_server_pacing() -> None:
    with FaultUpstream("bench", chunks=6, ttft_s=0.10, gap_s=0.03, tokens_per_chunk=2) as server:
        s = bench(server, Load("concurrency", 2), Stop(requests=6)).steps[0]
    assert 100 <= s.ttft_ms.p50 <= 160  # type: ignore[operator]
    assert 28 <= s.itl_ms.p50 <= 60  # type: ignore[operator]
    # 12 tokens in 6 chunks: TPOT = (5 gaps of 30 ms + tail) / 11 tokens, about ITL / 2
    assert s.tpot_ms.p50 == pytest.approx(s.itl_ms.p50 * 5 / 11, rel=0.35)
    assert s.output_tokens_mean == 12 and s.token_source == "usage"


def test_without_usage_tokens_are_estimated_and_say_so() -> None:
    with FaultUpstream("bench", chunks=4, usage=False) as server:
        result = bench(server, Load("concurrency", 1), Stop(requests=2))
    assert result.token_source == "estimate"
    assert result.steps[0].output_tokens_mean == 3  # "t0 t1 t2 t3 " = 12 characters / 4


def test_constant_rate_sends_on_schedule() -> None:
    with FaultUpstream("bench", chunks=2) as server:
        result = bench(server, Load("rate", 20.0), Stop(requests=10))
    starts = [r.start_s for r in result.requests]
    gaps = [b - a for a, b in itertools.pairwise(starts)]
    assert statistics.mean(gaps) == pytest.approx(0.05, abs=0.01)
    assert result.steps[0].send_lag_ms.p99 < 20  # type: ignore[operator]
    assert result.steps[0].send_lag_ms.n == 10


def test_arrival_schedules() -> None:
    constant = list(itertools.islice(arrivals(Load("rate", 4.0)), 5))
    assert constant == pytest.approx([0.0, 0.25, 0.5, 0.75, 1.0])
    poisson = list(itertools.islice(arrivals(Load("poisson", 4.0), seed=7), 4001))
    gaps = [b - a for a, b in itertools.pairwise(poisson)]
    assert statistics.mean(gaps) == pytest.approx(0.25, rel=0.05)
    assert statistics.pstdev(gaps) == pytest.approx(0.25, rel=0.1)  # exponential: sd = mean
    assert list(itertools.islice(arrivals(Load("poisson", 4.0), seed=7), 4001)) == poisson


def test_duration_bounds_the_run() -> None:
    with FaultUpstream("bench", chunks=2, gap_s=0.02) as server:
        s = bench(server, Load("concurrency", 2), Stop(duration_s=0.5)).steps[0]
    assert 0.45 <= s.duration_s <= 1.0
    assert s.completed >= 10


def test_sweep_stops_when_throughput_stops_growing() -> None:
    # the server runs two requests at a time: concurrency 4 cannot beat concurrency 2
    with FaultUpstream("bench", chunks=3, ttft_s=0.06, gap_s=0.02, capacity=2) as server:
        sweep = Sweep(max_concurrency=16, min_gain=0.2)
        result = bench(server, None, Stop(requests=12), sweep=sweep)
    assert [s.load for s in result.steps] == ["concurrency=1", "concurrency=2", "concurrency=4"]
    assert "throughput stopped growing" in (result.stop_reason or "")
    assert result.steps[1].req_s > 1.5 * result.steps[0].req_s


def test_sweep_stops_when_slos_break() -> None:
    with FaultUpstream("bench", chunks=2, ttft_s=0.03, capacity=1) as server:
        result = bench(server, None, Stop(requests=6), slo={"ttft": 50.0})
    assert "met the SLOs" in (result.stop_reason or "")
    assert len(result.steps) <= 3
