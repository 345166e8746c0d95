"""`yard eval` end to end: resolve the suite and targets, run, price, write the report files."""

from __future__ import annotations

import asyncio
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from modelyard.catalog import cached_catalog, find_api
from modelyard.config import GATEWAY_URL, shared_data_dir, user_catalog_dir, yard_home
from modelyard.errors import CatalogError, EvalError
from modelyard.eval.history_report import write_history
from modelyard.eval.labels import write_labels
from modelyard.eval.report import write_report
from modelyard.eval.runner import EvalOptions, run_suite
from modelyard.eval.schema import RunReport, Target
from modelyard.eval.stats import Price
from modelyard.eval.suites import resolve_suite

DEFAULT_BASE_URL = f"{GATEWAY_URL}/v1"
"""The `yard serve` gateway on this machine."""


@dataclass
class EvalRequest:
    """What the user asked `yard eval` for."""

    suite: str
    models: list[str]
    base_url: str = DEFAULT_BASE_URL
    api_key: str | None = None
    judge: str | None = None
    concurrency: int = 4
    limit: int | None = None
    output: Path | None = None
    labels: Path | None = None
    progress: Console | None = None
    shared_data: Path = field(default_factory=shared_data_dir)
    unsafe_code: bool = False


@dataclass
class EvalOutcome:
    """The report and where its files were written."""

    report: RunReport
    files: dict[str, Path]
    labels_written: int | None = None


def parse_target(spec: str, base_url: str) -> Target:
    """``name`` (served at ``base_url``) or ``name@http://host:port/v1`` (a direct endpoint)."""
    name, sep, url = spec.strip().partition("@")
    if not name or (sep and not url.startswith(("http://", "https://"))):
        raise EvalError(f"--models: {spec!r} is not 'name' or 'name@http://host:port/v1'")
    return Target(model=name, base_url=url or base_url)


def parse_targets(specs: list[str], base_url: str) -> list[Target]:
    """Targets for ``--models``; names must be distinct.

    Raises:
        EvalError: an empty list, a malformed entry or a repeated name.
    """
    targets = [parse_target(s, base_url) for s in specs if s.strip()]
    names = [t.model for t in targets]
    if not targets:
        raise EvalError("--models: name at least one model, e.g. --models smollm2,qwen3-0.6b")
    if len(set(names)) != len(names):
        raise EvalError(f"--models: each model may appear once, got {', '.join(names)}")
    return targets


def catalog_prices(models: list[str]) -> dict[str, Price]:
    """Catalog API prices for the models that name an API offer; the rest have none."""
    catalog = cached_catalog(user_catalog_dir())
    prices = {}
    for model in models:
        try:
            offer = find_api(catalog, model)
        except CatalogError:
            continue
        prices[model] = Price(offer.input_per_mtok, offer.output_per_mtok, offer.id)
    return prices


def runs_dir() -> Path:
    """Where `yard eval` keeps its runs (the history) unless told ``--output``."""
    return yard_home() / "eval" / "runs"


def _output_dir(request: EvalRequest, suite_name: str) -> Path:
    if request.output is not None:
        return request.output
    stamp = time.strftime("%Y%m%d-%H%M%S")
    safe = re.sub(r"[^\w.-]", "_", suite_name)
    return runs_dir() / f"{stamp}-{safe}"


def run_eval(request: EvalRequest) -> EvalOutcome:
    """Run a suite against the requested models and write report.html/json, CSVs and labels.

    Raises:
        EvalError: the suite, a target or a scorer is wrong (nothing was sent).
    """
    suite = resolve_suite(request.suite, request.shared_data)
    targets = parse_targets(request.models, request.base_url)
    options = EvalOptions(
        targets=targets,
        store_path=yard_home() / "eval" / "results.sqlite",
        judge=Target(model=request.judge, base_url=request.base_url) if request.judge else None,
        api_key=request.api_key,
        concurrency=request.concurrency,
        limit=request.limit,
        progress=request.progress,
        unsafe_code=request.unsafe_code,
    )
    report = asyncio.run(run_suite(suite, options, catalog_prices([t.model for t in targets])))
    items = suite.items[: request.limit] if request.limit is not None else suite.items
    folder = _output_dir(request, suite.name)
    files = write_report(report, folder, {i.id: i.text() for i in items})
    if request.output is None:
        files.update(write_history(runs_dir(), folder))
    written = None
    if request.labels is not None:
        written = write_labels(report, items, request.labels)
        files["labels"] = request.labels
    return EvalOutcome(report=report, files=files, labels_written=written)
