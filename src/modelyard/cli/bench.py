"""`yard bench`: measure how fast an OpenAI-compatible endpoint serves, live, then tabulate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli._render import console, err_console, print_json, table
from modelyard.errors import Interrupted, YardError

if TYPE_CHECKING:
    from rich.progress import TaskID

    from modelyard.bench import BenchResult, Load, RequestRecord, Summary

Opt = typer.Option


def _load(concurrency: int | None, rate: float | None, poisson: bool, sweep: bool) -> Load | None:
    if sum(x is not None and x is not False for x in (concurrency, rate, sweep)) > 1:
        raise YardError("choose one of --concurrency, --rate or --sweep")
    from modelyard.bench import Load

    if rate is not None:
        return Load("poisson" if poisson else "rate", rate)
    return None if sweep else Load("concurrency", concurrency or 1)


class LiveView:
    """A Rich progress bar per load level, with completed, errors and live requests/s."""

    def __init__(self, total: int | None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self.total = total
        self.progress = Progress(
            TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
            TextColumn("errors {task.fields[errors]}"), TimeElapsedColumn(),
            console=err_console, transient=False,
        )  # fmt: skip
        self.task: TaskID | None = None
        self.errors = 0

    def record(self, record: RequestRecord) -> None:
        if self.task is None:
            self.task = self.progress.add_task("measuring", total=self.total, errors=0)
        self.errors += record.error is not None
        self.progress.update(self.task, advance=1, errors=self.errors)

    def step(self, summary: Summary) -> None:
        text = (
            f"{summary.load}: {summary.req_s:.2f} req/s, TTFT p50 {summary.ttft_ms.p50 or 0:.0f} ms"
        )
        if self.task is not None:
            self.progress.update(self.task, description=text)
        self.task, self.errors = None, 0


def bench(
    url: Annotated[str, typer.Argument(help="Endpoint, e.g. http://127.0.0.1:4000/v1")],
    model: Annotated[str, Opt("-m", "--model", help="Model name to send")],
    concurrency: Annotated[int | None, Opt("-c", "--concurrency", help="Streams")] = None,
    rate: Annotated[float | None, Opt("-r", "--rate", help="Requests per second")] = None,
    poisson: Annotated[bool, Opt("--poisson", help="Poisson arrivals at --rate")] = False,
    sweep: Annotated[bool, Opt("--sweep", help="Double concurrency until saturation")] = False,
    max_concurrency: Annotated[int, Opt("--max-concurrency", help="Sweep ceiling")] = 64,
    requests: Annotated[int | None, Opt("-n", "--requests", help="Requests per level")] = None,
    duration: Annotated[float | None, Opt("-d", "--duration", help="Seconds per level")] = None,
    prompts: Annotated[Path | None, Opt("-p", "--prompts", help="JSONL or suite file")] = None,
    input_tokens: Annotated[int, Opt("--input-tokens", help="Synthetic prompt size")] = 256,
    output_tokens: Annotated[int, Opt("--output-tokens", help="max_tokens per request")] = 128,
    ignore_eos: Annotated[bool, Opt("--ignore-eos", help="Ask for exactly max_tokens")] = False,
    tokenizer: Annotated[Path | None, Opt("--tokenizer", help="Local tokenizer.json")] = None,
    slo: Annotated[str | None, Opt("--slo", help="e.g. ttft=500ms,tpot=50ms")] = None,
    report: Annotated[Path | None, Opt("-o", "--report", help="HTML report path")] = None,
    compare_plan: Annotated[bool, Opt("--compare-plan", help="Add the planner's view")] = False,
    gpu: Annotated[str | None, Opt("-g", "--gpu", help="GPU for --compare-plan")] = None,
    plan_model: Annotated[str | None, Opt("--plan-model", help="Catalog id if not -m")] = None,
    engine: Annotated[str, Opt("-e", "--engine", help="Engine for --compare-plan")] = "vllm",
    api_key: Annotated[
        str | None, Opt("--api-key", envvar="YARD_BENCH_API_KEY", help="Bearer token")
    ] = None,
    stall: Annotated[float, Opt("--stall", help="Seconds of silence = stalled")] = 60.0,
    json_: Annotated[bool, Opt("--json", help="Output as JSON")] = False,
) -> None:
    """Measure TTFT, ITL, TPOT, throughput and goodput of an OpenAI-compatible endpoint

    \b
    Examples:
      yard bench http://127.0.0.1:4000/v1 -m auto --concurrency 8 --requests 200
      yard bench http://gpu:8000 -m qwen3-8b -r 4 --poisson -d 60 --slo ttft=500ms,tpot=50ms
      yard bench http://gpu:8000 -m llama-3.1-8b-instruct --sweep -o bench.html
      yard bench http://gpu:8000 -m llama-3.1-8b-instruct -c 16 --compare-plan --gpu H100
    """
    if compare_plan and not gpu:
        raise YardError("--compare-plan needs --gpu (the GPU the endpoint runs on), e.g. H100")
    from modelyard.bench import (
        BenchJob,
        PlanQuestion,
        Stop,
        Sweep,
        Target,
        endpoint,
        parse_slo,
        run_job,
    )

    job = BenchJob(
        target=Target(endpoint(url), model, api_key, stall_s=stall, ignore_eos=ignore_eos),
        stop=Stop(requests if requests or duration else 100, duration),
        load=_load(concurrency, rate, poisson, sweep),
        sweep=Sweep(max_concurrency=max_concurrency),
        slo=parse_slo(slo), prompts_file=prompts, input_tokens=input_tokens,
        output_tokens=output_tokens, tokenizer=tokenizer, report=report,
        plan=PlanQuestion(gpu, plan_model or model, engine) if compare_plan and gpu else None,
    )  # fmt: skip
    view = LiveView(job.stop.requests)
    with view.progress:
        result = run_job(job, view.record, view.step)
    print_json(result.model_dump(mode="json", exclude={"requests"})) if json_ else render(result)
    if report is not None:
        err_console.print(f"[dim]report:[/] {report} and {report.with_suffix('.json')}")
    if result.status == "interrupted":
        done = sum(s.requests for s in result.steps)
        kept = ", and so does the report" if report else ""
        raise Interrupted(
            f"{result.stop_reason}: the results above hold the {done} requests that finished{kept}"
        )


def render(result: BenchResult) -> None:
    """Per-level results, errors, the sweep's stop reason and the planner comparison."""
    rows = [
        [s.load, f"{s.req_s:.2f}", f"{s.output_tok_s:.1f}", _ms(s.ttft_ms.p50), _ms(s.ttft_ms.p99),
         _ms(s.itl_ms.p50), _ms(s.tpot_ms.p50), _ms(s.tpot_ms.p99), _ms(s.e2e_ms.p50),
         _ms(s.e2e_ms.p99), f"{s.errors}/{s.requests}",
         f"{s.goodput_req_s:.2f}" if s.slo else ""]
        for s in result.steps
    ]  # fmt: skip
    cols = ["load", "req/s", "out tok/s", "TTFT p50", "TTFT p99", "ITL p50", "TPOT p50",
            "TPOT p99", "E2E p50", "E2E p99", "errors", "goodput/s"]  # fmt: skip
    console.print(table(cols, rows, title="Latencies in ms", right=cols[1:]))
    for s in result.steps:
        for kind, count in s.error_kinds.items():
            console.print(f"[red]{s.load}: {count} × {kind}[/]")
    if result.stop_reason and result.status != "interrupted":
        console.print(f"sweep stopped: {result.stop_reason}")
    if result.token_source in ("estimate", "mixed"):
        console.print(
            "[yellow]token counts are estimates (4 characters per token): the server sent no "
            "usage; give --tokenizer tokenizer.json for exact counts[/]"
        )
    else:
        console.print(f"[dim]token counts from {result.token_source}[/]")
    if result.comparison is not None:
        c = result.comparison
        plan_rows = [[r.load, r.metric, f"{r.predicted:.1f}", _ms(r.measured),
                      f"{r.ratio:.2f}" if r.ratio else ""] for r in c.rows]  # fmt: skip
        title = f"Planner ({c.model_id}, {c.gpu}, {c.engine}, {c.quant}) vs measured"
        cols = ["load", "metric", "planner", "measured", "measured/planner"]
        console.print(table(cols, plan_rows, title=title, right=cols[2:]))


def _ms(value: float | None) -> str:
    return "" if value is None else f"{value:.1f}"
