"""`auto`'s candidates as the config and the catalog describe them: each one's backends,
prices, context window, capabilities and why ``auto.license`` bars it, named by its router
label; and the language rules over those labels."""

from __future__ import annotations

from dataclasses import dataclass

from modelyard.catalog import Catalog, find_model
from modelyard.catalog.schema import Model
from modelyard.errors import CatalogError
from modelyard.policy import PROPRIETARY, Policy, license_id_reasons
from modelyard.route.decision import Candidate
from modelyard.route.language import LanguageRule, LanguageRules
from modelyard.serve.backends import Backend, Backends
from modelyard.serve.config import AutoCandidate, AutoConfig, BackendConfig
from modelyard.serve.pricing import Rate


@dataclass(frozen=True)
class Choice:
    """A candidate model: its public name, its backends and what the constraints need."""

    model: str
    backends: list[Backend]
    candidate: Candidate
    """Named by its router label; prices, self-hosted flag, context window, capabilities
    (None: unknown), why `auto.license` bars it."""

    @property
    def barred(self) -> tuple[str, ...]:
        """Why it fails `auto.license` (the same for every request)."""
        return self.candidate.barred


def auto_choices(
    auto: AutoConfig, models: list[str], backends: Backends, rates: dict[str, Rate],
    catalog: Catalog,
) -> list[Choice]:  # fmt: skip
    """Every candidate of ``auto`` (``models``: the public names, for a config listing none).

    Raises:
        CatalogError: a candidate names a license the catalog does not know.
    """
    terms = Policy(license=auto.license, monthly_active_users=auto.monthly_active_users)
    return [
        _choice(e, backends.chains[e.model], rates, catalog, terms) for e in auto.entries(models)
    ]


def language_rules(config: AutoConfig, choices: list[Choice]) -> LanguageRules:
    """``config.languages`` with each candidate named by its router label, as the router is."""
    label = {ch.model: ch.candidate.name for ch in choices}
    return LanguageRules(
        {
            key: LanguageRule(
                None if rule.allow is None else tuple(label[m] for m in rule.allow),
                tuple(label[m] for m in rule.prefer),
            )
            for key, rule in config.languages.items()
        }
    )


def _choice(
    entry: AutoCandidate,
    chain: list[Backend],
    rates: dict[str, Rate],
    catalog: Catalog,
    terms: Policy,
) -> Choice:
    """A candidate from its config entry, its first backend's price and the catalog."""
    rate = rates[chain[0].name]
    facts = [_backend_facts(b.config, rates[b.name], catalog) for b in chain]
    windows = [w for w, _, _ in facts if w]
    known = [set(caps) for _, caps, _ in facts if caps is not None]
    licenses = [_license_id(entry, catalog)] if entry.license else [lic for _, _, lic in facts]
    barred = sorted({r for lic in licenses for r in license_id_reasons(lic, terms, catalog)})
    barred = [r + " (set it in auto.candidates)" if r == "license unknown" else r for r in barred]
    caps = entry.capabilities if entry.capabilities is not None else (
        sorted(set.intersection(*known)) if known else None)  # fmt: skip
    candidate = Candidate(
        entry.label or entry.model,
        rate.input_per_mtok if entry.input_per_mtok is None else entry.input_per_mtok,
        rate.output_per_mtok if entry.output_per_mtok is None else entry.output_per_mtok,
        all(b.config.local for b in chain),
        min(windows) if windows else None,
        None if caps is None else tuple(caps),
        tuple(barred),
    )
    return Choice(entry.model, chain, candidate)


def _license_id(entry: AutoCandidate, catalog: Catalog) -> str:
    """The license an entry names, checked against the catalog's.

    Raises:
        CatalogError: not a license the catalog knows, nor ``proprietary``.
    """
    lic = entry.license or ""
    if lic != PROPRIETARY and lic not in catalog.licenses:
        known = ", ".join(sorted([*catalog.licenses, PROPRIETARY]))
        raise CatalogError(f"auto candidate {entry.model}: unknown license {lic!r}; known: {known}")
    return lic


def _backend_facts(
    backend: BackendConfig, rate: Rate, catalog: Catalog
) -> tuple[int | None, list[str] | None, str | None]:
    """A backend's context window, capabilities and license, as far as the catalog knows them
    (a proprietary API offer's license is ``PROPRIETARY``)."""
    offer = catalog.apis.get(rate.source)
    names = [backend.model, backend.gguf, offer.model_id if offer else None]
    model = _catalog_model([n for n in names if n], catalog)
    caps = [k for k, v in model.capabilities.model_dump().items() if v] if model else None
    windows = [
        backend.context_size if backend.kind == "local" else None,
        offer.context_window if offer else None,
        model.context_window if model else None,
    ]
    known = [w for w in windows if w]
    lic = model.license if model else None
    if lic is None and offer is not None and not offer.open_weights:
        lic = PROPRIETARY
    return (min(known) if known else None), caps, lic


def _catalog_model(names: list[str], catalog: Catalog) -> Model | None:
    for name in names:
        try:
            return find_model(catalog, name)
        except CatalogError:
            continue
    return None
