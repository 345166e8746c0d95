"""One quality basis per ranking: the user's eval report, else one published family per
workload; models without a score are unknown, listed but never ranked."""

from __future__ import annotations

import pytest

from modelyard.catalog import cached_catalog
from modelyard.errors import PlanError
from modelyard.plan import CostOptions, Ranking, recommend, workload
from modelyard.plan.quality import (
    FAMILIES,
    EvalScores,
    QualityBasis,
    Score,
    api_score,
    eval_basis,
    meets_bar,
    published_basis,
)
from modelyard.policy import Policy
from tests.plan.helpers import dep, model

CATALOG = cached_catalog()


@pytest.mark.parametrize(("name", "family"), sorted(FAMILIES.items()))
def test_each_workload_ranks_on_one_published_family(name: str, family: str) -> None:
    basis = published_basis(CATALOG, name)
    assert basis.name == f"{family} (published)"
    assert basis.scores, f"no catalog model has a {family} claim"
    for model_id, score in basis.scores.items():
        claims = [c for c in CATALOG.models[model_id].claims if c.metric == family]
        assert claims and score.value == max(float(str(c.value)) for c in claims)
        assert score.source


def test_an_unknown_workload_falls_back_to_the_chat_family() -> None:
    assert published_basis(CATALOG, "other").name == published_basis(CATALOG, "chat").name


def _scores(**means: float) -> EvalScores:
    return EvalScores(
        "support-tickets", "report.json", {k: (v, v - 1, v + 1) for k, v in means.items()}
    )


def test_eval_basis_keys_targets_by_catalog_model_or_api() -> None:
    basis = eval_basis(
        CATALOG,
        _scores(**{"vllm:qwen3-8b": 0.8, "openai/gpt-4o-mini": 0.7, "unknown-target": 0.9}),
    )
    assert basis.name == "your eval: support-tickets"
    assert set(basis.scores) == {"qwen3-8b", "openai/gpt-4o-mini"}
    qwen = basis.scores["qwen3-8b"]
    assert (qwen.value, qwen.low, qwen.high) == (0.8, pytest.approx(-0.2), 1.8)
    assert qwen.source == "report.json (vllm:qwen3-8b)"


def test_eval_basis_with_no_catalog_target_says_how_to_name_them() -> None:
    with pytest.raises(PlanError, match="yard models list"):
        eval_basis(CATALOG, _scores(**{"my-finetune": 0.9}))


def test_api_score_is_its_own_else_the_model_it_serves() -> None:
    together = CATALOG.apis["together/llama-3.1-8b-instruct-turbo"]
    basis = QualityBasis("x", {"llama-3.1-8b-instruct": Score(50, "s")})
    assert api_score(basis, together) == Score(50, "s")
    own = QualityBasis("x", {together.id: Score(40, "t"), "llama-3.1-8b-instruct": Score(50, "s")})
    assert api_score(own, together) == Score(40, "t")
    assert api_score(basis, CATALOG.apis["openai/gpt-4o"]) is None


@pytest.mark.parametrize(
    ("api", "scores", "expected"),
    [
        ("together/llama-3.1-8b-instruct-turbo", {}, True),  # the same model
        ("openai/gpt-4o", {"openai/gpt-4o": 80, "qwen3-8b": 60}, True),
        ("openai/gpt-4o", {"openai/gpt-4o": 50, "qwen3-8b": 60}, False),
        ("openai/gpt-4o", {"qwen3-8b": 60}, None),
        ("openai/gpt-4o", {"openai/gpt-4o": 80}, None),
    ],
)
def test_meets_bar(api: str, scores: dict[str, float], expected: bool | None) -> None:
    basis = QualityBasis("x", {k: Score(v, "s") for k, v in scores.items()})
    target = "llama-3.1-8b-instruct" if api.startswith("together") else "qwen3-8b"
    assert meets_bar(basis, CATALOG.apis[api], model(target)) is expected


def _ranking(basis: QualityBasis, gpu: str = "h100-sxm") -> Ranking:
    load = workload("chat", 20e6)
    d = dep(gpu, context=load.prompt_tokens + load.output_tokens)
    return recommend(CATALOG, d, load, Policy(), basis, CostOptions())


def test_unknown_quality_is_listed_after_every_ranked_model_and_unranked() -> None:
    ranking = _ranking(published_basis(CATALOG, "chat"))
    ranks = [r.rank for r in ranking.ranked]
    known = [r for r in ranking.ranked if r.quality is not None]
    assert ranks[: len(known)] == list(range(1, len(known) + 1))
    assert all(r.rank is None for r in ranking.ranked[len(known) :])
    values = [r.quality.value for r in known if r.quality]
    assert values == sorted(values, reverse=True)
    assert "unknown quality unranked" in ranking.order and ranking.basis == "mmlu_pro (published)"


def test_the_users_eval_reorders_the_ranking() -> None:
    basis = eval_basis(CATALOG, _scores(**{"qwen3-0.6b": 0.95, "llama-3.1-8b-instruct": 0.5}))
    ranking = _ranking(basis)
    assert [r.model_id for r in ranking.ranked[:2]] == ["qwen3-0.6b", "llama-3.1-8b-instruct"]
    assert ranking.basis == "your eval: support-tickets"
    assert all(r.quality is None for r in ranking.ranked[2:])


def test_ties_in_quality_go_to_the_cheaper_model() -> None:
    basis = QualityBasis("tie", {"qwen3-0.6b": Score(1, "s"), "qwen3-8b": Score(1, "s")})
    ranking = _ranking(basis)
    first, second = ranking.ranked[:2]
    assert {first.model_id, second.model_id} == {"qwen3-0.6b", "qwen3-8b"}
    assert (first.monthly_usd or 0) <= (second.monthly_usd or 0)


def test_exclusions_carry_reasons_and_unverified_models_are_skipped() -> None:
    ranking = _ranking(published_basis(CATALOG, "chat"), gpu="rtx-4090")
    reasons = {e.model_id: e.reasons for e in ranking.excluded}
    assert reasons.get("deepseek-v3")
    listed = {r.model_id for r in ranking.ranked} | set(reasons)
    unverified = {m.id for m in CATALOG.models.values() if not m.verified}
    assert not listed & unverified
