"""What a deployment costs: $/month as a range over GPU offers, $/1M tokens, replicas for a
workload, break-even against API offers, and a hybrid split against one comparator API.

Formulas (research/planner.md §3.5): monthly = $/GPU-hr × GPUs × 730 h; $/Mtok = the compute
cost of the GPU-seconds a million tokens keep busy (``compute_cost_usd``); break-even
tokens/day = monthly self-host cost ÷ (the API's blended $/token at the workload's input:output
mix × 30.4 days). The comparator is the cheapest API offer known to meet the model's quality
on the ranking's basis, unless the user names one; low-confidence prices are listed but left
out of break-even and the comparator unless asked for.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace

from modelyard.catalog.loader import Catalog
from modelyard.catalog.lookup import find_api
from modelyard.catalog.schema import GPU, ApiOffer, Model
from modelyard.errors import CatalogError, PlanError
from modelyard.plan.deployment import Deployment
from modelyard.plan.memory import MemoryPlan
from modelyard.plan.quality import QualityBasis, meets_bar
from modelyard.plan.speed import DecodeEstimate, decode, prefill
from modelyard.plan.workload import Workload

HOURS_PER_MONTH = 730.0
DAYS_PER_MONTH = HOURS_PER_MONTH / 24
TRUSTED = ("high", "medium")
"""Price confidences used unless low-confidence prices are asked for."""


def compute_cost_usd(usd_per_hour: float, busy_seconds: float, utilization: float) -> float:
    """Dollars of self-hosted compute for work that kept GPUs costing ``usd_per_hour`` busy for
    ``busy_seconds``, when they are busy ``utilization`` of the hours paid for.

    Idle hours are paid too, so the cost is never zero for work done; this is the one formula
    the planner's $/1M tokens and `yard usage`'s local-model costs share.
    """
    if not 0 < utilization <= 1:
        raise PlanError(f"utilization {utilization:g}: a share of hours above 0 and at most 1")
    return usd_per_hour * busy_seconds / 3600 / utilization


@dataclass(frozen=True)
class CostOptions:
    """How the user wants costs worked out (`yard plan` flags)."""

    utilization: float = 0.5
    """Share of paid hours the GPUs are busy."""
    usd_per_gpu_hour: float | None = None
    """Your own price; replaces the catalog's offers."""
    hybrid: tuple[float, float, float] | None = (0.90, 0.08, 0.02)
    """Shares for (open, API, fine-tuned); None: no hybrid line."""
    hybrid_api: str | None = None
    """API offer for the hybrid's API share (default: the comparator)."""
    compare_api: str | None = None
    """The API offer to compare with (default: the cheapest that meets the quality bar)."""
    include_low_confidence: bool = False
    """Use low-confidence GPU and API prices too."""


@dataclass(frozen=True)
class PriceOffer:
    """One catalog rental price for the GPU."""

    provider: str
    tier: str
    usd_per_gpu_hour: float
    confidence: str
    source: str
    used: bool
    """Inside the range (on-demand and trusted, unless low confidence is asked for)."""


@dataclass(frozen=True)
class GpuPrice:
    """What one replica costs per hour, as a range over the offers used."""

    gpus: int
    per_gpu: tuple[float, float, float]
    """(lowest, median, highest) $/GPU-hour of the offers used."""
    offers: list[PriceOffer]
    basis: str

    @property
    def low(self) -> float:
        return self.per_gpu[0] * self.gpus

    @property
    def mid(self) -> float:
        """The median offer used: the figure single-number columns show."""
        return self.per_gpu[1] * self.gpus

    @property
    def high(self) -> float:
        return self.per_gpu[2] * self.gpus


def gpu_price(gpu: GPU, count: int, options: CostOptions) -> GpuPrice:
    """The hourly price of ``count`` GPUs: the user's, else the range of catalog offers.

    Raises:
        PlanError: the catalog has no price for the GPU and the user gave none.
    """
    if options.usd_per_gpu_hour is not None:
        own = options.usd_per_gpu_hour
        return GpuPrice(count, (own, own, own), [], f"your --price ${own:.2f}/GPU-hr × {count}")
    offers = [
        PriceOffer(
            p.provider,
            p.tier,
            p.usd_per_hour,
            p.ref.confidence,
            p.ref.source,
            p.tier == "on_demand"
            and (options.include_low_confidence or p.ref.confidence in TRUSTED),
        )
        for p in gpu.prices
    ]
    used = [o.usd_per_gpu_hour for o in offers if o.used]
    if not used:
        used = [o.usd_per_gpu_hour for o in offers]
        offers = [replace(o, used=True) for o in offers]
    if not used:
        raise PlanError(
            f"{gpu.id} has no rental price in the catalog; pass --price USD_PER_GPU_HOUR"
        )
    kept = sum(o.used for o in offers)
    basis = (
        f"{kept} of {len(offers)} catalog offers for {gpu.name} "
        f"(on-demand, {'any' if options.include_low_confidence else 'medium/high'} "
        f"confidence): ${min(used):.2f}-${max(used):.2f}/GPU-hr × {count}"
    )
    return GpuPrice(count, (min(used), statistics.median(used), max(used)), offers, basis)


@dataclass(frozen=True)
class BreakEven:
    """Self-hosting against one API offer at the workload's token mix."""

    api_id: str
    provider: str
    model_name: str
    confidence: str
    blended_usd_per_mtok: float
    api_monthly_usd: float
    """What the workload costs on this API."""
    breakeven_low: float
    """Daily tokens at which the cheapest GPU offer costs the same as the API."""
    breakeven_high: float
    """Same at the dearest GPU offer."""
    self_host_cheaper: bool | None
    """At the workload's volume: True at both ends of the GPU range, False at both, None between."""
    meets_bar: bool | None
    """The API is at least as good on the quality basis (None: unknown)."""
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
    """Every request on the comparator API."""
    savings: float
    """1 - total / all-API (negative: the hybrid costs more)."""
    basis: str


@dataclass(frozen=True)
class CostEstimate:
    """Cost of serving a workload with replicas of one deployment."""

    price: GpuPrice
    monthly_usd_per_replica: float
    """At the median offer used."""
    utilization: float
    usd_per_mtok_output: float
    usd_per_mtok_input: float
    batch: int
    """Sequences per replica the latency target allows."""
    replica_output_tok_s: float
    replica_requests_s: float
    replicas: int
    peak_rps: float
    peak_basis: str
    monthly_low: float
    monthly_high: float
    monthly_usd: float
    """At the median offer used."""
    capacity_tokens_per_day: float
    comparator: str | None = None
    """The API offer the hybrid and savings compare with."""
    comparator_basis: str = ""
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
    model: Model, dep: Deployment, mem: MemoryPlan, load: Workload
) -> tuple[int, DecodeEstimate]:
    """Largest batch whose requests meet the p95 target, within the KV pool, and its decode
    step (for throughput). A request's latency is its time to first token plus its output at
    the step time under load: each step also prefills the arriving requests' prompts
    (batch × prompt / output tokens on average, chunked prefill)."""
    context = load.prompt_tokens + load.output_tokens
    ttft = prefill(model, dep, load.prompt_tokens).ttft_s
    best = decode(model, dep, 1, context)
    limit = max(1, min(mem.max_sessions, 1024))
    batch = 1
    while batch * 2 <= limit:
        size = batch * 2
        mixed = size * load.prompt_tokens / max(load.output_tokens, 1)
        loaded = decode(model, dep, size, context, prefill_tokens=mixed)
        latency = ttft + load.output_tokens * loaded.step_ms / 1e3
        if load.p95_latency_s and latency > load.p95_latency_s:
            break
        batch, best = size, decode(model, dep, size, context)
    return batch, best


def estimate_cost(
    model: Model,
    dep: Deployment,
    mem: MemoryPlan,
    load: Workload,
    catalog: Catalog,
    quality: QualityBasis,
    options: CostOptions,
) -> CostEstimate:
    """Replicas, monthly cost range, $/Mtok and API break-even for ``load``."""
    price = gpu_price(dep.cluster.gpu, dep.cluster.count, options)
    batch, step = _latency_batch(model, dep, mem, load)
    pre = prefill(model, dep, load.prompt_tokens)
    gpu_s_per_request = load.prompt_tokens / pre.tok_s + load.output_tokens / step.tok_s_total
    replicas = max(1, math.ceil(load.peak_rps * gpu_s_per_request))
    per_replica = price.mid * HOURS_PER_MONTH
    capacity = replicas / gpu_s_per_request * (load.prompt_tokens + load.output_tokens) * 86400
    estimate = CostEstimate(
        price=price,
        monthly_usd_per_replica=per_replica,
        utilization=options.utilization,
        usd_per_mtok_output=compute_cost_usd(
            price.mid, 1e6 / step.tok_s_total, options.utilization
        ),
        usd_per_mtok_input=compute_cost_usd(price.mid, 1e6 / pre.tok_s, options.utilization),
        batch=batch,
        replica_output_tok_s=step.tok_s_total,
        replica_requests_s=1 / gpu_s_per_request,
        replicas=replicas,
        peak_rps=load.peak_rps,
        peak_basis=load.peak_basis,
        monthly_low=price.low * HOURS_PER_MONTH * replicas,
        monthly_high=price.high * HOURS_PER_MONTH * replicas,
        monthly_usd=per_replica * replicas,
        capacity_tokens_per_day=capacity,
        basis=[
            f"price: {price.basis}; month = {HOURS_PER_MONTH:g} h",
            f"batch {batch} per replica (p95 target {load.p95_latency_s} s, KV pool "
            f"{mem.max_sessions} sessions): {step.tok_s_total:,.0f} output tok/s, prefill "
            f"{pre.tok_s:,.0f} tok/s",
            f"replicas = ceil(peak {load.peak_rps:.2f} req/s ({load.peak_basis}) × "
            f"{gpu_s_per_request:.3f} GPU-s/request)",
        ],
    )
    offers = list(catalog.apis.values())
    estimate = _with_breakeven(estimate, offers, load, model, quality, options)
    comparator, why = _comparator(estimate, catalog, options)
    estimate = replace(
        estimate, comparator=comparator.id if comparator else None, comparator_basis=why
    )
    if options.hybrid and comparator is not None:
        hybrid_api = _offer(catalog, options.hybrid_api, "--hybrid-api") or comparator
        estimate = _with_hybrid(
            estimate, comparator, hybrid_api, load, options.hybrid, gpu_s_per_request
        )
    return estimate


def _offer(catalog: Catalog, name: str | None, flag: str) -> ApiOffer | None:
    if name is None:
        return None
    try:
        return find_api(catalog, name)
    except CatalogError as exc:
        raise PlanError(f"{flag}: {exc}") from None


def _with_breakeven(
    est: CostEstimate,
    offers: list[ApiOffer],
    load: Workload,
    model: Model,
    quality: QualityBasis,
    options: CostOptions,
) -> CostEstimate:
    rows = []
    low_month, high_month = est.monthly_low, est.monthly_high
    for api in offers:
        if api.ref.confidence not in TRUSTED and not options.include_low_confidence:
            continue
        price = blended_price(api, load.input_share)
        per_day = price / 1e6 * DAYS_PER_MONTH
        low, high = (low_month / per_day, high_month / per_day) if price else (math.inf, math.inf)
        api_cost = api_monthly(api, load)
        cheaper = (
            high_month < api_cost if (high_month < api_cost) == (low_month < api_cost) else None
        )
        rows.append(
            BreakEven(
                api.id,
                api.provider,
                api.model_name,
                api.ref.confidence,
                price,
                api_cost,
                low,
                high,
                cheaper,
                meets_bar(quality, api, model),
                high <= est.capacity_tokens_per_day,
            )
        )
    rows.sort(key=lambda r: (r.blended_usd_per_mtok, r.api_id))
    return replace(est, breakeven=rows)


def _comparator(
    est: CostEstimate, catalog: Catalog, options: CostOptions
) -> tuple[ApiOffer | None, str]:
    chosen = _offer(catalog, options.compare_api, "--compare-api")
    if chosen is not None:
        return chosen, "your --compare-api"
    for row in est.breakeven:
        if row.meets_bar:
            return catalog.apis[row.api_id], "the cheapest API known to meet the quality bar"
    return None, "no API offer is known to meet the quality bar; name one with --compare-api"


def _with_hybrid(
    est: CostEstimate,
    comparator: ApiOffer,
    api: ApiOffer,
    load: Workload,
    split: tuple[float, float, float],
    gpu_s_per_request: float,
) -> CostEstimate:
    own = split[0] + split[2]
    replicas = max(1, math.ceil(load.peak_rps * own * gpu_s_per_request)) if own else 0
    self_host = replicas * est.monthly_usd_per_replica
    api_cost = api_monthly(api, load) * split[1]
    all_api = api_monthly(comparator, load)
    total = self_host + api_cost
    basis = (
        f"open {split[0]:.0%} + fine-tuned {split[2]:.0%} self-hosted on {replicas} replica(s) "
        f"(fine-tuned assumed served as an adapter on the same GPUs); API {split[1]:.0%} on "
        f"{api.id}; all-API = every request on {comparator.id} ({est.comparator_basis})"
    )
    savings = 1 - total / all_api if all_api else 0.0
    hybrid = HybridCost(split, api.id, self_host, api_cost, total, all_api, savings, basis)
    return replace(est, hybrid=hybrid)
