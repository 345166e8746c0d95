"""`yard route`: train a router from per-prompt labels and evaluate it against baselines."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Annotated

import typer

from modelyard.cli import _route_tables
from modelyard.cli._render import console, err_console, print_json, table
from modelyard.route import EvalSpec, Target, TrainSpec, evaluate, train
from modelyard.route import report as route_report
from modelyard.route.datasets import join_replies
from modelyard.route.embed import token_table

app = typer.Typer(help="Train and evaluate the model: auto router.", no_args_is_help=True)

DataArg = Annotated[Path, typer.Argument(help="Labels JSONL: {id, prompt, labels: {model: score}}")]
RangeOpt = Annotated[
    str | None,
    typer.Option("--score-range", help="LOW,HIGH: the scores' scale when not [0,1] or 1-10"),
]
ModelsOpt = Annotated[
    str | None, typer.Option("-m", "--models", help="Candidates cheapest first, comma-separated")
]
StrongOpt = Annotated[str | None, typer.Option("--strong", help="The dearer of two models")]
WeakOpt = Annotated[str | None, typer.Option("--weak", help="The cheaper of two models")]
PricesOpt = Annotated[
    Path | None, typer.Option("-p", "--prices", help="default_llm.json with USD per 1M tokens")
]
QualityOpt = Annotated[
    float, typer.Option("-q", "--quality", help="Target share of the best model's quality")
]
BudgetOpt = Annotated[
    float | None, typer.Option("--max-cost", help="Target USD per 1k requests instead")
]
LimitOpt = Annotated[int | None, typer.Option("--limit", help="Use only the first N rows")]
RepliesOpt = Annotated[
    Path | None,
    typer.Option(
        "--replies",
        help="RouteLLM raw response CSV to join in: the models' replies, for the cascade's scorer",
    ),
]


@contextmanager
def _labels(data: Path, replies: Path | None) -> Iterator[Path]:
    """The label file, with ``replies`` joined in (in a temporary copy) when given."""
    if replies is None:
        yield data
        return
    with tempfile.TemporaryDirectory(prefix="yard-route-") as folder:
        yield join_replies(data, replies, Path(folder) / data.name)


def _spec(
    data: Path | tuple[Path, ...],
    models: str | None,
    strong: str | None,
    weak: str | None,
    prices: Path | None,
    quality: float,
    max_cost: float | None,
    limit: int | None,
    score_range: str | None = None,
    by: str | None = None,
) -> TrainSpec:
    if (strong is None) != (weak is None):
        raise typer.BadParameter("give both --strong and --weak, or neither", param_hint="--strong")
    names = (
        [weak, strong]
        if strong and weak
        else [m.strip() for m in (models or "").split(",") if m.strip()]
    )
    target = Target("cost", max_cost) if max_cost is not None else Target("quality", quality)
    return TrainSpec(data, tuple(names), prices, target, limit, _range(score_range), by)


def _range(text: str | None) -> tuple[float, float] | None:
    if text is None:
        return None
    try:
        low, high = (float(v) for v in text.split(","))
    except ValueError:
        raise typer.BadParameter("give LOW,HIGH, e.g. 0,100", param_hint="--score-range") from None
    if not high > low:
        raise typer.BadParameter("HIGH must exceed LOW", param_hint="--score-range")
    return low, high


@app.command("train")
def train_command(
    data: DataArg,
    out: Annotated[Path, typer.Option("-o", "--out", help="Router file to write")] = Path(
        "router.json"
    ),
    models: ModelsOpt = None,
    strong: StrongOpt = None,
    weak: WeakOpt = None,
    prices: PricesOpt = None,
    quality: QualityOpt = 0.95,
    max_cost: BudgetOpt = None,
    limit: LimitOpt = None,
    replies: RepliesOpt = None,
    score_range: RangeOpt = None,
    json_: Annotated[bool, typer.Option("--json", help="Output as JSON")] = False,
) -> None:
    """Train a router on per-prompt labels and write it as a small JSON file

    Labels that carry the cheaper models' replies (a "responses" object per row, or --replies)
    also train the cascade's reply scorers.

    \b
    Examples:
      yard route train mmlu.jsonl --weak mixtral-8x7b --strong gpt-4-1106-preview
      yard route train train.jsonl --prices default_llm.json -o router.json
      yard route train gsm8k.jsonl --weak mixtral-8x7b --strong gpt-4-1106-preview \\
          --replies raw/gsm8k_responses.csv
    """
    with _labels(data, replies) as labels:
        spec = _spec(labels, models, strong, weak, prices, quality, max_cost, limit, score_range)
        art = train(spec, out)
    summary = {
        "out": str(out),
        "candidates": art.candidates,
        "threshold": art.threshold,
        "cascade": {s.candidate: s.threshold for s in art.cascade},
        "data_sha256": art.data_sha256,
        "rows": art.data_rows,
        "skipped": art.dropped,
        "shared_prefixes": len(art.prefixes.prefixes),
        "target": art.target,
    }
    if json_:
        print_json(summary)
        return
    console.print(table(["field", "value"], [(k, v) for k, v in summary.items()], title="router"))


@app.command("eval")
def eval_command(
    data: Annotated[
        list[Path] | None,
        typer.Argument(help="Label files (JSONL) to split; or give --train and --test"),
    ] = None,
    train_files: Annotated[
        list[Path] | None, typer.Option("--train", help="Train on these label files")
    ] = None,
    test_files: Annotated[
        list[Path] | None, typer.Option("--test", help="Test on these label files")
    ] = None,
    leave_out: Annotated[
        str | None,
        typer.Option(
            "--leave-out",
            help="Leave one task out: the row field naming the task (task_name, subject…), "
            "or 'file' for the file each row came from",
        ),
    ] = None,
    folds: Annotated[int, typer.Option("-k", "--folds", help="Cross-validation folds")] = 5,
    seed: Annotated[
        int, typer.Option("--seed", help="How rows are split into folds, and the bootstrap")
    ] = 0,
    models: ModelsOpt = None,
    strong: StrongOpt = None,
    weak: WeakOpt = None,
    prices: PricesOpt = None,
    limit: LimitOpt = None,
    replies: RepliesOpt = None,
    score_range: RangeOpt = None,
    report: Annotated[
        Path | None, typer.Option("-r", "--report", help="Write an HTML report")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Output as JSON")] = False,
) -> None:
    """The router against its baselines, every threshold chosen on training rows only

    Cost at 95% and 90% of the best single model's quality, quality at the cheapest model's
    cost, the area under the cost-quality curve, each with bootstrap intervals, and the router
    paired against best single, cheapest, random mix, TF-IDF + LR, kNN and prompt length.

    \b
    Examples:
      yard route eval --train train.jsonl --test test.jsonl --prices default_llm.json
      yard route eval train.jsonl --prices default_llm.json --leave-out task_name
      yard route eval mmlu.jsonl gsm8k.jsonl mt_bench.jsonl --leave-out file \\
          --weak mixtral-8x7b --strong gpt-4-1106-preview
      yard route eval gsm8k.jsonl --weak mixtral-8x7b --strong gpt-4-1106-preview -k 5
    """
    sources = tuple(train_files or data or ())
    if not sources:
        raise typer.BadParameter("give label files, or --train and --test", param_hint="DATA")
    if replies is not None and len(sources) != 1:
        raise typer.BadParameter("--replies joins into one label file", param_hint="--replies")
    with _labels(sources[0], replies) as first:
        files = (first, *sources[1:])
        spec = _spec(files, models, strong, weak, prices, 0.95, None, limit, score_range,
                     leave_out)  # fmt: skip
        how = EvalSpec(spec, tuple(test_files or ()), leave_out is not None, folds, seed)
        result = evaluate(how, progress=partial(err_console.print, style="dim"))
    if report is not None:
        route_report.write(result, report)
    if json_:
        print_json(result.to_json())
        return
    _route_tables.render(result.to_json(), console)


@app.command("embed-table")
def embed_table_command(
    build: Annotated[
        bool, typer.Option("--build", help="Compute every vocabulary token's vector now")
    ] = False,
    json_: Annotated[bool, typer.Option("--json", help="Output as JSON")] = False,
) -> None:
    """Show, or prebuild, the static embedder's token vectors (else computed as tokens are met)

    \b
    Examples:
      yard route embed-table
      yard route embed-table --build
    """
    summary = token_table(build)
    if json_:
        print_json(summary)
        return
    console.print(table(["field", "value"], list(summary.items()), title="static embedder"))
