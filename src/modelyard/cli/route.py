"""`yard route`: train a router from per-prompt labels and evaluate it against baselines."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli._render import console, err_console, print_json, table

if TYPE_CHECKING:
    from modelyard.route import TrainSpec

app = typer.Typer(help="Train and evaluate the model: auto router.", no_args_is_help=True)

DataArg = Annotated[Path, typer.Argument(help="Labels JSONL: {id, prompt, labels: {model: score}}")]
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
    from modelyard.route.datasets import join_replies

    with tempfile.TemporaryDirectory(prefix="yard-route-") as folder:
        yield join_replies(data, replies, Path(folder) / data.name)


def _spec(
    data: Path,
    models: str | None,
    strong: str | None,
    weak: str | None,
    prices: Path | None,
    quality: float,
    max_cost: float | None,
    limit: int | None,
) -> TrainSpec:
    if (strong is None) != (weak is None):
        raise typer.BadParameter("give both --strong and --weak, or neither", param_hint="--strong")
    names = (
        [weak, strong]
        if strong and weak
        else [m.strip() for m in (models or "").split(",") if m.strip()]
    )
    from modelyard.route import Target, TrainSpec

    target = Target("cost", max_cost) if max_cost is not None else Target("quality", quality)
    return TrainSpec(data, tuple(names), prices, target, limit)


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
    from modelyard.route import train

    with _labels(data, replies) as labels:
        art = train(_spec(labels, models, strong, weak, prices, quality, max_cost, limit), out)
    summary = {
        "out": str(out),
        "candidates": art.candidates,
        "threshold": art.threshold,
        "cascade": {s.candidate: s.threshold for s in art.cascade},
        "data_sha256": art.data_sha256,
        "rows": art.data_rows,
        "target": art.target,
    }
    if json_:
        print_json(summary)
        return
    console.print(table(["field", "value"], [(k, v) for k, v in summary.items()], title="router"))


@app.command("eval")
def eval_command(
    data: DataArg,
    folds: Annotated[int, typer.Option("-k", "--folds", help="Cross-validation folds")] = 5,
    seed: Annotated[
        int, typer.Option("--seed", help="How rows are split into folds (another split, same data)")
    ] = 0,
    models: ModelsOpt = None,
    strong: StrongOpt = None,
    weak: WeakOpt = None,
    prices: PricesOpt = None,
    quality: QualityOpt = 0.95,
    limit: LimitOpt = None,
    replies: RepliesOpt = None,
    report: Annotated[
        Path | None, typer.Option("-r", "--report", help="Write an HTML report")
    ] = None,
    json_: Annotated[bool, typer.Option("--json", help="Output as JSON")] = False,
) -> None:
    """Cross-validate the router and its baselines: PGR, APGR, CPT, cost at 95% quality

    \b
    Examples:
      yard route eval gsm8k.jsonl --weak mixtral-8x7b --strong gpt-4-1106-preview -k 5
      yard route eval train.jsonl --prices default_llm.json --report route.html --json
      yard route eval mmlu.jsonl --weak mixtral-8x7b --strong gpt-4-1106-preview --seed 1
    """
    from modelyard.route import evaluate
    from modelyard.route import report as route_report

    with _labels(data, replies) as labels:
        spec = _spec(labels, models, strong, weak, prices, quality, None, limit)
        result = evaluate(spec, folds, progress=partial(err_console.print, style="dim"), seed=seed)
    if report is not None:
        route_report.write(result, report)
    if json_:
        print_json(result.to_json())
        return
    columns = list(dict.fromkeys(k for s in result.spread.values() for k in s))
    rows = [
        (m, *(f"{s[k]['mean']:.3f} ± {s[k]['std']:.3f}" if k in s else "" for k in columns))
        for m, s in result.spread.items()
    ]
    columns = ["method", *columns]
    console.print(table(columns, rows, title=f"{data} ({folds}-fold, seed {seed}, mean ± std)"))
    for note in result.notes:
        console.print(note, style="dim")


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
    from modelyard.route.embed import token_table

    summary = token_table(build)
    if json_:
        print_json(summary)
        return
    console.print(table(["field", "value"], list(summary.items()), title="static embedder"))
