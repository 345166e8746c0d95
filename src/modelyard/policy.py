"""Hard constraints shared by plan, eval and route: license, languages, context, capabilities.

A policy answers, for each model, either "allowed" or the list of reasons it is excluded,
so every command can say *why* a model was left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, cast

from modelyard.errors import PolicyError

if TYPE_CHECKING:  # the CLI reads this module's vocabularies without loading the catalog
    from modelyard.catalog.loader import Catalog
    from modelyard.catalog.queries import ModelRow
    from modelyard.catalog.schema import License, Model

LicensePolicy = Literal["any", "commercial", "permissive", "osi"]
LICENSE_POLICIES: tuple[str, ...] = ("any", "commercial", "permissive", "osi")
PROPRIETARY = "proprietary"
"""The license id of a model used only through its provider's API, under its terms of service:
commercial use is what is sold, but the terms are neither permissive nor OSI-approved."""
CAPABILITIES: tuple[str, ...] = ("tools", "json_mode", "reasoning", "reasoning_toggle", "vision")


@dataclass(frozen=True)
class Policy:
    """What a model must satisfy. Empty fields constrain nothing."""

    license: LicensePolicy = "any"
    """any; commercial (commercial use allowed); permissive (no MAU cap, no training or
    use-policy strings); osi (an OSI-approved license)."""
    monthly_active_users: int | None = None
    """The deployment's MAU: excludes licenses whose cap is lower."""
    languages: tuple[str, ...] = ()
    """ISO 639-1 codes every allowed model must list."""
    min_context: int | None = None
    """Smallest acceptable context window in tokens."""
    capabilities: tuple[str, ...] = ()
    """Capability flags every allowed model must have."""
    include_unverified: bool = False
    """Keep models that only articles describe."""

    def __post_init__(self) -> None:
        if self.license not in LICENSE_POLICIES:
            raise PolicyError(license_refusal(self.license))
        unknown = set(self.capabilities) - set(CAPABILITIES)
        if unknown:
            raise PolicyError(
                f"unknown capability {sorted(unknown)[0]!r}; known: {', '.join(CAPABILITIES)}"
            )


@dataclass(frozen=True)
class Verdict:
    """Whether a model passes a policy, with every reason it does not."""

    model_id: str
    reasons: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def allowed(self) -> bool:
        return not self.reasons


def license_reasons(lic: License, policy: Policy) -> list[str]:
    """Why ``lic`` fails the policy's license terms (empty when it passes)."""
    reasons = []
    if policy.license != "any" and not lic.commercial_use:
        reasons.append(f"license {lic.id} forbids commercial use")
    if policy.license == "permissive":
        if lic.mau_cap is not None:
            reasons.append(f"license {lic.id} caps use at {lic.mau_cap:,} monthly active users")
        if lic.restricts_training_other_models:
            reasons.append(f"license {lic.id} restricts training other models on outputs")
        if lic.acceptable_use_policy:
            reasons.append(f"license {lic.id} binds use to an acceptable-use policy")
    if policy.license == "osi" and not lic.osi_approved:
        reasons.append(f"license {lic.id} is not OSI-approved")
    mau = policy.monthly_active_users
    if mau is not None and lic.mau_cap is not None and mau > lic.mau_cap:
        reasons.append(f"license {lic.id} requires a separate license above {lic.mau_cap:,} MAU")
    return reasons


def license_id_reasons(license_id: str | None, policy: Policy, catalog: Catalog) -> list[str]:
    """Why a model under ``license_id`` (a catalog license, ``PROPRIETARY``, or None when
    unknown) fails the policy's license terms."""
    if license_id == PROPRIETARY:
        ok = policy.license in ("any", "commercial")
        return [] if ok else [f"proprietary API terms are not {policy.license}"]
    lic = catalog.licenses.get(license_id or "")
    if lic is None:
        return [] if policy.license == "any" else ["license unknown"]
    return license_reasons(lic, policy)


def license_warnings(lic: License) -> list[str]:
    """Obligations that do not exclude a model but that a user must know about."""
    notes = []
    if lic.mau_cap is not None:
        notes.append(f"{lic.id}: separate license needed above {lic.mau_cap:,} MAU")
    if lic.attribution:
        notes.append(f"{lic.id}: attribution required ({lic.attribution})")
    if lic.restricts_training_other_models:
        notes.append(f"{lic.id}: outputs may not train other models")
    return notes


def evaluate(model: Model, policy: Policy, catalog: Catalog) -> Verdict:
    """Check one model against the policy."""
    reasons: list[str] = []
    warnings: list[str] = []
    if not model.verified and not policy.include_unverified:
        reasons.append("unverified: only articles describe it, no vendor config confirms it")
    reasons += license_id_reasons(model.license, policy, catalog)
    lic = catalog.licenses.get(model.license or "")
    if lic is not None:
        warnings += license_warnings(lic)
    missing = [lang for lang in policy.languages if lang not in model.languages]
    if missing:
        reasons.append(f"does not list language(s) {', '.join(missing)}")
    if policy.min_context and (model.context_window or 0) < policy.min_context:
        reasons.append(f"context {model.context_window or 0:,} < {policy.min_context:,} tokens")
    lacking = [c for c in policy.capabilities if not getattr(model.capabilities, c)]
    if lacking:
        reasons.append(f"lacks {', '.join(lacking)}")
    return Verdict(model.id, reasons, warnings)


def list_models(
    catalog: Catalog,
    policy: Policy,
    family: str | None = None,
    sort: str = "id",
    show_excluded: bool = False,
) -> list[ModelRow]:
    """Models passing ``policy`` (and the family filter), sorted; excluded ones appended with
    their reasons when ``show_excluded``."""
    from modelyard.catalog.queries import model_row, sort_rows

    kept: list[ModelRow] = []
    dropped: list[ModelRow] = []
    for model in catalog.models.values():
        if family and model.family != family.lower():
            continue
        verdict = evaluate(model, policy, catalog)
        (kept if verdict.allowed else dropped).append(model_row(model, verdict.reasons))
    rows = sort_rows(kept, sort)
    return rows + sort_rows(dropped, sort) if show_excluded else rows


def license_refusal(text: str) -> str:
    return f"license policy {text!r} is not one of {', '.join(LICENSE_POLICIES)}"


def license_policy(text: str) -> LicensePolicy:
    """The license policy a user named, checked: any, commercial, permissive or osi."""
    if text not in LICENSE_POLICIES:
        raise PolicyError(f"--license: {license_refusal(text)}")
    return cast(LicensePolicy, text)


def parse_languages(text: str | None) -> tuple[str, ...]:
    """'fr, de' -> ('fr', 'de'); validates two- or three-letter codes."""
    if not text:
        return ()
    codes = tuple(c.strip().lower() for c in text.split(",") if c.strip())
    bad = [c for c in codes if not (c.isalpha() and 2 <= len(c) <= 3)]
    if bad:
        raise PolicyError(f"language {bad[0]!r} is not an ISO 639 code (write e.g. fr,de,zh)")
    return codes


def parse_tokens(text: str) -> int:
    """'32k' -> 32768, '1M' -> 1048576, '20000' -> 20000 (contexts use binary k)."""
    raw = text.strip().lower().replace("_", "").replace(",", "")
    scale = {"k": 1024, "m": 1024**2}.get(raw[-1:], 1)
    number = raw[:-1] if scale > 1 else raw
    try:
        value = float(number) * scale
    except ValueError:
        raise PolicyError(f"{text!r} is not a token count (write e.g. 8192, 32k, 1M)") from None
    if value <= 0:
        raise PolicyError(f"{text!r}: token count must be positive")
    return int(value)
