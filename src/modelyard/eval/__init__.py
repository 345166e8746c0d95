"""Evaluation on your own data: suites, scorers, a resumable runner, statistics and reports."""

from modelyard.eval.labels import label_rows, write_labels
from modelyard.eval.pipeline import (
    DEFAULT_BASE_URL,
    EvalOutcome,
    EvalRequest,
    catalog_prices,
    parse_targets,
    run_eval,
)
from modelyard.eval.report import pareto_frontier, render_html, write_report
from modelyard.eval.runner import EvalOptions, run_suite
from modelyard.eval.sandbox import (
    CodeCheck,
    SandboxLimits,
    SandboxResult,
    SandboxUnavailable,
    launcher,
    run_check,
)
from modelyard.eval.schema import (
    Completion,
    Estimate,
    GenerateParams,
    Item,
    ItemResult,
    ModelSummary,
    RunReport,
    Score,
    ScorerSpec,
    Suite,
    Target,
)
from modelyard.eval.scorers import ScoreContext, create_scorer, scorer, scorer_names
from modelyard.eval.stats import bootstrap_ci, estimate, mcnemar, paired_bootstrap
from modelyard.eval.store import ResultStore, request_key
from modelyard.eval.suites import example_suites, load_suite_file, resolve_suite

__all__ = [
    "DEFAULT_BASE_URL",
    "CodeCheck",
    "Completion",
    "Estimate",
    "EvalOptions",
    "EvalOutcome",
    "EvalRequest",
    "GenerateParams",
    "Item",
    "ItemResult",
    "ModelSummary",
    "ResultStore",
    "RunReport",
    "SandboxLimits",
    "SandboxResult",
    "SandboxUnavailable",
    "Score",
    "ScoreContext",
    "ScorerSpec",
    "Suite",
    "Target",
    "bootstrap_ci",
    "catalog_prices",
    "create_scorer",
    "estimate",
    "example_suites",
    "label_rows",
    "launcher",
    "load_suite_file",
    "mcnemar",
    "paired_bootstrap",
    "pareto_frontier",
    "parse_targets",
    "render_html",
    "request_key",
    "resolve_suite",
    "run_check",
    "run_eval",
    "run_suite",
    "scorer",
    "scorer_names",
    "write_labels",
    "write_report",
]
