"""The eval documents: suite items, scores, per-item results and the versioned run report.

Field order in ``RunReport`` and its parts changes only together with a ``version`` bump.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import ConfigDict, Field

from modelyard.strict import Strict


class ScorerSpec(Strict):
    """Which scorer grades an item, and the arguments its factory is called with."""

    name: str
    """Registered scorer name (`yard eval --help` lists them) or a custom ``module:function``."""
    args: dict[str, Any] = Field(default_factory=dict)
    """Keyword arguments for the scorer factory."""


class GenerateParams(Strict):
    """Sampling parameters sent with every request; part of the cache key and the report."""

    temperature: float = 0.0
    """Sampling temperature (0 = greedy)."""
    max_tokens: int = 512
    """Upper bound on generated tokens."""
    seed: int | None = 0
    """Seed sent to the server (servers may ignore it)."""
    top_p: float | None = None
    """Nucleus sampling cut-off; omitted from the request when None."""
    system: str | None = None
    """System message put before every item's messages."""


class Item(Strict):
    """One suite item: what to ask, what a good answer is, how to grade it."""

    id: str
    """Unique within the suite."""
    prompt: str | None = None
    """A single user message (or give ``messages``)."""
    messages: list[dict[str, str]] | None = None
    """A chat transcript ending with the user turn."""
    reference: Any = None
    """What the scorer compares against (string, number, list, schema, tests...)."""
    scorer: ScorerSpec | None = None
    """Overrides the suite's scorer for this item."""
    category: str | None = None
    """Group for per-category tables."""
    tags: list[str] = Field(default_factory=list)
    """Free labels."""
    language: str | None = None
    """Expected reply language (ISO 639-1), when it matters."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Anything else an adapter or scorer needs."""

    def chat(self, system: str | None = None) -> list[dict[str, str]]:
        """The messages to send: the system message (if any), then the item's turns."""
        turns = self.messages or [{"role": "user", "content": self.prompt or ""}]
        return ([{"role": "system", "content": system}] if system else []) + turns

    def text(self) -> str:
        """The last user turn, for tables and router labels."""
        if self.prompt is not None:
            return self.prompt
        users = [m["content"] for m in self.messages or [] if m.get("role") == "user"]
        return users[-1] if users else ""


class Suite(Strict):
    """A loaded suite: items plus the defaults they share and the lines that failed to load."""

    name: str
    """Suite name (file stem or shared-set spec such as ``mgsm:fr``)."""
    source: str
    """Where it was read from."""
    description: str = ""
    """One line for reports."""
    scorer: ScorerSpec = Field(default_factory=lambda: ScorerSpec(name="normalized"))
    """Default scorer for items without their own."""
    params: GenerateParams = Field(default_factory=GenerateParams)
    """Default sampling parameters."""
    items: list[Item] = Field(default_factory=list)
    """The items that loaded."""
    problems: list[str] = Field(default_factory=list)
    """One line per malformed item: ``file:line: what is wrong``."""


class Score(Strict):
    """A grade, with the extracted answer and the reason for it."""

    value: float | None
    """The score (1/0 for binary scorers, 1–10 for judge grades); None when not scorable."""
    answer: str | None = None
    """What the scorer extracted from the output."""
    explanation: str | None = None
    """Why this value."""
    metadata: dict[str, Any] = Field(default_factory=dict)
    """Scorer-specific details (per-instruction results, judge verdicts...)."""


class Completion(Strict):
    """One model reply as the runner recorded it."""

    text: str = ""
    """The generated message content."""
    prompt_tokens: int | None = None
    """Input tokens the server reported."""
    completion_tokens: int | None = None
    """Output tokens the server reported."""
    latency_s: float | None = None
    """Seconds from request to full reply (of the original call, for cached replies)."""
    error: str | None = None
    """Why there is no reply (after retries)."""
    cached: bool = False
    """Served from the result store instead of a new request."""


class ItemResult(Strict):
    """One model on one item."""

    item_id: str
    """Suite item id."""
    model: str
    """Target model name."""
    category: str | None = None
    """Item category."""
    completion: Completion
    """The reply."""
    score: Score
    """The grade."""


class Estimate(Strict):
    """A mean with its bootstrap 95% confidence interval."""

    mean: float | None
    """Mean over scored items."""
    low: float | None
    """2.5th percentile of the bootstrap means."""
    high: float | None
    """97.5th percentile of the bootstrap means."""
    n: int
    """Items that have a score."""


class ModelSummary(Strict):
    """One row of the leaderboard."""

    model: str
    """Target model name."""
    quality: Estimate
    """Mean score with its 95% CI."""
    categories: dict[str, Estimate] = Field(default_factory=dict)
    """Per-category estimates."""
    errors: int = 0
    """Items without a reply or a score."""
    latency_p50_s: float | None = None
    """Median request latency."""
    latency_p95_s: float | None = None
    """95th percentile request latency."""
    prompt_tokens_per_1k: float | None = None
    """Input tokens per 1,000 items."""
    completion_tokens_per_1k: float | None = None
    """Output tokens per 1,000 items."""
    usd_per_1k: float | None = None
    """Dollars per 1,000 items at the catalog's API price; None when the model has no price."""
    price_source: str | None = None
    """Catalog API offer the price came from."""


class McNemar(Strict):
    """McNemar's test on discordant pairs of binary scores."""

    a_only: int
    """Items only model A got right."""
    b_only: int
    """Items only model B got right."""
    p_exact: float
    """Two-sided exact binomial p-value."""
    p_midp: float
    """Mid-p variant (less conservative)."""


class Comparison(Strict):
    """Model A against model B on the items both have scores for."""

    a: str
    """First model."""
    b: str
    """Second model."""
    n: int
    """Paired items."""
    diff: float | None
    """Mean of A minus mean of B."""
    low: float | None
    """Paired bootstrap 2.5th percentile of the difference."""
    high: float | None
    """Paired bootstrap 97.5th percentile of the difference."""
    p_bootstrap: float | None
    """Two-sided paired bootstrap p-value for no difference."""
    mcnemar: McNemar | None = None
    """Present when both models' scores are all 0/1."""


class Target(Strict):
    """A model and the OpenAI-compatible endpoint that serves it."""

    model: str
    """Model name sent in the request."""
    base_url: str
    """Endpoint root, e.g. http://127.0.0.1:4000/v1."""


class RunSpec(Strict):
    """What was run, so the report can be reproduced."""

    suite: str
    """Suite name."""
    suite_source: str
    """Suite file or shared-data path."""
    targets: list[Target]
    """Models evaluated."""
    judge: str | None = None
    """Judge model for LLM-as-judge scorers."""
    scorers: list[ScorerSpec] = Field(default_factory=list)
    """Distinct scorer specs used."""
    params: GenerateParams = Field(default_factory=GenerateParams)
    """Sampling parameters."""
    concurrency: int = 4
    """Requests in flight per model."""
    limit: int | None = None
    """Only the first N items."""
    unsafe_code: bool = False
    """``--unsafe-code``: model-written code was allowed to run without isolation."""
    code_isolation: Literal["bubblewrap", "none"] | None = None
    """How model-written code ran; None when no scorer runs code."""


class RunStats(Strict):
    """Counters for the whole run."""

    model_config = ConfigDict(frozen=False)  # the runner fills it in as the run goes

    items: int = 0
    """Items answered and scored: the suite after --limit, unless the run was interrupted."""
    requests: int = 0
    """Requests sent (generation and judging), retries excluded."""
    cached: int = 0
    """Replies served from the result store."""
    retries: int = 0
    """Retries after 429, 5xx or connection errors."""
    duration_s: float = 0.0
    """Wall time of the run."""


class RunError(Strict):
    """Why a run stopped."""

    message: str
    """What went wrong."""
    traceback: str | None = None
    """Where."""


class RunReport(Strict):
    """The result document of one `yard eval` run; HTML, JSON and CSV are rendered from it."""

    model_config = ConfigDict(frozen=False)  # the runner fills it in as the run goes

    version: Literal[1] = 1
    """Schema version."""
    status: Literal["ok", "error", "interrupted"] = "ok"
    """``error`` when the run failed, ``interrupted`` after Ctrl-C (see ``error``); the items
    and statistics then cover what finished."""
    spec: RunSpec
    """What was run."""
    results: list[ModelSummary] = Field(default_factory=list)
    """Leaderboard rows, best first."""
    comparisons: list[Comparison] = Field(default_factory=list)
    """Every pair of models."""
    stats: RunStats = Field(default_factory=RunStats)
    """Counters."""
    problems: list[str] = Field(default_factory=list)
    """Suite lines that did not load."""
    items: list[ItemResult] = Field(default_factory=list)
    """Every model × item result."""
    error: RunError | None = None
    """Set when status is ``error``."""
