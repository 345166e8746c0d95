"""One quality basis per ranking: the user's own eval results, else one benchmark family.

Mixing families (an arena Elo for one model, MMLU for the next) ranks by whichever figure a
model happens to have; a single basis does not. Models without a score on the basis are
*unknown*: they are listed, never ranked below a worse known score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from modelyard.catalog.loader import Catalog
from modelyard.catalog.lookup import find_api, find_model
from modelyard.catalog.schema import ApiOffer, Claim, Model
from modelyard.errors import CatalogError, PlanError

FAMILIES: dict[str, str] = {
    "chat": "mmlu_pro",
    "rag": "mmlu_pro",
    "code": "livecodebench",
    "batch": "mmlu_pro",
}
"""The published benchmark that stands for quality per workload: the family with the widest
coverage in the catalog among those that measure the workload (MMLU-Pro for general
knowledge and reasoning, LiveCodeBench for code; lmarena_elo covers two models)."""


@dataclass(frozen=True)
class Score:
    """One model's figure on the basis."""

    value: float
    source: str
    low: float | None = None
    high: float | None = None
    """95% interval, where the basis has one (eval results)."""


@dataclass(frozen=True)
class QualityBasis:
    """The scores a ranking sorts by, all of one kind."""

    name: str
    """What the figures are (``mmlu_pro (published)``, ``your eval: support-tickets``)."""
    scores: dict[str, Score] = field(default_factory=dict)
    """By catalog model id or API offer id."""

    def score(self, key: str) -> Score | None:
        return self.scores.get(key)


@dataclass(frozen=True)
class EvalScores:
    """Mean quality per target from a `yard eval` report, as the CLI read it."""

    suite: str
    source: str
    """The report file."""
    means: Mapping[str, tuple[float, float | None, float | None]]
    """Target name -> (mean, 95% low, 95% high)."""


def _number(claim: Claim) -> float | None:
    return float(claim.value) if isinstance(claim.value, int | float) else None


def published_basis(catalog: Catalog, workload_name: str) -> QualityBasis:
    """Every catalog model's best published figure on the workload's family."""
    family = FAMILIES.get(workload_name, FAMILIES["chat"])
    scores = {}
    for model in catalog.models.values():
        claims = [c for c in model.claims if c.metric == family and _number(c) is not None]
        if claims:
            best = max(claims, key=lambda c: _number(c) or 0.0)
            scores[model.id] = Score(_number(best) or 0.0, best.ref.source)
    return QualityBasis(f"{family} (published)", scores)


def eval_basis(catalog: Catalog, results: EvalScores) -> QualityBasis:
    """The user's eval means, keyed by the catalog model or API offer each target names.

    Raises:
        PlanError: no target of the report is a catalog model or API offer.
    """
    scores = {}
    for target, (mean, low, high) in results.means.items():
        for find in (find_model, find_api):
            try:
                key = find(catalog, _strip_provider(target)).id
            except CatalogError:
                continue
            scores[key] = Score(mean, f"{results.source} ({target})", low, high)
            break
    if not scores:
        raise PlanError(
            f"--quality {results.source}: none of its targets ({', '.join(results.means)}) "
            "is a catalog model or API offer; name targets by catalog id (yard models list)"
        )
    return QualityBasis(f"your eval: {results.suite}", scores)


def _strip_provider(target: str) -> str:
    """'vllm:llama-3.1-8b-instruct' -> 'llama-3.1-8b-instruct' (target kinds prefix names)."""
    return target.split(":", 1)[1] if ":" in target and "/" not in target.split(":")[0] else target


def api_score(basis: QualityBasis, offer: ApiOffer) -> Score | None:
    """An API offer's score: its own (eval results), else the catalog model it serves."""
    return basis.score(offer.id) or (basis.score(offer.model_id) if offer.model_id else None)


def meets_bar(basis: QualityBasis, offer: ApiOffer, model: Model) -> bool | None:
    """Whether ``offer`` is at least as good as ``model`` on the basis (None: unknown).

    An offer serving the same model meets it by definition.
    """
    if offer.model_id == model.id:
        return True
    mine, theirs = basis.score(model.id), api_score(basis, offer)
    if mine is None or theirs is None:
        return None
    return theirs.value >= mine.value
