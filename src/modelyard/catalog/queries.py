"""Questions asked of the catalog: filtered listings, facts with sources, disagreements."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

from modelyard.catalog.loader import Catalog, iter_refs
from modelyard.catalog.params import count_params
from modelyard.catalog.schema import ApiOffer, Claim, Model, Source


@dataclass(frozen=True)
class ModelRow:
    """One line of `yard models list` (JSON field names are stable)."""

    id: str
    name: str
    family: str
    vendor: str
    verified: bool
    params_total: float | None
    """Published total parameters."""
    params_active: float | None
    """Published active parameters (MoE), else the total."""
    context_window: int | None
    license: str | None
    languages: list[str]
    capabilities: list[str]
    hf_repo: str | None
    ollama_tag: str | None
    released: str | None
    excluded_because: list[str] = field(default_factory=list)
    """Policy reasons, when listing with --show-excluded."""
    fits_as: str | None = None
    """With --fits: the least lossy quantization and engine that hold the model on that GPU."""


def model_row(model: Model, excluded_because: Sequence[str] = ()) -> ModelRow:
    if model.verified:  # vendor figures only; articles' claims stay claims
        total = model.params_total.value if model.params_total else None
        active = model.params_active.value if model.params_active else total
    else:
        total = _claimed(model, "params_total")
        active = _claimed(model, "params_active") or total
    caps = [name for name, on in model.capabilities.model_dump().items() if on]
    return ModelRow(
        id=model.id,
        name=model.name,
        family=model.family,
        vendor=model.vendor,
        verified=model.verified,
        params_total=total,
        params_active=active,
        context_window=model.context_window or _claimed_int(model, "context_window"),
        license=model.license,
        languages=model.languages,
        capabilities=caps,
        hf_repo=model.hf_repo,
        ollama_tag=model.ollama_tag,
        released=model.released.isoformat() if model.released else None,
        excluded_because=list(excluded_because),
    )


def _claimed(model: Model, metric: str) -> float | None:
    for claim in model.claims:
        if claim.metric == metric and isinstance(claim.value, int | float):
            return float(claim.value)
    return None


def _claimed_int(model: Model, metric: str) -> int | None:
    value = _claimed(model, metric)
    return int(value) if value is not None else None


def sort_rows(rows: list[ModelRow], key: str) -> list[ModelRow]:
    """Sort rows by a ModelRow field; numeric keys (params, active, context) largest first."""
    numeric = {
        "params": lambda r: r.params_total or 0,
        "active": lambda r: r.params_active or 0,
        "context": lambda r: r.context_window or 0,
    }
    if key in numeric:
        return sorted(rows, key=numeric[key], reverse=True)
    if key == "released":
        return sorted(rows, key=lambda r: (r.released or "", r.id), reverse=True)
    return sorted(rows, key=lambda r: (getattr(r, key) or "", r.id))


@dataclass(frozen=True)
class MetricClaims:
    """All claims about one metric of one model, and whether they disagree."""

    metric: str
    claims: list[Claim]
    disagreement: bool
    """True when sources give values that differ by more than rounding."""
    spread: float | None
    """max - min of numeric values."""


def claims_by_metric(model: Model, tolerance: float = 1.0) -> list[MetricClaims]:
    """Group a model's claims per metric; flag metrics whose sources disagree.

    Numeric values that differ by more than ``tolerance`` (percentage points, Elo points,
    tok/s) count as a disagreement, as do differing texts.
    """
    groups: dict[str, list[Claim]] = defaultdict(list)
    for claim in model.claims:
        groups[claim.metric].append(claim)
    result = []
    for metric, claims in groups.items():
        numbers = [float(c.value) for c in claims if isinstance(c.value, int | float)]
        texts = {str(c.value).lower() for c in claims if isinstance(c.value, str)}
        spread = max(numbers) - min(numbers) if numbers else None
        disagree = (spread is not None and spread > tolerance) or len(texts) > 1
        result.append(MetricClaims(metric, claims, disagree, spread))
    return result


@dataclass(frozen=True)
class ParamCheck:
    """Published parameter counts against the counts computed from the architecture."""

    published_total: float | None
    computed_total: int
    published_active: float | None
    computed_active: int
    total_error: float | None
    """(computed - published) / published."""
    active_error: float | None


def check_params(model: Model) -> ParamCheck | None:
    """Compare published and computed parameter counts (None for unverified models)."""
    if model.architecture is None:
        return None
    counts = count_params(model.architecture)
    total = model.params_total.value if model.params_total else None
    active_param = model.params_active
    active = active_param.value if active_param else None
    computed_active = counts.active
    if active_param is not None and not active_param.includes_input_embedding:
        computed_active = counts.active_without_input_embedding
    return ParamCheck(
        published_total=total,
        computed_total=counts.total,
        published_active=active,
        computed_active=computed_active,
        total_error=(counts.total - total) / total if total else None,
        active_error=(computed_active - active) / active if active else None,
    )


def model_sources(model: Model, catalog: Catalog) -> list[Source]:
    """The sources a model's facts cite, in first-cited order."""
    seen: dict[str, Source] = {}
    for _path, ref in iter_refs(model):
        if ref.source in catalog.sources:
            seen.setdefault(ref.source, catalog.sources[ref.source])
    return list(seen.values())


def list_apis(catalog: Catalog, provider: str | None = None) -> list[ApiOffer]:
    """API offers, cheapest output price first, optionally for one provider."""
    offers = [
        a
        for a in catalog.apis.values()
        if provider is None or a.provider.lower() == provider.lower()
    ]
    return sorted(offers, key=lambda a: (a.output_per_mtok, a.input_per_mtok, a.id))
