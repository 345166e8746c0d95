"""Serving metrics: per-request timings and the aggregates of a run (formulas in docs/bench.md).

All times are client-side ``time.perf_counter()`` seconds. A request's *chunks* are the streamed
SSE events that carry output (content, reasoning or tool-call deltas); several tokens may arrive
in one chunk, so ITL is per chunk and TPOT is per token.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass, field

import numpy as np
from pydantic import BaseModel, ConfigDict

from modelyard.errors import YardError

SLO_METRICS = ("ttft", "tpot", "itl", "e2e")
_DURATION = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*(ms|s)?\s*$")


@dataclass
class RequestRecord:
    """What the client saw of one request."""

    start: float
    """When the request was sent."""
    end: float = 0.0
    """When the last byte arrived (or the error happened)."""
    chunks: list[float] = field(default_factory=list)
    """Arrival time of every output-bearing chunk."""
    input_tokens: int | None = None
    output_tokens: int | None = None
    token_source: str = "usage"
    """``usage`` (the server's count), ``tokenizer`` (local) or ``estimate`` (chars / 4)."""
    error: str | None = None
    """Why the request failed (HTTP status, reset, stall, cut stream); None if it succeeded."""
    scheduled: float | None = None
    """When the load pattern wanted it sent (rate loads); ``start - scheduled`` is the send lag."""

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.chunks)

    @property
    def ttft(self) -> float | None:
        """Send to first output chunk."""
        return self.chunks[0] - self.start if self.chunks else None

    @property
    def e2e(self) -> float:
        """Send to last byte."""
        return self.end - self.start

    @property
    def itls(self) -> list[float]:
        """Gaps between consecutive output chunks."""
        return [b - a for a, b in itertools.pairwise(self.chunks)]

    @property
    def tpot(self) -> float | None:
        """(e2e - TTFT) / (output tokens - 1); None with fewer than two output tokens."""
        if not self.ok or not self.output_tokens or self.output_tokens < 2:
            return None
        return (self.e2e - self.ttft) / (self.output_tokens - 1)  # type: ignore[operator]


class Dist(BaseModel):
    """Distribution of one latency, in milliseconds."""

    model_config = ConfigDict(extra="forbid")

    n: int
    mean: float | None
    p50: float | None
    p90: float | None
    p99: float | None
    max: float | None


class Summary(BaseModel):
    """One load level of a run: throughput, latency distributions, errors and goodput."""

    model_config = ConfigDict(extra="forbid")

    load: str
    """The load pattern, e.g. ``concurrency=4`` or ``poisson=2.0/s``."""
    duration_s: float
    """First send to last completion."""
    requests: int
    completed: int
    errors: int
    error_rate: float
    error_kinds: dict[str, int]
    req_s: float
    """Completed requests per second."""
    output_tok_s: float
    total_tok_s: float
    """Input plus output tokens of completed requests per second."""
    mean_concurrency: float
    """Requests in flight on average (sum of e2e / duration, Little's law)."""
    input_tokens_mean: float | None
    output_tokens_mean: float | None
    ttft_ms: Dist
    itl_ms: Dist
    tpot_ms: Dist
    e2e_ms: Dist
    send_lag_ms: Dist
    """How late the client sent requests against the schedule (rate loads): its own lag."""
    slo: dict[str, float]
    """SLO limits in ms that goodput counts against."""
    good: int
    """Completed requests meeting every SLO."""
    goodput_req_s: float
    token_source: str
    """Where token counts came from: usage, tokenizer, estimate, or mixed."""


def dist_ms(seconds: list[float]) -> Dist:
    """Mean, p50, p90, p99 and max of ``seconds``, in milliseconds (linear interpolation)."""
    if not seconds:
        return Dist(n=0, mean=None, p50=None, p90=None, p99=None, max=None)
    ms = np.asarray(seconds, dtype=float) * 1e3
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return Dist(
        n=len(ms), mean=float(ms.mean()), p50=float(p50), p90=float(p90), p99=float(p99),
        max=float(ms.max()),
    )  # fmt: skip


def parse_slo(text: str | None) -> dict[str, float]:
    """``"ttft=500ms,tpot=50ms,e2e=2s"`` -> ``{"ttft": 500.0, "tpot": 50.0, "e2e": 2000.0}`` (ms).

    Raises:
        YardError: an unknown metric or an unreadable duration.
    """
    limits: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in (text or "").split(","))):
        name, _, value = part.partition("=")
        name = name.strip().lower()
        match = _DURATION.match(value)
        if name not in SLO_METRICS or match is None:
            raise YardError(
                f"--slo: cannot read {part!r}; write metric=duration with metric one of "
                f"{', '.join(SLO_METRICS)}, e.g. ttft=500ms,tpot=50ms,e2e=2s"
            )
        number, unit = float(match.group(1)), match.group(2) or "ms"
        limits[name] = number * (1000.0 if unit == "s" else 1.0)
    return limits


def meets_slo(record: RequestRecord, slo: dict[str, float]) -> bool:
    """Whether a completed request meets every limit; ITL is judged by the request's worst gap."""
    if not record.ok:
        return False
    seen = {
        "ttft": record.ttft,
        "tpot": record.tpot or 0.0,
        "itl": max(record.itls, default=0.0),
        "e2e": record.e2e,
    }
    # rounded to the nanosecond so that a limit equal to the measurement passes
    return all(round((seen[name] or 0.0) * 1e3, 6) <= limit for name, limit in slo.items())


def _token_source(records: list[RequestRecord]) -> str:
    sources = {r.token_source for r in records if r.ok}
    return sources.pop() if len(sources) == 1 else ("mixed" if sources else "none")


def _mean(values: list[int]) -> float | None:
    return float(np.mean(values)) if values else None


def summarize(
    records: list[RequestRecord], load: str, slo: dict[str, float] | None = None
) -> Summary:
    """Aggregate one load level; duration runs from the first send to the last completion."""
    slo = slo or {}
    done = [r for r in records if r.ok]
    duration = max((r.end for r in records), default=0.0) - min(
        (r.start for r in records), default=0.0
    )
    per_s = 1.0 / duration if duration > 0 else 0.0
    out = [r.output_tokens or 0 for r in done]
    inp = [r.input_tokens or 0 for r in done]
    kinds: dict[str, int] = {}
    for r in records:
        if not r.ok:
            kinds[r.error or "no output"] = kinds.get(r.error or "no output", 0) + 1
    good = sum(meets_slo(r, slo) for r in done)
    return Summary(
        load=load,
        duration_s=duration,
        requests=len(records),
        completed=len(done),
        errors=len(records) - len(done),
        error_rate=(len(records) - len(done)) / len(records) if records else 0.0,
        error_kinds=kinds,
        req_s=len(done) * per_s,
        output_tok_s=sum(out) * per_s,
        total_tok_s=(sum(out) + sum(inp)) * per_s,
        mean_concurrency=sum(r.e2e for r in records) * per_s,
        input_tokens_mean=_mean(inp),
        output_tokens_mean=_mean(out),
        ttft_ms=dist_ms([r.ttft for r in done]),  # type: ignore[misc]
        itl_ms=dist_ms([gap for r in done for gap in r.itls]),
        tpot_ms=dist_ms([t for r in done if (t := r.tpot) is not None]),
        e2e_ms=dist_ms([r.e2e for r in done]),
        send_lag_ms=dist_ms([r.start - r.scheduled for r in records if r.scheduled is not None]),
        slo=slo,
        good=good,
        goodput_req_s=good * per_s,
        token_source=_token_source(records),
    )
