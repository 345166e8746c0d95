"""`yard route`: train a router from per-prompt labels and evaluate it against baselines."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from modelyard.cli import _route_tables
from modelyard.cli._render import console, err_console, print_json, table
from modelyard.config import yard_home
from modelyard.errors import YardError

if TYPE_CHECKING:
    from modelyard.route import TrainSpec

app = typer.Typer(help="Train and evaluate the model: auto router.", no_args_is_help=True)

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


FromLedgerOpt = Annotated[
    bool,
    typer.Option(
        "--from-ledger",
        help="Labels from the gateway's traffic: feedback on prompt-logged requests, and "
        "--eval-labels of logged prompts",
    ),
]
EvalLabelsOpt = Annotated[
    list[Path] | None,
    typer.Option(
        "--eval-labels", help="yard eval --labels output for `yard route ledger-prompts` items"
    ),
]
DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db", envvar="YARD_LEDGER_URL", help="Ledger URL (default: SQLite in YARD_HOME)"
    ),
]


@dataclass(frozen=True)
class Sources:
    """Where the labels come from: files, a RouteLLM reply CSV, the gateway's ledger."""

    files: tuple[Path, ...] = ()
    replies: Path | None = None
    from_ledger: bool = False
    eval_labels: tuple[Path, ...] = ()
    db: str | None = None


@contextmanager
def _labels(src: Sources) -> Iterator[tuple[Path, ...]]:
    """The label files to read: ``src.files`` with ``replies`` joined into the first, and the
    ledger's labels, written to temporary files."""
    if not src.files and not src.from_ledger:
        raise typer.BadParameter("give label files, or --from-ledger", param_hint="DATA")
    if src.replies is not None and len(src.files) != 1:
        raise typer.BadParameter("--replies joins into one label file", param_hint="--replies")
    from modelyard.route import join_replies

    with tempfile.TemporaryDirectory(prefix="yard-route-") as folder:
        files = list(src.files)
        if src.replies is not None:
            files[0] = join_replies(files[0], src.replies, Path(folder) / files[0].name)
        if src.from_ledger:
            files.append(_ledger_file(src, Path(folder) / "ledger.jsonl"))
        yield tuple(files)


def _ledger_file(src: Sources, out: Path) -> Path:
    """The ledger's label rows (serve/feedback.py) as a JSONL file."""
    from modelyard.serve import ledger_labels, open_store

    scored = [json.loads(line) for f in src.eval_labels for line in _lines(f)]
    rows, unmatched = ledger_labels(open_store(src.db, yard_home()), scored)
    if unmatched:
        err_console.print(f"{unmatched} --eval-labels rows match no logged request: skipped")
    if not rows:
        raise YardError(
            "the ledger holds no labels yet: feedback (POST /v1/feedback) on requests logged "
            "with server.log_prompts, or yard eval --labels on `yard route ledger-prompts`"
        )
    out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    return out


def _lines(path: Path) -> list[str]:
    try:
        return [line for line in path.read_text(encoding="utf-8").split("\n") if line.strip()]
    except OSError as exc:
        raise YardError(f"{path}: cannot read ({exc.strerror})") from None


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
    from modelyard.route import Target, TrainSpec

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
    data: Annotated[
        list[Path] | None,
        typer.Argument(help="Labels JSONL: {id, prompt, labels: {model: score}}"),
    ] = None,
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
    from_ledger: FromLedgerOpt = False,
    eval_labels: EvalLabelsOpt = None,
    db: DbOpt = None,
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
      yard route train --from-ledger --eval-labels scored.jsonl --prices prices.json
    """
    from modelyard.route import train

    src = Sources(tuple(data or ()), replies, from_ledger, tuple(eval_labels or ()), db)
    with _labels(src) as files:
        spec = _spec(files, models, strong, weak, prices, quality, max_cost, limit, score_range)
        art = train(spec, out)
    summary = {
        "out": str(out),
        "candidates": art.candidates,
        "threshold": art.threshold,
        "random_mix": None if art.mix is None else vars(art.mix),
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
    from_ledger: FromLedgerOpt = False,
    eval_labels: EvalLabelsOpt = None,
    db: DbOpt = None,
    deployed: Annotated[
        Path | None,
        typer.Option("--deployed", help="The router file in service, to compare with"),
    ] = None,
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
      yard route eval --from-ledger --prices prices.json --deployed router.json
    """
    from modelyard.route import EvalSpec, evaluate, write_report

    sources = tuple(train_files or data or ())
    src = Sources(sources, replies, from_ledger, tuple(eval_labels or ()), db)
    with _labels(src) as files:
        spec = _spec(files, models, strong, weak, prices, 0.95, None, limit, score_range,
                     leave_out)  # fmt: skip
        how = EvalSpec(spec, tuple(test_files or ()), leave_out is not None, folds, seed, deployed)
        result = evaluate(how, progress=partial(err_console.print, style="dim"))
    if report is not None:
        write_report(result, report)
    if json_:
        print_json(result.to_json())
        return
    _route_tables.render(result.to_json(), console)


@app.command("ledger-prompts")
def ledger_prompts_command(
    out: Annotated[Path, typer.Option("-o", "--out", help="Suite file to write")] = Path(
        "prompts.jsonl"
    ),
    limit: Annotated[int | None, typer.Option("-n", "--limit", help="Newest N only")] = None,
    db: DbOpt = None,
) -> None:
    """Write the prompt-logged requests of the ledger as a `yard eval` suite

    Score every candidate on them (yard eval prompts.jsonl -m a,b --judge j --labels
    scored.jsonl), then train on your own traffic: yard route train --from-ledger --eval-labels
    scored.jsonl. Items keep the request id, so the scores join back to the prompts.

    \b
    Examples:
      yard route ledger-prompts -o prompts.jsonl --limit 2000
    """
    from modelyard.serve import logged_prompts, open_store

    items = logged_prompts(open_store(db, yard_home()), limit)
    if not items:
        raise YardError("no prompt-logged requests in the ledger (server.log_prompts: true)")
    out.write_text("".join(json.dumps(i, ensure_ascii=False) + "\n" for i in items))
    console.print(f"{len(items)} prompts -> {out}")


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
    from modelyard.route import token_table

    summary = token_table(build)
    if json_:
        print_json(summary)
        return
    console.print(table(["field", "value"], list(summary.items()), title="static embedder"))
