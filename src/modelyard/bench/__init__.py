"""Serving benchmark: how fast an OpenAI-compatible endpoint really serves (`yard bench`)."""

from modelyard.bench.compare import PlanComparison, PlanRow, compare_plan
from modelyard.bench.job import BenchJob, PlanQuestion, run_job
from modelyard.bench.loadgen import (
    Load,
    LoadGenerator,
    Stop,
    Target,
    arrivals,
    endpoint,
    run_load,
)
from modelyard.bench.metrics import Dist, RequestRecord, Summary, parse_slo, summarize
from modelyard.bench.prompts import (
    Prompt,
    TokenCounter,
    load_prompts,
    synthetic_prompts,
    token_counter,
)
from modelyard.bench.report import render_html, write_report
from modelyard.bench.runner import BenchResult, BenchSpec, RequestRow, Sweep, run_bench, saturated

__all__ = [
    "BenchJob",
    "BenchResult",
    "BenchSpec",
    "Dist",
    "Load",
    "LoadGenerator",
    "PlanComparison",
    "PlanQuestion",
    "PlanRow",
    "Prompt",
    "RequestRecord",
    "RequestRow",
    "Stop",
    "Summary",
    "Sweep",
    "Target",
    "TokenCounter",
    "arrivals",
    "compare_plan",
    "endpoint",
    "load_prompts",
    "parse_slo",
    "render_html",
    "run_bench",
    "run_job",
    "run_load",
    "saturated",
    "summarize",
    "synthetic_prompts",
    "token_counter",
    "write_report",
]
