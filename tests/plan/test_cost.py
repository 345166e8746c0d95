"""Economics: local compute priced from GPU $/h and utilization, GPU prices as a range over
trusted offers, peak traffic from the user or the ledger, and one comparator API."""

from __future__ import annotations

import statistics
from dataclasses import replace

import pytest

from modelyard.catalog import cached_catalog
from modelyard.errors import PlanError
from modelyard.plan import CostOptions, compute_cost_usd
from modelyard.plan.cost import (
    HOURS_PER_MONTH,
    TRUSTED,
    CostEstimate,
    api_monthly,
    blended_price,
    estimate_cost,
    gpu_price,
)
from modelyard.plan.memory import plan_memory
from modelyard.plan.quality import QualityBasis, Score, published_basis
from modelyard.plan.workload import TrafficProfile, Workload, workload
from tests.plan.helpers import dep, model, plan

CATALOG = cached_catalog()
H100 = CATALOG.gpus["h100-sxm"]


@pytest.mark.parametrize(
    ("usd_h", "busy_s", "util", "expected"),
    [
        (3.6, 3600, 1.0, 3.6),
        (3.6, 3600, 0.5, 7.2),  # idle hours are paid for too
        (2.0, 1800, 0.25, 4.0),
        (0.0, 3600, 1.0, 0.0),  # a free GPU (the user's own --price 0)
    ],
)
def test_compute_cost_is_price_times_busy_hours_over_utilization(
    usd_h: float, busy_s: float, util: float, expected: float
) -> None:
    assert compute_cost_usd(usd_h, busy_s, util) == pytest.approx(expected)


@pytest.mark.parametrize("util", [0.0, -0.5, 1.5])
def test_utilization_must_be_a_share(util: float) -> None:
    with pytest.raises(PlanError, match="utilization"):
        compute_cost_usd(3.0, 10.0, util)


def test_local_compute_is_never_free_for_work_done() -> None:
    assert compute_cost_usd(H100.prices[0].usd_per_hour, 0.001, 1.0) > 0


def test_gpu_price_range_uses_trusted_on_demand_offers() -> None:
    price = gpu_price(H100, 2, CostOptions())
    trusted = [
        p.usd_per_hour for p in H100.prices if p.tier == "on_demand" and p.ref.confidence in TRUSTED
    ]
    assert price.per_gpu == (min(trusted), statistics.median(trusted), max(trusted))
    assert price.low == min(trusted) * 2 and price.high == max(trusted) * 2
    assert sum(o.used for o in price.offers) == len(trusted)
    assert "medium/high confidence" in price.basis


def test_low_confidence_offers_join_the_range_when_asked() -> None:
    strict = gpu_price(H100, 1, CostOptions())
    loose = gpu_price(H100, 1, CostOptions(include_low_confidence=True))
    assert loose.low <= strict.low and loose.high >= strict.high
    assert sum(o.used for o in loose.offers) > sum(o.used for o in strict.offers)
    assert "any confidence" in loose.basis


def test_your_price_replaces_the_catalogs() -> None:
    price = gpu_price(H100, 4, CostOptions(usd_per_gpu_hour=1.5))
    assert price.per_gpu == (1.5, 1.5, 1.5) and price.mid == 6.0 and price.offers == []


def test_no_price_is_an_error_naming_the_flag() -> None:
    with pytest.raises(PlanError, match="--price"):
        gpu_price(CATALOG.gpus["cpu"], 1, CostOptions())


def test_blended_price_and_monthly_api_cost() -> None:
    api = CATALOG.apis["openai/gpt-4o-mini"]
    assert blended_price(api, 0.75) == pytest.approx(0.15 * 0.75 + 0.6 * 0.25)
    load = workload("chat", 30e6)
    assert api_monthly(api, load) == pytest.approx(
        blended_price(api, load.input_share) * 30 * HOURS_PER_MONTH / 24
    )


def test_plan_cost_figures_are_consistent() -> None:
    cost = plan("llama-3.1-8b-instruct", "h100-sxm").cost
    assert cost is not None
    assert cost.monthly_low <= cost.monthly_usd <= cost.monthly_high
    assert cost.usd_per_mtok_output == pytest.approx(
        compute_cost_usd(cost.price.mid, 1e6 / cost.replica_output_tok_s, cost.utilization)
    )
    assert cost.monthly_usd == pytest.approx(cost.replicas * cost.price.mid * HOURS_PER_MONTH)
    assert cost.usd_per_mtok_input < cost.usd_per_mtok_output


def test_utilization_scales_the_token_price_not_the_monthly_bill() -> None:
    busy = plan("qwen3-8b", "h100-sxm", options=CostOptions(utilization=1.0)).cost
    idle = plan("qwen3-8b", "h100-sxm", options=CostOptions(utilization=0.25)).cost
    assert busy is not None and idle is not None
    assert idle.usd_per_mtok_output == pytest.approx(4 * busy.usd_per_mtok_output)
    assert idle.monthly_usd == pytest.approx(busy.monthly_usd)


def _cost(
    load: Workload, options: CostOptions | None = None, quality: QualityBasis | None = None
) -> CostEstimate:
    m = model("llama-3.1-8b-instruct")
    d = dep("h100-sxm", context=load.prompt_tokens + load.output_tokens)
    return estimate_cost(
        m,
        d,
        plan_memory(m, d),
        load,
        CATALOG,
        quality or published_basis(CATALOG, "chat"),
        options or CostOptions(),
    )


def test_replicas_follow_the_peak() -> None:
    quiet, busy = workload("chat", 20e6, peak_rps=0.5), workload("chat", 20e6, peak_rps=400)
    assert _cost(quiet).replicas == 1
    assert _cost(busy).replicas > 5
    assert _cost(busy).peak_basis == "your --peak-rps"


def test_without_a_peak_the_daily_average_stands_in_and_says_so() -> None:
    cost = _cost(workload("chat", 20e6))
    assert "daily average" in cost.peak_basis


def test_a_tight_latency_target_keeps_batches_small() -> None:
    relaxed = _cost(workload("chat", 20e6, p95_latency_s=60))
    tight = _cost(workload("chat", 20e6, p95_latency_s=2.5))
    assert tight.batch < relaxed.batch


def test_the_comparator_is_the_cheapest_api_meeting_the_quality_bar() -> None:
    cost = _cost(workload("chat", 20e6))
    known = [b for b in cost.breakeven if b.meets_bar]
    assert cost.comparator == known[0].api_id
    assert cost.comparator_basis == "the cheapest API known to meet the quality bar"
    prices = [b.blended_usd_per_mtok for b in cost.breakeven]
    assert prices == sorted(prices)


def test_an_api_serving_the_same_model_meets_the_bar() -> None:
    cost = _cost(workload("chat", 20e6))
    same = [b for b in cost.breakeven if CATALOG.apis[b.api_id].model_id == "llama-3.1-8b-instruct"]
    assert same and all(b.meets_bar for b in same)


def test_your_comparator_wins() -> None:
    cost = _cost(workload("chat", 20e6), CostOptions(compare_api="openai/gpt-4o"))
    assert cost.comparator == "openai/gpt-4o" and cost.comparator_basis == "your --compare-api"
    assert cost.hybrid is not None and "openai/gpt-4o" in cost.hybrid.basis


def test_an_unknown_comparator_is_a_user_error() -> None:
    with pytest.raises(PlanError, match="--compare-api"):
        _cost(workload("chat", 20e6), CostOptions(compare_api="nobody/nothing"))


def test_no_known_comparator_says_how_to_name_one() -> None:
    blind = QualityBasis("nothing", {})
    cost = _cost(workload("chat", 20e6), quality=blind)
    # offers serving the same model still meet the bar; others are unknown
    assert all(b.meets_bar in (True, None) for b in cost.breakeven)
    empty = _cost(
        workload("chat", 20e6),
        quality=QualityBasis("x", {"llama-3.1-8b-instruct": Score(99.0, "x")}),
    )
    assert empty.comparator is not None  # the same-model offers


def test_low_confidence_api_prices_are_left_out_unless_asked() -> None:
    strict = _cost(workload("chat", 20e6))
    loose = _cost(workload("chat", 20e6), CostOptions(include_low_confidence=True))
    low = {a.id for a in CATALOG.apis.values() if a.ref.confidence not in TRUSTED}
    assert not low & {b.api_id for b in strict.breakeven}
    assert low & {b.api_id for b in loose.breakeven}


def test_breakeven_brackets_the_gpu_price_range() -> None:
    for row in _cost(workload("chat", 20e6)).breakeven:
        assert row.breakeven_low <= row.breakeven_high
        if row.self_host_cheaper is True:
            assert row.api_monthly_usd > 0


def test_hybrid_split_and_savings() -> None:
    cost = _cost(workload("chat", 50e6), CostOptions(hybrid=(0.5, 0.5, 0.0)))
    h = cost.hybrid
    assert h is not None and h.split == (0.5, 0.5, 0.0)
    assert h.total_monthly_usd == pytest.approx(h.self_host_monthly_usd + h.api_monthly_usd)
    assert h.savings == pytest.approx(1 - h.total_monthly_usd / h.all_api_monthly_usd)
    none = _cost(workload("chat", 50e6), CostOptions(hybrid=None))
    assert none.hybrid is None


def test_the_hybrid_api_can_differ_from_the_comparator() -> None:
    options = CostOptions(compare_api="openai/gpt-4o", hybrid_api="openai/gpt-4o-mini")
    h = _cost(workload("chat", 20e6), options).hybrid
    assert h is not None and h.api_id == "openai/gpt-4o-mini"


def test_traffic_profile_gives_peak_and_volume() -> None:
    traffic = TrafficProfile((0, 3600, 7200, 0), 800, 200, "the ledger test.db")
    assert traffic.hours == 4 and traffic.peak_rps == 2.0
    assert traffic.tokens_per_day == pytest.approx(10800 * 1000 / 4 * 24)
    load = workload("chat", traffic=traffic)
    assert (load.prompt_tokens, load.output_tokens) == (800, 200)
    assert load.peak_rps == 2.0 and "busiest hour of 4 h in the ledger test.db" in load.peak_basis
    assert load.tokens_per_day == pytest.approx(traffic.tokens_per_day)
    # flags still win over what was observed
    flagged = workload("chat", 5e6, prompt_tokens=100, peak_rps=9.0, traffic=traffic)
    assert (flagged.prompt_tokens, flagged.peak_rps, flagged.tokens_per_day) == (100, 9.0, 5e6)


def test_an_idle_ledger_falls_back_to_the_average() -> None:
    traffic = TrafficProfile((0, 0), 0, 0, "the ledger")
    load = workload("chat", 1e6, traffic=traffic)
    assert "daily average" in load.peak_basis and load.prompt_tokens == 1000


def test_workload_errors() -> None:
    with pytest.raises(PlanError, match="unknown workload"):
        workload("banking")
    with pytest.raises(PlanError, match="--peak-rps"):
        workload("chat", peak_rps=-1.0)
    with pytest.raises(PlanError, match="prompt tokens"):
        workload("chat", prompt_tokens=-5)


def test_cpu_host_costs_with_your_price_and_notes_without() -> None:
    without = plan("qwen3-0.6b", "cpu", engine="llamacpp")
    assert without.cost is None and any("--price" in n for n in without.notes)
    priced = plan("qwen3-0.6b", "cpu", engine="llamacpp", options=CostOptions(usd_per_gpu_hour=0.2))
    assert priced.cost is not None and priced.cost.price.mid == 0.2


def test_multinode_plans_carry_no_cost() -> None:
    found = plan("deepseek-v3", "h100-sxm")
    assert found.cost is None and found.memory.gpus > 8


def test_cost_options_defaults() -> None:
    options = CostOptions()
    assert options.utilization == 0.5 and options.hybrid == (0.9, 0.08, 0.02)
    assert replace(options, utilization=0.9).utilization == 0.9
