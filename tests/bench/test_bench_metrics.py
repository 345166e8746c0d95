"""Metric formulas on hand-computed timelines."""

from __future__ import annotations

import pytest

from modelyard.bench import RequestRecord, parse_slo, summarize
from modelyard.bench.metrics import dist_ms, meets_slo
from modelyard.errors import YardError


def rec(start: float, chunks: list[float], end: float, out: int | None, inp: int = 10,
        error: str | None = None) -> RequestRecord:  # fmt: skip
    return RequestRecord(start=start, end=end, chunks=chunks, input_tokens=inp,
                         output_tokens=out, error=error)  # fmt: skip


def test_one_request_ttft_itl_tpot_e2e() -> None:
    r = rec(1.0, [1.2, 1.25, 1.35, 1.40], 1.45, out=5)
    assert r.ttft == pytest.approx(0.2)
    assert r.itls == pytest.approx([0.05, 0.10, 0.05])
    assert r.e2e == pytest.approx(0.45)
    # (e2e - ttft) / (tokens - 1) = 0.25 / 4: tokens, not chunks (5 tokens came in 4 chunks)
    assert r.tpot == pytest.approx(0.0625)


def test_tpot_needs_two_tokens_and_success() -> None:
    assert rec(0, [0.1], 0.1, out=1).tpot is None
    assert rec(0, [0.1, 0.2], 0.3, out=2, error="incomplete stream").tpot is None
    assert not rec(0, [], 0.3, out=0).ok


def test_summary_of_a_small_run() -> None:
    records = [
        rec(0.0, [0.1, 0.2, 0.3], 0.3, out=3),  # ttft 100, tpot 100, e2e 300
        rec(0.5, [0.9, 1.0], 1.0, out=2),  # ttft 400, tpot 100, e2e 500
        rec(1.0, [1.1], 2.0, out=1, error="timeout (stalled)"),
    ]
    s = summarize(records, "concurrency=1", parse_slo("ttft=200ms"))
    assert s.duration_s == pytest.approx(2.0)
    assert (s.requests, s.completed, s.errors) == (3, 2, 1)
    assert s.error_rate == pytest.approx(1 / 3)
    assert s.error_kinds == {"timeout (stalled)": 1}
    assert s.req_s == pytest.approx(1.0)
    assert s.output_tok_s == pytest.approx(5 / 2.0)
    assert s.total_tok_s == pytest.approx((5 + 20) / 2.0)
    assert s.mean_concurrency == pytest.approx((0.3 + 0.5 + 1.0) / 2.0)
    assert s.ttft_ms.p50 == pytest.approx(250.0)
    assert s.ttft_ms.max == pytest.approx(400.0)
    assert s.itl_ms.n == 3 and s.itl_ms.mean == pytest.approx(100.0)
    assert s.tpot_ms.p50 == pytest.approx(100.0)
    assert s.e2e_ms.p99 == pytest.approx(300 + 0.99 * 200)
    assert s.good == 1 and s.goodput_req_s == pytest.approx(0.5)
    assert s.send_lag_ms.n == 0


def test_percentiles_interpolate_linearly() -> None:
    d = dist_ms([x / 1000 for x in range(1, 101)])
    assert (d.p50, d.p90, d.p99, d.max) == pytest.approx((50.5, 90.1, 99.01, 100.0))
    assert dist_ms([]).p50 is None


def test_slo_parsing() -> None:
    assert parse_slo("ttft=500ms, tpot=50, e2e=2s,itl=0.1s") == {
        "ttft": 500.0, "tpot": 50.0, "e2e": 2000.0, "itl": 100.0}  # fmt: skip
    assert parse_slo(None) == {}
    with pytest.raises(YardError, match="latency"):
        parse_slo("latency=5ms")
    with pytest.raises(YardError, match="ttft=fast"):
        parse_slo("ttft=fast")


def test_every_slo_must_hold() -> None:
    r = rec(0.0, [0.1, 0.15, 0.4], 0.4, out=3)  # ttft 100, worst gap 250, tpot 150, e2e 400
    assert meets_slo(r, {"ttft": 100, "tpot": 150, "e2e": 400})
    assert not meets_slo(r, {"ttft": 99})
    assert not meets_slo(r, {"itl": 200})
    assert not meets_slo(rec(0, [0.1], 0.2, out=1, error="http 500"), {})
