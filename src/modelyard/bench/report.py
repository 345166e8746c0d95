"""One self-contained HTML report per run (tables and inline SVG charts, no scripts, nothing
fetched), with the full result as JSON beside it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from modelyard.bench.compare import PlanComparison
from modelyard.bench.metrics import Summary
from modelyard.bench.runner import BenchResult
from modelyard.report import (
    Axis,
    Cell,
    Chart,
    Column,
    Markup,
    Rule,
    Series,
    figure,
    listing,
    note,
    num,
    numbers,
    page,
    section,
    table,
)
from modelyard.report.svg import FAIL

Points = list[tuple[float, float]]
WIDTH = 560
"""Two curve charts side by side on a wide screen."""
FOOTNOTE = (
    "TTFT: send → first output chunk. ITL: gap between output chunks. TPOT: (e2e − TTFT) / "
    "(output tokens − 1). Goodput: completed requests/s meeting every SLO. See docs/bench.md."
)


def write_report(result: BenchResult, path: Path) -> tuple[Path, Path]:
    """Write ``path`` (HTML) and the same name with ``.json``; return both paths."""
    path.parent.mkdir(parents=True, exist_ok=True)
    json_path = path.with_suffix(".json")
    json_path.write_text(result.model_dump_json(indent=1), encoding="utf-8")
    path.write_text(render_html(result), encoding="utf-8")
    return path, json_path


def render_html(result: BenchResult) -> str:
    """The report page as one string."""
    slo = _slo(result.steps)
    subtitle = (
        f"{result.url} · {result.started_at} · load {result.mode} · token counts from "
        f"{result.token_source}" + (f" · SLO {slo}" if slo else "")
    )
    if result.status == "interrupted":
        stopped = note(f"Partial results: {result.stop_reason or 'interrupted'}")
    elif result.stop_reason:
        stopped = note(f"Sweep stopped: {result.stop_reason}")
    else:
        stopped = Markup("")
    parts = [stopped, _summary(result.steps), _curves(result.steps), _timeline(result)]
    if result.comparison is not None:
        parts.append(_comparison(result.comparison))
    parts.append(note(FOOTNOTE))
    return page(f"yard bench: {result.model}", subtitle, Markup("").join(parts))


def _slo(steps: list[Summary]) -> str:
    limits = steps[0].slo if steps else {}
    return ", ".join(f"{name} ≤ {numbers.count(ms)} ms" for name, ms in limits.items())


def _ms(value: float | None) -> str:
    return numbers.fixed(value, 1)


def _summary(steps: list[Summary]) -> Markup:
    columns: list[Column | str] = [
        "load",
        num("req/s"),
        num("out tok/s"),
        num("TTFT p50"),
        num("TTFT p99"),
        num("ITL p50"),
        num("ITL p99"),
        num("TPOT p50"),
        num("TPOT p99"),
        num("E2E p50"),
        num("E2E p99"),
        num("errors"),
        num("goodput req/s"),
    ]
    rows: list[list[Cell]] = [
        [
            s.load,
            numbers.fixed(s.req_s),
            numbers.fixed(s.output_tok_s, 1),
            _ms(s.ttft_ms.p50),
            _ms(s.ttft_ms.p99),
            _ms(s.itl_ms.p50),
            _ms(s.itl_ms.p99),
            _ms(s.tpot_ms.p50),
            _ms(s.tpot_ms.p99),
            _ms(s.e2e_ms.p50),
            _ms(s.e2e_ms.p99),
            _errors(s),
            numbers.fixed(s.goodput_req_s) if s.slo else "",
        ]
        for s in steps
    ]
    kinds: dict[str, int] = {}
    for s in steps:
        for kind, count in s.error_kinds.items():
            kinds[kind] = kinds.get(kind, 0) + count
    errors = table(["error", num("count")], [[k, v] for k, v in kinds.items()], empty="")
    return section(
        "Results (latencies in ms)", table(columns, rows, empty="No load level ran."), errors
    )


def _errors(step: Summary) -> Cell:
    text = f"{numbers.count(step.errors)} / {numbers.count(step.requests)}"
    return Markup('<span class="fail">{}</span>').format(text) if step.errors else text


def _curves(steps: list[Summary]) -> Markup:
    if len(steps) < 2:
        return section(
            "Latency versus load",
            note("One load level ran: its figures are in the table. `--sweep` draws curves."),
        )

    def points(pick: Callable[[Summary], float | None]) -> Points:
        return [(s.req_s, v) for s in steps if (v := pick(s)) is not None]

    limits = steps[0].slo
    first = [
        Series("TTFT p50", points(lambda s: s.ttft_ms.p50)),
        Series("TTFT p99", points(lambda s: s.ttft_ms.p99), dashed=True),
        Series("TPOT p50", points(lambda s: s.tpot_ms.p50)),
        Series("TPOT p99", points(lambda s: s.tpot_ms.p99), dashed=True),
    ]
    e2e = [
        Series("E2E p50", points(lambda s: s.e2e_ms.p50)),
        Series("E2E p99", points(lambda s: s.e2e_ms.p99), dashed=True),
    ]
    tput = [Series("output tok/s", [(s.mean_concurrency, s.output_tok_s) for s in steps])]
    load, ms, tokens = Axis("achieved requests/s"), Axis("ms"), Axis("output tokens/s")
    charts = [
        Chart("TTFT and TPOT", load, ms, first, _rules(limits, "ttft", "tpot"), width=WIDTH),
        Chart("End-to-end latency", load, ms, e2e, _rules(limits, "e2e"), width=WIDTH),
        Chart("Throughput", Axis("mean requests in flight"), tokens, tput, width=WIDTH),
    ]
    return section(
        "Latency versus load",
        Markup('<div class="charts">{}</div>').format(Markup("").join(figure(c) for c in charts)),
    )


def _rules(limits: dict[str, float], *names: str) -> list[Rule]:
    return [Rule(limits[n], f"SLO {n} {numbers.count(limits[n])} ms") for n in names if n in limits]


def _timeline(result: BenchResult) -> Markup:
    done = [r for r in result.requests if not r.error]
    failed = [(r.start_s, r.e2e_s * 1e3) for r in result.requests if r.error]
    series = [
        Series("TTFT", [(r.start_s, r.ttft_s * 1e3) for r in done if r.ttft_s], style="points"),
        Series("E2E", [(r.start_s, r.e2e_s * 1e3) for r in done], style="points"),
        Series("failed (time to failure)", failed, style="points", marker="cross", color=FAIL),
    ]
    chart = Chart("Per request", Axis("seconds since the first send"), Axis("ms"), series)
    caption = f"{numbers.count(len(done))} completed, {numbers.count(len(failed))} failed."
    return section("Every request", figure(chart, caption))


def _comparison(c: PlanComparison) -> Markup:
    columns: list[Column | str] = [
        "load",
        num("batch"),
        "metric",
        num("planner"),
        num("measured"),
        num("measured/planner"),
    ]
    rows: list[list[Cell]] = [
        [
            r.load,
            r.batch,
            r.metric,
            numbers.fixed(r.predicted, 1),
            numbers.fixed(r.measured, 1),
            numbers.fixed(r.ratio, 2),
        ]
        for r in c.rows
    ]
    title = f"Planner versus measurement: {c.model_id} on {c.gpu}, {c.engine}, {c.quant}"
    return section(
        title,
        table(columns, rows, empty="No load level completed a request."),
        listing(c.basis, muted=True),
    )
