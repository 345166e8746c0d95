"""A `yard bench` invocation as typed inputs, and the one function that carries it out."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from modelyard.bench.compare import compare_plan
from modelyard.bench.loadgen import Load, Stop, Target
from modelyard.bench.prompts import Prompt, TokenCounter, load_prompts, synthetic_prompts
from modelyard.bench.prompts import token_counter as make_counter
from modelyard.bench.report import write_report
from modelyard.bench.runner import BenchResult, BenchSpec, OnRecord, OnStep, Sweep, run_bench
from modelyard.errors import YardError

SYNTHETIC_POOL = 1000
"""Distinct synthetic prompts made when only a duration bounds the run (then cycled)."""


@dataclass(frozen=True)
class PlanQuestion:
    """Which planner prediction to put beside the measurement."""

    gpu: str
    model: str
    engine: str = "vllm"
    quant: str | None = None


@dataclass(frozen=True)
class BenchJob:
    """Everything `yard bench` was asked to do."""

    target: Target
    stop: Stop
    load: Load | None
    """None runs a sweep."""
    sweep: Sweep = field(default_factory=Sweep)
    slo: dict[str, float] | None = None
    prompts_file: Path | None = None
    input_tokens: int = 256
    output_tokens: int = 128
    tokenizer: Path | None = None
    report: Path | None = None
    plan: PlanQuestion | None = None
    seed: int = 0


def _prompts(job: BenchJob, counter: TokenCounter) -> list[Prompt]:
    if job.prompts_file is not None:
        return load_prompts(job.prompts_file, job.output_tokens, counter)
    n = (job.stop.requests or SYNTHETIC_POOL) + 1  # one more for the warm-up
    return synthetic_prompts(n, job.input_tokens, job.output_tokens, counter, job.seed)


def check(job: BenchJob) -> None:
    """Reject option combinations that cannot run, before any request is sent.

    Raises:
        YardError: a load value is not positive or no stop condition is given.
    """
    if job.load is not None and job.load.value <= 0:
        raise YardError(f"{job.load.kind} must be positive, got {job.load.value:g}")
    if job.stop.requests is None and job.stop.duration_s is None:
        raise YardError("give --requests or --duration so the bench knows when to stop")
    if job.input_tokens < 1 or job.output_tokens < 1:
        raise YardError("--input-tokens and --output-tokens must be at least 1")


def run_job(
    job: BenchJob, on_record: OnRecord | None = None, on_step: OnStep | None = None
) -> BenchResult:
    """Build the prompts, run the load, add the planner's prediction, write the report.

    Raises:
        YardError: bad options, unreadable prompts, or a planner question it cannot answer.
    """
    check(job)
    counter = make_counter(job.tokenizer)
    prompts = _prompts(job, counter)
    spec = BenchSpec(job.target, job.stop, job.load, job.sweep, job.slo or {}, seed=job.seed)
    result = run_bench(spec, prompts, counter, on_record, on_step)
    if job.plan is not None:
        q = job.plan
        comparison = compare_plan(result.steps, q.model, q.gpu, q.engine, q.quant)
        result = result.model_copy(update={"comparison": comparison})
    if job.report is not None:
        write_report(result, job.report)
    return result
