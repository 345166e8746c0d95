"""Rank catalog models for a cluster, workload and policy, saying why each excluded one is out."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from modelyard.catalog.loader import Catalog
from modelyard.catalog.schema import Claim, Model
from modelyard.errors import PlanError
from modelyard.plan.cluster import Cluster
from modelyard.plan.cost import Workload, estimate_cost
from modelyard.plan.fit import auto_quant, does_not_fit
from modelyard.plan.formats import FORMATS
from modelyard.plan.measured import with_measured_speed
from modelyard.plan.memory import Deployment
from modelyard.plan.speed import decode
from modelyard.policy import Policy, evaluate

QUALITY_METRICS: dict[str, tuple[str, ...]] = {
    "chat": ("lmarena_elo", "mmlu_pro", "mmlu"),
    "rag": ("mmlu_pro", "mmlu", "lmarena_elo"),
    "code": ("livecodebench", "humaneval_plus", "humaneval"),
    "batch": ("mmlu_pro", "mmlu", "lmarena_elo"),
}
"""Published benchmarks that stand for quality per workload, in order of preference."""


@dataclass(frozen=True)
class Quality:
    """The published figure a model is ranked by."""

    metric: str
    value: float
    source: str


@dataclass(frozen=True)
class Ranked:
    """A model that fits, with its plan in brief."""

    model_id: str
    quant: str
    quality: Quality | None
    max_sessions: int
    tok_s_single: float
    tok_s_batch: float
    batch: int
    replicas: int | None
    monthly_usd: float | None
    usd_per_mtok_output: float | None
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Excluded:
    """A model left out and every reason why."""

    model_id: str
    reasons: list[str]


@dataclass(frozen=True)
class Ranking:
    """``yard plan`` without a model: ranked fits, then exclusions."""

    cluster: str
    engine: str
    context: int
    workload: str
    ranked: list[Ranked]
    excluded: list[Excluded]
    order: str
    """How ``ranked`` is sorted."""


def quality(model: Model, workload_name: str) -> Quality | None:
    """The model's first published figure among the workload's quality metrics."""
    for metric in QUALITY_METRICS.get(workload_name, QUALITY_METRICS["chat"]):
        claims = [c for c in model.claims if c.metric == metric and _number(c) is not None]
        if claims:
            best = max(claims, key=lambda c: _number(c) or 0.0)
            return Quality(metric, _number(best) or 0.0, best.ref.source)
    return None


def _number(claim: Claim) -> float | None:
    return float(claim.value) if isinstance(claim.value, int | float) else None


def _rank_one(
    model: Model, cluster: Cluster, dep: Deployment, load: Workload, catalog: Catalog, **cost
) -> Ranked | str:
    """A Ranked row, or why the model does not fit."""
    mem = auto_quant(model, cluster, dep)
    if mem is None:
        return does_not_fit(model, cluster, dep, catalog)
    fitted = with_measured_speed(replace(dep, fmt=FORMATS[mem.quant]), model, cluster)
    estimate, warnings = None, []
    try:
        estimate = estimate_cost(model, cluster, fitted, mem, load, catalog, **cost)
    except PlanError as exc:
        warnings.append(f"no cost: {exc}")
    batch = estimate.batch if estimate else 1
    context = load.prompt_tokens + load.output_tokens
    return Ranked(
        model_id=model.id,
        quant=mem.quant,
        quality=quality(model, load.name),
        max_sessions=mem.max_sessions,
        tok_s_single=decode(model, cluster, fitted, 1, context).tok_s_per_sequence,
        tok_s_batch=decode(model, cluster, fitted, batch, context).tok_s_total,
        batch=batch,
        replicas=estimate.replicas if estimate else None,
        monthly_usd=estimate.monthly_usd if estimate else None,
        usd_per_mtok_output=estimate.usd_per_mtok_output if estimate else None,
        warnings=warnings,
    )


def _sort_key(row: Ranked, workload_name: str) -> tuple:
    metrics = QUALITY_METRICS.get(workload_name, QUALITY_METRICS["chat"])
    tier = metrics.index(row.quality.metric) if row.quality else len(metrics)
    value = -row.quality.value if row.quality else 0.0
    return (tier, value, row.monthly_usd or 0.0, row.model_id)


def recommend(
    catalog: Catalog,
    cluster: Cluster,
    dep: Deployment,
    load: Workload,
    policy: Policy,
    **cost: object,
) -> Ranking:
    """Every catalog model ranked for ``cluster`` and ``load``, or excluded with reasons.

    Policy (license, languages, context, capabilities) excludes first; then models whose
    least lossy fitting format is none at all. Survivors sort by the workload's quality
    metric (highest published figure first), then by monthly cost.
    """
    needed = max(dep.context, load.prompt_tokens + load.output_tokens)
    policy = replace(policy, min_context=max(policy.min_context or 0, needed))
    ranked, excluded = [], []
    for model in sorted(catalog.models.values(), key=lambda m: m.id):
        verdict = evaluate(model, policy, catalog)
        if not verdict.allowed or model.architecture is None:
            excluded.append(Excluded(model.id, verdict.reasons or ["no architecture"]))
            continue
        row = _rank_one(model, cluster, dep, load, catalog, **cost)
        if isinstance(row, str):
            excluded.append(Excluded(model.id, [row]))
        else:
            ranked.append(replace(row, warnings=verdict.warnings + row.warnings))
    ranked.sort(key=lambda r: _sort_key(r, load.name))
    order = f"quality ({' > '.join(QUALITY_METRICS.get(load.name, ()))}), then monthly cost"
    return Ranking(cluster.label, dep.engine.id, dep.context, load.name, ranked, excluded, order)
