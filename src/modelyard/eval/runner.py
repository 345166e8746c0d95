"""The runner: every target answers every item (bounded concurrency per model, stored replies
reused), then every reply is scored, then the statistics become a ``RunReport``."""

from __future__ import annotations

import asyncio
import time
import traceback
from collections.abc import Awaitable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from modelyard.errors import EvalError
from modelyard.eval import stats
from modelyard.eval.client import ChatClient
from modelyard.eval.sandbox import launcher
from modelyard.eval.schema import (
    Completion,
    GenerateParams,
    Item,
    ItemResult,
    RunError,
    RunReport,
    RunSpec,
    RunStats,
    Score,
    ScorerSpec,
    Suite,
    Target,
)
from modelyard.eval.scorers import JudgeFn, ScoreContext, ScoreFn, create_scorer, scorer_info
from modelyard.eval.store import ResultStore


@dataclass
class EvalOptions:
    """How to run a suite (resolved from CLI flags and config by the caller)."""

    targets: list[Target]
    store_path: Path
    judge: Target | None = None
    api_key: str | None = None
    concurrency: int = 4
    limit: int | None = None
    params: GenerateParams | None = None
    """Overrides the suite's sampling parameters."""
    progress: Console | None = None
    """Console to draw the progress bar on; None draws none."""
    retries: int = 5
    backoff_s: float = 0.5
    unsafe_code: bool = False
    """Run model-written code without isolation where no sandbox works (``--unsafe-code``)."""


def _spec_of(item: Item, suite: Suite) -> ScorerSpec:
    return item.scorer or suite.scorer


def prepare_scorers(suite: Suite, judge: Target | None) -> dict[str, ScoreFn]:
    """One scoring function per distinct scorer spec in the suite, checked before any request.

    Raises:
        EvalError: an unknown scorer, bad arguments, or a judge scorer without ``--judge``.
    """
    built: dict[str, ScoreFn] = {}
    for item in suite.items:
        spec = _spec_of(item, suite)
        key = spec.model_dump_json()
        if key in built:
            continue
        if scorer_info(spec).needs_judge and judge is None:
            raise EvalError(
                f"suite {suite.name}: scorer {spec.name!r} needs a judge model; pass --judge MODEL"
            )
        built[key] = create_scorer(spec)
    return built


@contextmanager
def _progress(console: Console | None, total: int) -> Iterator[Progress]:
    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=console is None,
    )
    with bar:
        bar.add_task("generating", total=total)
        yield bar


async def _generate(
    client: ChatClient, suite: Suite, options: EvalOptions, params: GenerateParams
) -> dict[tuple[str, str], Completion]:
    """Every target's reply to every item; after Ctrl-C, the replies that had arrived."""
    replies: dict[tuple[str, str], Completion] = {}
    gates = {t.model: asyncio.Semaphore(options.concurrency) for t in options.targets}
    with _progress(options.progress, len(suite.items) * len(options.targets)) as bar:

        async def one(target: Target, item: Item) -> None:
            async with gates[target.model]:
                reply = await client.complete(target, item.chat(params.system), params)
            replies[(target.model, item.id)] = reply
            bar.advance(bar.task_ids[0])

        await _until_interrupted(one(t, i) for t in options.targets for i in suite.items)
    return replies


async def _until_interrupted(jobs: Iterable[Awaitable[object]]) -> None:
    """Run ``jobs`` together; on Ctrl-C stop them and return (what they finished stays)."""
    try:
        await asyncio.gather(*jobs)
    except asyncio.CancelledError:  # Ctrl-C: asyncio.run cancels the main task
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()  # carry on to report what finished


def _judge_fn(client: ChatClient, judge: Target | None) -> JudgeFn | None:
    if judge is None:
        return None
    params = GenerateParams(temperature=0.0, max_tokens=1024, seed=0)

    async def ask(messages: list[dict[str, str]]) -> str:
        reply = await client.complete(judge, messages, params)
        if reply.error:
            raise EvalError(f"judge {judge.model} failed: {reply.error}")
        return reply.text

    return ask


async def _score_one(fn: ScoreFn, ctx: ScoreContext, reply: Completion) -> Score:
    if reply.error is not None:
        return Score(value=None, explanation=f"no reply: {reply.error}")
    try:
        return await fn(ctx)
    except EvalError as exc:
        return Score(value=None, explanation=str(exc))
    except Exception as exc:  # a scorer bug on one item must not lose the other results
        return Score(
            value=None,
            explanation=f"scorer failed: {type(exc).__name__}: {exc}",
            metadata={"traceback": traceback.format_exc(limit=5)},
        )


async def _score(
    suite: Suite,
    items: list[Item],
    replies: dict[tuple[str, str], Completion],
    options: EvalOptions,
    scorers: dict[str, ScoreFn],
    judge: JudgeFn | None,
) -> list[ItemResult]:
    """Each model's result on each item, in item order; after Ctrl-C, the items fully scored."""
    models = [t.model for t in options.targets]
    results: dict[tuple[str, str], ItemResult] = {}

    async def one(model: str, item: Item) -> None:
        outputs = {m: replies[(m, item.id)].text for m in models}
        ctx = ScoreContext(
            item=item,
            output=outputs[model],
            model=model,
            judge=judge,
            outputs=outputs,
            unsafe_code=options.unsafe_code,
        )
        fn = scorers[_spec_of(item, suite).model_dump_json()]
        score = await _score_one(fn, ctx, replies[(model, item.id)])
        results[(model, item.id)] = ItemResult(
            item_id=item.id,
            model=model,
            category=item.category,
            completion=replies[(model, item.id)],
            score=score,
        )

    await _until_interrupted(one(m, i) for m in models for i in items)
    done = {i.id for i in items if all((m, i.id) in results for m in models)}
    return [results[(m, i.id)] for m in models for i in items if i.id in done]


def _spec(suite: Suite, options: EvalOptions, params: GenerateParams) -> RunSpec:
    specs = {(_spec_of(i, suite)).model_dump_json(): _spec_of(i, suite) for i in suite.items}
    runs_code = any(scorer_info(spec).runs_code for spec in specs.values())
    return RunSpec(
        suite=suite.name,
        suite_source=suite.source,
        targets=options.targets,
        judge=options.judge.model if options.judge else None,
        scorers=list(specs.values()),
        params=params,
        concurrency=options.concurrency,
        limit=options.limit,
        unsafe_code=options.unsafe_code,
        code_isolation=launcher(options.unsafe_code).isolation if runs_code else None,
    )


async def run_suite(
    suite: Suite, options: EvalOptions, prices: dict[str, stats.Price] | None = None
) -> RunReport:
    """Run ``suite`` against every target and return the report (errors recorded in it).

    Raises:
        EvalError: before any request, when a scorer cannot be built, needs a missing judge,
            or runs code and no sandbox works here (unless ``options.unsafe_code``).
    """
    if options.limit is not None:
        suite = suite.model_copy(update={"items": suite.items[: options.limit]})
    params = options.params or suite.params
    scorers = prepare_scorers(suite, options.judge)
    report = RunReport(spec=_spec(suite, options, params), problems=suite.problems)
    started = time.perf_counter()
    store = ResultStore(options.store_path)
    try:
        async with ChatClient(store, options.api_key, options.retries, options.backoff_s) as client:
            await _fill(report, suite, options, params, scorers, client, prices or {})
    except Exception as exc:
        report.status = "error"
        report.error = RunError(
            message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()
        )
    finally:
        store.close()
    report.stats.duration_s = time.perf_counter() - started
    return report


async def _fill(
    report: RunReport,
    suite: Suite,
    options: EvalOptions,
    params: GenerateParams,
    scorers: dict[str, ScoreFn],
    client: ChatClient,
    prices: dict[str, stats.Price],
) -> None:
    models = [t.model for t in options.targets]
    replies = await _generate(client, suite, options, params)
    answered = [i for i in suite.items if all((m, i.id) in replies for m in models)]
    judge = _judge_fn(client, options.judge)
    report.items = await _score(suite, answered, replies, options, scorers, judge)
    binary = all(scorer_info(s).binary for s in report.spec.scorers)
    report.results, report.comparisons = stats.summarize(report.items, models, binary, prices)
    scored = len({r.item_id for r in report.items})
    report.stats = RunStats(
        items=scored,
        requests=client.requests,
        cached=client.cached,
        retries=client.retried,
    )
    if scored < len(suite.items):
        report.status = "interrupted"
        report.error = RunError(
            message=f"Ctrl-C after {scored} of {len(suite.items)} items; every reply that "
            f"arrived is kept in the result store, and the same command resumes from them"
        )
