"""What a deployment costs: $/month, $/1M tokens, replicas for a workload, API break-even, hybrid.

Formulas (research/planner.md §3.5): monthly = $/GPU-hr × GPUs × 730 h; $/Mtok = $/hr ÷ tokens
served per hour at the stated utilization; break-even tokens/day = monthly self-host cost ÷
(the API's blended $/token at the workload's input:output mix × 30.4 days).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from modelyard.catalog.loader import Catalog
from modelyard.catalog.schema import ApiOffer, Model
from modelyard.errors import PlanError
from modelyard.plan.cluster import Cluster
from modelyard.plan.memory import Deployment, MemoryPlan
from modelyard.plan.speed import DecodeEstimate, decode, prefill

HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24


@dataclass(frozen=True)
class Workload:
    """Traffic to serve. Request shapes of the presets are assumptions, shown as such."""

    name: str
    tokens_per_day: float
    """Input plus output tokens per day."""
    prompt_tokens: int
    """Average input tokens per request."""
    output_tokens: int
    """Average output tokens per request."""
    peak_rps: float | None = None
    """Peak requests per second (default: the daily average)."""
    p95_latency_s: float | None = None
    """Target for a whole request (TTFT + all output tokens)."""

    @property
    def input_share(self) -> float:
        return self.prompt_tokens / (self.prompt_tokens + self.output_tokens)

    @property
    def requests_per_day(self) -> float:
        return self.tokens_per_day / (self.prompt_tokens + self.output_tokens)

    @property
    def peak(self) -> float:
        return self.peak_rps or self.requests_per_day / 86400


WORKLOAD_SHAPES: dict[str, tuple[int, int, float]] = {
    "chat": (1000, 300, 10.0),
    "rag": (4000, 300, 15.0),
    "code": (2000, 600, 30.0),
    "batch": (1000, 500, 3600.0),
}
"""Assumed (prompt tokens, output tokens, p95 seconds) per preset; override them by flag."""


def workload(
    name: str,
    tokens_per_day: float,
    prompt_tokens: int | None = None,
    output_tokens: int | None = None,
    peak_rps: float | None = None,
    p95_latency_s: float | None = None,
) -> Workload:
    """A preset workload with the user's overrides applied."""
    if name not in WORKLOAD_SHAPES:
        raise PlanError(f"unknown workload {name!r}; choose one of {', '.join(WORKLOAD_SHAPES)}")
    prompt, output, p95 = WORKLOAD_SHAPES[name]
    return Workload(
        name,
        tokens_per_day,
        prompt_tokens or prompt,
        output_tokens or output,
        peak_rps,
        p95_latency_s or p95,
    )


@dataclass(frozen=True)
class BreakEven:
    """Self-hosting against one API offer at the workload's token mix."""

    api_id: str
    provider: str
    model_name: str
    blended_usd_per_mtok: float
    api_monthly_usd: float
    """What the workload costs on this API."""
    breakeven_tokens_per_day: float
    """Daily tokens at which the self-hosted replicas cost the same as the API."""
    self_host_cheaper: bool
    """At the workload's volume."""
    within_capacity: bool
    """The break-even volume fits in the planned replicas."""


@dataclass(frozen=True)
class HybridCost:
    """A split of traffic between self-hosted open models, an API and a fine-tuned model."""

    split: tuple[float, float, float]
    """Shares for (open, API, fine-tuned)."""
    api_id: str
    self_host_monthly_usd: float
    api_monthly_usd: float
    total_monthly_usd: float
    all_api_monthly_usd: float
    savings: float
    """1 - total / all-API."""
    basis: str


@dataclass(frozen=True)
class CostEstimate:
    """Cost of serving a workload with replicas of one deployment."""

    hourly_usd: float
    """One replica."""
    price_basis: str
    monthly_usd_per_replica: float
    utilization: float
    usd_per_mtok_output: float
    usd_per_mtok_input: float
    batch: int
    """Sequences per replica the latency target allows."""
    replica_output_tok_s: float
    replica_requests_s: float
    replicas: int
    monthly_usd: float
    capacity_tokens_per_day: float
    breakeven: list[BreakEven] = field(default_factory=list)
    hybrid: HybridCost | None = None
    basis: list[str] = field(default_factory=list)


def blended_price(api: ApiOffer, input_share: float) -> float:
    """USD per 1M tokens at the given input share of traffic."""
    return api.input_per_mtok * input_share + api.output_per_mtok * (1 - input_share)


def api_monthly(api: ApiOffer, load: Workload) -> float:
    """What ``load`` costs a month on ``api``."""
    return blended_price(api, load.input_share) * load.tokens_per_day / 1e6 * DAYS_PER_MONTH


def _latency_batch(
    model: Model, cluster: Cluster, dep: Deployment, mem: MemoryPlan, load: Workload
) -> tuple[int, DecodeEstimate]:
    """Largest batch whose requests meet the p95 target, within the KV pool."""
    context = load.prompt_tokens + load.output_tokens
    ttft = prefill(model, cluster, dep, load.prompt_tokens).ttft_s
    best = decode(model, cluster, dep, 1, context)
    limit = max(1, min(mem.max_sessions, 1024))
    batch = 1
    while batch * 2 <= limit:
        step = decode(model, cluster, dep, batch * 2, context)
        latency = ttft + load.output_tokens * step.step_ms / 1e3
        if load.p95_latency_s and latency > load.p95_latency_s:
            break
        batch, best = batch * 2, step
    return batch, best


def _hourly(cluster: Cluster, usd_per_gpu_hour: float | None) -> tuple[float, str]:
    if usd_per_gpu_hour is not None:
        return usd_per_gpu_hour * cluster.count, "your --price"
    hourly = cluster.hourly_usd()
    if hourly is None:
        raise PlanError(
            f"{cluster.gpu.id} has no rental price in the catalog; pass --price USD_PER_GPU_HOUR"
        )
    prices = [p for p in cluster.gpu.prices if p.usd_per_hour * cluster.count == hourly]
    where = f"{prices[0].provider} {prices[0].tier}" if prices else "catalog"
    return hourly, f"{where} ${hourly / cluster.count:.2f}/GPU-hr × {cluster.count}"


def estimate_cost(
    model: Model,
    cluster: Cluster,
    dep: Deployment,
    mem: MemoryPlan,
    load: Workload,
    catalog: Catalog,
    utilization: float = 0.5,
    usd_per_gpu_hour: float | None = None,
    hybrid: tuple[float, float, float] | None = (0.90, 0.08, 0.02),
    hybrid_api: str | None = None,
) -> CostEstimate:
    """Replicas, monthly cost, $/Mtok and API break-even for ``load``."""
    hourly, price_basis = _hourly(cluster, usd_per_gpu_hour)
    batch, step = _latency_batch(model, cluster, dep, mem, load)
    pre = prefill(model, cluster, dep, load.prompt_tokens)
    gpu_s_per_request = load.prompt_tokens / pre.tok_s + load.output_tokens / step.tok_s_total
    replicas = max(1, math.ceil(load.peak * gpu_s_per_request))
    monthly = hourly * HOURS_PER_MONTH
    capacity = replicas / gpu_s_per_request * (load.prompt_tokens + load.output_tokens) * 86400
    estimate = CostEstimate(
        hourly_usd=hourly,
        price_basis=price_basis,
        monthly_usd_per_replica=monthly,
        utilization=utilization,
        usd_per_mtok_output=hourly / (3600 * utilization * step.tok_s_total) * 1e6,
        usd_per_mtok_input=hourly / (3600 * utilization * pre.tok_s) * 1e6,
        batch=batch,
        replica_output_tok_s=step.tok_s_total,
        replica_requests_s=1 / gpu_s_per_request,
        replicas=replicas,
        monthly_usd=monthly * replicas,
        capacity_tokens_per_day=capacity,
        basis=[
            f"price: {price_basis}; month = {HOURS_PER_MONTH:g} h",
            f"batch {batch} per replica (p95 target {load.p95_latency_s} s, KV pool "
            f"{mem.max_sessions} sessions): {step.tok_s_total:,.0f} output tok/s, prefill "
            f"{pre.tok_s:,.0f} tok/s",
            f"replicas = ceil(peak {load.peak:.2f} req/s × {gpu_s_per_request:.3f} GPU-s/request)",
        ],
    )
    offers = list(catalog.apis.values())
    estimate = _with_breakeven(estimate, offers, load)
    if hybrid and offers:
        estimate = _with_hybrid(estimate, offers, load, hybrid, hybrid_api, gpu_s_per_request)
    return estimate


def _with_breakeven(est: CostEstimate, offers: list[ApiOffer], load: Workload) -> CostEstimate:
    rows = []
    for api in offers:
        price = blended_price(api, load.input_share)
        even = est.monthly_usd / (price / 1e6 * DAYS_PER_MONTH) if price else math.inf
        api_cost = api_monthly(api, load)
        rows.append(
            BreakEven(
                api.id,
                api.provider,
                api.model_name,
                price,
                api_cost,
                even,
                est.monthly_usd < api_cost,
                even <= est.capacity_tokens_per_day,
            )
        )
    rows.sort(key=lambda r: r.blended_usd_per_mtok)
    return replace(est, breakeven=rows)


def frontier_api(offers: list[ApiOffer]) -> ApiOffer:
    """The closed-weights offer with the highest output price (the 'frontier' share)."""
    closed = [a for a in offers if not a.open_weights] or offers
    return max(closed, key=lambda a: (a.output_per_mtok, a.input_per_mtok, a.id))


def _with_hybrid(
    est: CostEstimate,
    offers: list[ApiOffer],
    load: Workload,
    split: tuple[float, float, float],
    api_id: str | None,
    gpu_s_per_request: float,
) -> CostEstimate:
    if abs(sum(split) - 1) > 1e-6:
        raise PlanError(f"--hybrid shares must add up to 100 (got {sum(split) * 100:g})")
    by_id = {a.id: a for a in offers}
    if api_id is not None and api_id not in by_id:
        raise PlanError(f"--hybrid-api {api_id!r} is not in the catalog (see `yard models apis`)")
    api = by_id[api_id] if api_id else frontier_api(offers)
    own = split[0] + split[2]
    replicas = max(1, math.ceil(load.peak * own * gpu_s_per_request)) if own else 0
    self_host = replicas * est.monthly_usd_per_replica
    api_cost = api_monthly(api, load) * split[1]
    all_api = api_monthly(api, load)
    total = self_host + api_cost
    basis = (
        f"open {split[0]:.0%} + fine-tuned {split[2]:.0%} self-hosted on {replicas} replica(s) "
        f"(fine-tuned assumed served as an adapter on the same GPUs); API {split[1]:.0%} on "
        f"{api.id}; all-API = every request on {api.id}"
    )
    hybrid = HybridCost(
        split, api.id, self_host, api_cost, total, all_api, 1 - total / all_api, basis
    )
    return replace(est, hybrid=hybrid)
