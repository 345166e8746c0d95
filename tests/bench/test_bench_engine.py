"""`yard bench` against the real local llama.cpp engine, directly and through the gateway."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from modelyard.bench import BenchJob, Load, Stop, Target, endpoint, run_job
from modelyard.serve.engine import LocalEngine
from tests.serve.fault_upstream import FaultUpstream
from tests.serve.gateway_server import gateway_config, running_gateway

pytestmark = pytest.mark.slow


def small_job(url: str, model: str, requests: int = 4) -> BenchJob:
    return BenchJob(
        target=Target(endpoint(url), model, stall_s=30.0),
        stop=Stop(requests=requests),
        load=Load("concurrency", 2),
        input_tokens=24,
        output_tokens=8,
        slo={"ttft": 30_000.0},
    )


def test_bench_the_real_engine_directly_and_through_the_gateway(smollm2_gguf: Path) -> None:
    engine = LocalEngine(smollm2_gguf, ctx_size=512, threads=1, parallel=2, alias="smollm2")
    url = asyncio.run(engine.start())
    try:
        direct = run_job(small_job(url, "smollm2")).steps[0]
        config = gateway_config([{"name": "local", "base_url": url}], {"smol": ["local"]})
        with running_gateway(config) as gw:
            via = run_job(small_job(gw.url + "/v1", "smol")).steps[0]
    finally:
        asyncio.run(engine.stop())
    for s in (direct, via):
        assert (s.completed, s.errors) == (4, 0), s.error_kinds
        assert s.token_source == "usage"  # llama.cpp honours stream_options.include_usage
        assert 0 < s.output_tokens_mean <= 8  # type: ignore[operator]
        assert s.input_tokens_mean > 10  # type: ignore[operator]
        assert 0 < s.ttft_ms.p50 < s.e2e_ms.p50  # type: ignore[operator]
        assert s.output_tok_s > 0 and s.good == 4


def test_gateway_relays_chunks_with_their_pacing() -> None:
    with FaultUpstream("bench", chunks=5, gap_s=0.03) as upstream:
        config = gateway_config([{"name": "a", "base_url": upstream.url}], {"m": ["a"]})
        with running_gateway(config) as gw:
            s = run_job(small_job(gw.url, "m", requests=4)).steps[0]
    assert (s.completed, s.errors) == (4, 0)
    assert 25 <= s.itl_ms.p50 <= 60  # type: ignore[operator]
    assert s.output_tokens_mean == 5
