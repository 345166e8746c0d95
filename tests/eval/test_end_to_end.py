"""A real suite against the real SmolLM2 engine, through the real gateway, over loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from modelyard.eval import EvalRequest, run_eval
from modelyard.serve.engine import LocalEngine
from tests.serve.gateway_server import gateway_config, running_gateway

pytestmark = pytest.mark.slow


def test_arithmetic_suite_through_gateway_and_engine(
    smollm2_gguf: Path, tmp_path: Path, yard_home: Path
) -> None:
    engine = LocalEngine(smollm2_gguf, ctx_size=1024, threads=2, parallel=2, alias="smollm2")
    engine_url = asyncio.run(engine.start())
    try:
        backend = {"name": "local", "base_url": engine_url, "model": "smollm2"}
        with running_gateway(gateway_config([backend], {"smollm2": ["local"]})) as gw:
            request = EvalRequest(
                suite="arithmetic",
                models=["smollm2"],
                base_url=f"{gw.url}/v1",
                limit=4,
                concurrency=2,
                output=tmp_path / "out",
                labels=tmp_path / "labels.jsonl",
            )
            report = run_eval(request).report
    finally:
        asyncio.run(engine.stop())
    assert report.status == "ok", report.error
    assert report.stats.requests == 4
    assert all(r.completion.error is None and r.completion.text for r in report.items)
    assert all(r.score.value in (0.0, 1.0) for r in report.items)
    row = report.results[0]
    assert row.quality.n == 4 and row.latency_p50_s > 0
    assert row.prompt_tokens_per_1k > 0 and row.completion_tokens_per_1k > 0
    assert report.spec.params.seed == 0 and report.spec.params.temperature == 0.0
    labels = [json.loads(x) for x in (tmp_path / "labels.jsonl").read_text().splitlines()]
    assert [set(r["labels"]) for r in labels] == [{"smollm2"}] * 4
    ledger = yard_home / "ledger.db"
    assert ledger.exists(), "the requests went through the gateway"
