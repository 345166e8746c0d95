"""Rank catalog models for a deployment, workload and policy, saying why each excluded one is out.

Models sort on one quality basis (the user's eval results, else one benchmark family per
workload), highest first, then by monthly cost. Models with no score on the basis are listed
after the ranked ones, unranked: they are never placed below a worse known score.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from modelyard.catalog.loader import Catalog
from modelyard.catalog.schema import Model
from modelyard.errors import PlanError
from modelyard.plan.cost import CostOptions, estimate_cost
from modelyard.plan.deployment import Deployment
from modelyard.plan.fit import auto_quant, does_not_fit
from modelyard.plan.measured import with_measured_speed
from modelyard.plan.quality import QualityBasis, Score
from modelyard.plan.speed import decode
from modelyard.plan.workload import Workload
from modelyard.policy import Policy, evaluate


@dataclass(frozen=True)
class Ranked:
    """A model that fits, with its plan in brief."""

    model_id: str
    quant: str
    origin: str
    """Where the weights come from (native, official, community, runtime, convert)."""
    quality: Score | None
    """The model's figure on the ranking's basis (None: unknown)."""
    max_sessions: int
    tok_s_single: float
    tok_s_batch: float
    batch: int
    replicas: int | None
    monthly_usd: float | None
    """At the median GPU offer."""
    monthly_low: float | None
    monthly_high: float | None
    usd_per_mtok_output: float | None
    rank: int | None = None
    """1-based place among models with a known score; None for unknown quality."""
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Excluded:
    """A model left out and every reason why."""

    model_id: str
    reasons: list[str]


@dataclass(frozen=True)
class Ranking:
    """``yard plan`` without a model: ranked fits, unknown-quality fits, then exclusions."""

    cluster: str
    engine: str
    context: int
    workload: str
    basis: str
    """The quality basis every rank uses."""
    ranked: list[Ranked]
    excluded: list[Excluded]
    order: str
    """How ``ranked`` is sorted."""


def _rank_one(
    model: Model,
    dep: Deployment,
    load: Workload,
    catalog: Catalog,
    quality: QualityBasis,
    options: CostOptions,
) -> Ranked | str:
    """A Ranked row, or why the model does not fit."""
    found = auto_quant(model, dep)
    if found is None:
        return does_not_fit(model, dep, catalog)
    checkpoint, mem = found
    fitted = with_measured_speed(dep.with_format(checkpoint.fmt), model)
    estimate, warnings = None, list(mem.warnings)
    try:
        estimate = estimate_cost(model, fitted, mem, load, catalog, quality, options)
    except PlanError as exc:
        warnings.append(f"no cost: {exc}")
    batch = estimate.batch if estimate else 1
    context = load.prompt_tokens + load.output_tokens
    return Ranked(
        model_id=model.id,
        quant=checkpoint.fmt.key,
        origin=checkpoint.origin,
        quality=quality.score(model.id),
        max_sessions=mem.max_sessions,
        tok_s_single=decode(model, fitted, 1, context).tok_s_per_sequence,
        tok_s_batch=decode(model, fitted, batch, context).tok_s_total,
        batch=batch,
        replicas=estimate.replicas if estimate else None,
        monthly_usd=estimate.monthly_usd if estimate else None,
        monthly_low=estimate.monthly_low if estimate else None,
        monthly_high=estimate.monthly_high if estimate else None,
        usd_per_mtok_output=estimate.usd_per_mtok_output if estimate else None,
        warnings=warnings,
    )


def _sort_key(row: Ranked) -> tuple[int, float, float, str]:
    if row.quality is None:
        return (1, 0.0, row.monthly_usd or 0.0, row.model_id)
    return (0, -row.quality.value, row.monthly_usd or 0.0, row.model_id)


def recommend(
    catalog: Catalog,
    dep: Deployment,
    load: Workload,
    policy: Policy,
    quality: QualityBasis,
    options: CostOptions,
) -> Ranking:
    """Every verified catalog model ranked for ``dep`` and ``load``, or excluded with reasons.

    Policy (license, languages, context, capabilities) excludes first; then models none of
    whose checkpoints fits. Survivors with a score on ``quality`` are ranked, highest first,
    then cheapest; the rest follow, unranked, cheapest first.
    """
    needed = max(dep.context, load.prompt_tokens + load.output_tokens)
    policy = replace(policy, min_context=max(policy.min_context or 0, needed))
    rows, excluded = [], []
    for model in sorted(catalog.models.values(), key=lambda m: m.id):
        if not model.verified:
            continue
        verdict = evaluate(model, policy, catalog)
        if not verdict.allowed:
            excluded.append(Excluded(model.id, verdict.reasons))
            continue
        row = _rank_one(model, dep, load, catalog, quality, options)
        if isinstance(row, str):
            excluded.append(Excluded(model.id, [row]))
        else:
            rows.append(replace(row, warnings=verdict.warnings + row.warnings))
    rows.sort(key=_sort_key)
    known = sum(r.quality is not None for r in rows)
    ranked = [replace(r, rank=i + 1) if i < known else r for i, r in enumerate(rows)]
    order = f"{quality.name}, highest first, then monthly cost; unknown quality unranked"
    return Ranking(
        dep.hardware,
        dep.engine.key,
        dep.context,
        load.name,
        quality.name,
        ranked,
        excluded,
        order,
    )
