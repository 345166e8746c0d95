"""`yard eval`: run a suite against models and report quality, uncertainty, latency and cost."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelyard.cli._render import console, err_console, print_json, table
from modelyard.config import GATEWAY_URL, env
from modelyard.errors import EvalError, Interrupted

if TYPE_CHECKING:
    from modelyard.eval import Estimate, EvalOutcome

Opt = typer.Option


def _ci(est: Estimate) -> str:
    return "—" if est.mean is None else f"{est.mean:.3f} [{est.low:.3f}, {est.high:.3f}]"


def _fmt(value: float | None, spec: str = ".3f") -> str:
    return "" if value is None else format(value, spec)


def _render(outcome: EvalOutcome) -> None:
    report = outcome.report
    for problem in report.problems:
        err_console.print(f"[yellow]skipped[/] {problem}")
    if report.spec.code_isolation == "none":
        err_console.print("[red]--unsafe-code: model-written code ran without any isolation[/]")
    cols = ["model", "mean [95% CI]", "n", "errors", "p50 s", "p95 s", "out tok/1k", "$/1k"]
    rows = [
        (
            s.model,
            _ci(s.quality),
            s.quality.n,
            s.errors,
            _fmt(s.latency_p50_s),
            _fmt(s.latency_p95_s),
            _fmt(s.completion_tokens_per_1k, ".0f"),
            _fmt(s.usd_per_1k, ".4f"),
        )
        for s in report.results
    ]
    console.print(table(cols, rows, title=f"yard eval {report.spec.suite}", right=cols[1:]))
    pairs = [
        (
            c.a,
            c.b,
            c.n,
            f"{_fmt(c.diff)} [{_fmt(c.low)}, {_fmt(c.high)}]",
            _fmt(c.p_bootstrap, ".4f"),
            _fmt(c.mcnemar.p_exact if c.mcnemar else None, ".4f"),
        )
        for c in report.comparisons
    ]
    if pairs:
        console.print(
            table(
                ["A", "B", "n", "A−B [95% CI]", "p boot", "p McNemar"],
                pairs,
                title="paired comparisons",
                right=["n", "p boot", "p McNemar"],
            )
        )
    stats = report.stats
    console.print(
        f"{stats.requests} requests, {stats.cached} from the store, "
        f"{stats.retries} retries, {stats.duration_s:.1f} s"
    )
    for name, path in outcome.files.items():
        console.print(f"[dim]{name}:[/] {path}")


def _summary(outcome: EvalOutcome) -> dict[str, Any]:
    report = outcome.report
    return {
        "version": report.version,
        "status": report.status,
        "spec": report.spec,
        "results": report.results,
        "comparisons": report.comparisons,
        "stats": report.stats,
        "problems": report.problems,
        "error": report.error,
        "files": {k: str(v) for k, v in outcome.files.items()},
        "labels_written": outcome.labels_written,
    }


def eval_command(
    suite: Annotated[
        str,
        typer.Argument(
            help="Suite file (.jsonl/.yaml), shared set "
            "(gsm8k, mgsm:fr, humaneval, mt_bench, "
            "arena_hard, m_ifeval:fr) or example name"
        ),
    ],
    models: Annotated[
        str, Opt("-m", "--models", help="Comma-separated; name@URL for a direct endpoint")
    ],
    base_url: Annotated[str, Opt("--base-url", help="OpenAI-compatible endpoint")] = (
        f"{GATEWAY_URL}/v1"
    ),
    api_key_env: Annotated[str, Opt("--api-key-env", help="Variable holding the API key")] = (
        "YARD_API_KEY"
    ),
    judge: Annotated[str | None, Opt("-j", "--judge", help="Judge model for judge scorers")] = (
        None
    ),
    concurrency: Annotated[
        int, Opt("-c", "--concurrency", min=1, help="Requests in flight per model")
    ] = 4,
    limit: Annotated[int | None, Opt("-n", "--limit", min=1, help="Only the first N items")] = (
        None
    ),
    output: Annotated[Path | None, Opt("-o", "--output", help="Report folder")] = None,
    labels: Annotated[Path | None, Opt("--labels", help="Write router labels (JSONL)")] = None,
    as_json: Annotated[bool, Opt("--json", help="Print the summary as JSON")] = False,
    unsafe_code: Annotated[
        bool,
        Opt("--unsafe-code", help="Run model-written code without isolation if no sandbox works"),
    ] = False,
) -> None:
    """Run a suite against models: scores with 95% CIs, paired tests, latency and cost

    Examples:
        yard eval mgsm:fr --models smollm2,qwen3-0.6b --limit 50
        yard eval my_prompts.jsonl -m a,b@http://127.0.0.1:8080/v1 --labels labels.jsonl
    """
    from modelyard.eval import EvalRequest, run_eval

    request = EvalRequest(
        suite=suite,
        models=models.split(","),
        base_url=base_url,
        api_key=env(api_key_env),
        judge=judge,
        concurrency=concurrency,
        limit=limit,
        output=output,
        labels=labels,
        progress=None if as_json else err_console,
        unsafe_code=unsafe_code,
    )
    outcome = run_eval(request)
    if as_json:
        print_json(_summary(outcome))
    else:
        _render(outcome)
    error = outcome.report.error
    if outcome.report.status == "interrupted" and error is not None:
        raise Interrupted(f"{error.message}; the results above and the report cover the items "
                          "every model answered")  # fmt: skip
    if error is not None:
        raise EvalError(f"the run stopped: {error.message}")
