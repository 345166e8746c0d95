"""One bench run: warm up, drive one load (or sweep loads up to saturation), summarize.

The sweep doubles the concurrency from ``start`` and stops at the first step where throughput
grew less than ``min_gain`` over the best step so far, the error rate passed ``max_error_rate``,
fewer than ``slo_share`` of completed requests met the SLOs, or ``max_concurrency`` was run.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from modelyard.bench.compare import PlanComparison
from modelyard.bench.loadgen import Load, LoadGenerator, OnRecord, Stop, Target, run_load
from modelyard.bench.metrics import RequestRecord, Summary, summarize
from modelyard.bench.prompts import Prompt, TokenCounter

T = TypeVar("T")
OnStep = Callable[[Summary], None]


@dataclass(frozen=True)
class Sweep:
    """How a sweep raises load and when it calls the endpoint saturated."""

    start: int = 1
    max_concurrency: int = 64
    min_gain: float = 0.05
    """Relative growth of requests/s over the best step below which load stops paying."""
    max_error_rate: float = 0.05
    slo_share: float = 0.9
    """Share of completed requests that must meet the SLOs."""

    def levels(self) -> list[int]:
        levels, level = [], max(1, self.start)
        while level <= self.max_concurrency:
            levels.append(level)
            level *= 2
        return levels


@dataclass(frozen=True)
class BenchSpec:
    """What to measure: one ``load``, or a ``sweep`` when ``load`` is None."""

    target: Target
    stop: Stop
    load: Load | None = None
    sweep: Sweep = field(default_factory=Sweep)
    slo: dict[str, float] = field(default_factory=dict)
    warmup: int = 1
    """Requests sent first and not counted (connection setup, caches)."""
    seed: int = 0


class RequestRow(BaseModel):
    """One request in the JSON file: offsets from the run's first send, in seconds."""

    model_config = ConfigDict(extra="forbid")

    step: int
    start_s: float
    ttft_s: float | None
    e2e_s: float
    itls_s: list[float]
    input_tokens: int | None
    output_tokens: int | None
    error: str | None


class BenchResult(BaseModel):
    """A whole run. Field order changes only with a ``version`` bump."""

    model_config = ConfigDict(extra="forbid")

    version: int = 1
    status: Literal["ok", "error", "interrupted"]
    """``interrupted``: Ctrl-C stopped the run; the steps hold the requests that finished."""
    url: str
    model: str
    started_at: str
    mode: str
    """The load pattern, or ``sweep``."""
    steps: list[Summary]
    stop_reason: str | None
    """Why a sweep stopped, or that the run was interrupted (else None for one load)."""
    token_source: str
    requests: list[RequestRow]
    comparison: PlanComparison | None = None
    """The planner's prediction beside the measurement (``--compare-plan``)."""


def run_bench(
    spec: BenchSpec,
    prompts: list[Prompt],
    counter: TokenCounter,
    on_record: OnRecord | None = None,
    on_step: OnStep | None = None,
) -> BenchResult:
    """Run ``spec`` against its target and return every step's summary and request rows."""
    return _run(_bench(spec, prompts, counter, on_record, on_step))


def _run(coro: Coroutine[Any, Any, T]) -> T:
    factory = None
    with contextlib.suppress(ImportError):
        import uvloop

        factory = uvloop.new_event_loop
    with asyncio.Runner(loop_factory=factory) as runner:
        return runner.run(coro)


async def _bench(
    spec: BenchSpec,
    prompts: list[Prompt],
    counter: TokenCounter,
    on_record: OnRecord | None,
    on_step: OnStep | None,
) -> BenchResult:
    started = datetime.now(UTC).isoformat(timespec="seconds")
    async with LoadGenerator(spec.target, counter) as gen:
        for prompt in prompts[: spec.warmup]:
            await gen.send(prompt)
        measured = prompts[spec.warmup :] or prompts
        loads = [spec.load] if spec.load else [Load("concurrency", c) for c in spec.sweep.levels()]
        steps: list[tuple[Summary, list[RequestRecord]]] = []
        reason, interrupted = None, False
        for load in loads:
            finished: list[RequestRecord] = []
            gen.on_record = _keeping(finished, on_record)
            try:
                records = await run_load(gen, measured, load, spec.stop, spec.seed)
            except asyncio.CancelledError:  # Ctrl-C: asyncio.Runner cancels the main task
                _resume()
                records, interrupted = list(finished), True
                reason = f"Ctrl-C during {load.label}; requests in flight were dropped"
            steps.append((summarize(records, load.label, spec.slo), records))
            if on_step is not None:
                on_step(steps[-1][0])
            if not interrupted and spec.load is None:
                reason = saturated([s for s, _ in steps], spec.sweep)
            if reason:
                break
    if spec.load is None and reason is None:
        reason = f"ran every level up to concurrency {spec.sweep.max_concurrency}"
    return _result(spec, started, steps, reason, interrupted)


def _keeping(finished: list[RequestRecord], then: OnRecord | None) -> OnRecord:
    """An on_record that also keeps each finished request (what survives an interruption)."""

    def record(done: RequestRecord) -> None:
        finished.append(done)
        if then is not None:
            then(done)

    return record


def _resume() -> None:
    """Carry on after a cancellation was caught (so timeouts inside still work)."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()


def saturated(steps: list[Summary], sweep: Sweep) -> str | None:
    """Why the last step of a sweep shows saturation, or None to keep raising load."""
    last = steps[-1]
    if last.error_rate > sweep.max_error_rate:
        return f"error rate {last.error_rate:.1%} > {sweep.max_error_rate:.0%} at {last.load}"
    if last.slo and last.completed and last.good / last.completed < sweep.slo_share:
        share = last.good / last.completed
        return f"only {share:.0%} of requests met the SLOs at {last.load}"
    best = max((s.req_s for s in steps[:-1]), default=None)
    if best is not None and last.req_s < best * (1 + sweep.min_gain):
        return (
            f"throughput stopped growing: {last.req_s:.2f} req/s at {last.load} "
            f"vs best {best:.2f} before (< +{sweep.min_gain:.0%})"
        )
    return None


def _result(
    spec: BenchSpec,
    started: str,
    steps: list[tuple[Summary, list[RequestRecord]]],
    reason: str | None,
    interrupted: bool = False,
) -> BenchResult:
    summaries = [s for s, _ in steps]
    sources = {s.token_source for s in summaries} - {"none"}
    ok = any(s.completed for s in summaries)
    return BenchResult(
        status="interrupted" if interrupted else "ok" if ok else "error",
        url=spec.target.url,
        model=spec.target.model,
        started_at=started,
        mode=spec.load.label if spec.load else "sweep",
        steps=summaries,
        stop_reason=reason,
        token_source=sources.pop() if len(sources) == 1 else ("mixed" if sources else "none"),
        requests=_rows(steps),
    )


def _rows(steps: list[tuple[Summary, list[RequestRecord]]]) -> list[RequestRow]:
    t0 = min((r.start for _, records in steps for r in records), default=0.0)
    return [
        RequestRow(
            step=i,
            start_s=r.start - t0,
            ttft_s=r.ttft,
            e2e_s=r.e2e,
            itls_s=r.itls,
            input_tokens=r.input_tokens,
            output_tokens=r.output_tokens,
            error=r.error,
        )
        for i, (_, records) in enumerate(steps)
        for r in records
    ]
