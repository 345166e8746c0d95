"""Evaluation on your own data: suites, scorers, a resumable runner, statistics and reports."""

from modelyard.eval._bubblewrap import Launcher, bubblewrap, unisolated
from modelyard.eval.history import RunDiff, RunEntry, diff_runs, find_run, list_runs, read_run
from modelyard.eval.history_report import INDEX, render_diff
from modelyard.eval.labels import label_rows, write_labels
from modelyard.eval.pipeline import (
    DEFAULT_BASE_URL,
    EvalOutcome,
    EvalRequest,
    catalog_prices,
    parse_targets,
    run_eval,
    runs_dir,
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
from modelyard.eval.scorers import (
    ScoreContext,
    code_check,
    create_scorer,
    scorer,
    scorer_names,
)
from modelyard.eval.stats import bootstrap_ci, estimate, mcnemar, paired_bootstrap
from modelyard.eval.store import ResultStore, request_key
from modelyard.eval.suites import example_suites, load_suite_file, resolve_suite

__all__ = [
    "DEFAULT_BASE_URL",
    "INDEX",
    "CodeCheck",
    "Completion",
    "Estimate",
    "EvalOptions",
    "EvalOutcome",
    "EvalRequest",
    "GenerateParams",
    "Item",
    "ItemResult",
    "Launcher",
    "ModelSummary",
    "ResultStore",
    "RunDiff",
    "RunEntry",
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
    "bubblewrap",
    "catalog_prices",
    "code_check",
    "create_scorer",
    "diff_runs",
    "estimate",
    "example_suites",
    "find_run",
    "label_rows",
    "launcher",
    "list_runs",
    "load_suite_file",
    "mcnemar",
    "paired_bootstrap",
    "pareto_frontier",
    "parse_targets",
    "read_run",
    "render_diff",
    "render_html",
    "request_key",
    "resolve_suite",
    "run_check",
    "run_eval",
    "run_suite",
    "runs_dir",
    "scorer",
    "scorer_names",
    "unisolated",
    "write_labels",
    "write_report",
]
