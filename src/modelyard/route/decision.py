"""One routing decision: the hard constraints on every candidate, then the order to try them.

``decide(facts, candidates, rules)`` is pure (no I/O, no model, no clock): the router's
predictions, the private data found, the caller's budget and key scope arrive as ``Facts``;
the library's ``Router.decide`` and the gateway's ``model: "auto"`` (serve/auto.py) both call it.
A new hard constraint is one function appended to CONSTRAINTS, here and nowhere else.

The order: the candidate pinned to the session when it is allowed; else, among the allowed
candidates *good enough* (with predictions: within ``rules.threshold`` of the best predicted
quality; without: all), the cheapest the language rule prefers, else the cheapest; then every
other allowed candidate, cheapest first, as fallbacks (of equal prices, the best predicted
first; without predictions, the given order).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from modelyard.errors import YardError
from modelyard.route.language import Applied, LanguageRules

OUTPUT_TOKENS = 256
"""Assumed answer length when a request sets no limit (cost and context estimates)."""


class NoCandidateError(YardError):
    """Every candidate is excluded by a hard constraint."""


@dataclass(frozen=True)
class Candidate:
    """A backend the router may pick, with what the constraints and the cost need."""

    name: str
    input_per_mtok: float = 0.0
    output_per_mtok: float = 0.0
    local: bool = False
    """Self-hosted: private prompts may go here."""
    context_window: int | None = None
    capabilities: tuple[str, ...] | None = ()
    """What it supports (tools, json_mode, vision...); None: unknown, so nothing."""
    barred: tuple[str, ...] = ()
    """Why it may never be used (its license under the operator's terms), for every request."""

    def cost(self, prompt_tokens: int, max_tokens: int) -> float:
        """Estimated USD for one request."""
        return (prompt_tokens * self.input_per_mtok + max_tokens * self.output_per_mtok) / 1e6


@dataclass(frozen=True)
class Facts:
    """What one request brings to the decision, each read once by the caller."""

    prompt_tokens: int
    """Every message's tokens, template included."""
    max_tokens: int = OUTPUT_TOKENS
    needs: tuple[str, ...] = ()
    """Capabilities the request needs."""
    min_context: int = 0
    """A policy's smallest acceptable context window."""
    language: str | None = None
    private: tuple[str, ...] = ()
    """Kinds of private data found (or ``declared``, ``key``); empty: none."""
    budget: float | None = None
    """The caller's remaining USD; None: unlimited."""
    allowed: frozenset[str] | None = None
    """Candidates the caller's key may use; None: all."""
    pinned: str | None = None
    """The candidate the session is pinned to."""
    quality: Mapping[str, float] | None = None
    """The router's predicted quality per candidate; None: no router consulted."""


@dataclass(frozen=True)
class Rules:
    """The operator's standing rules for every decision."""

    threshold: float = 0.0
    """Good enough: predicted quality within this of the best prediction."""
    languages: LanguageRules | None = None
    cascade: bool = False
    """Cheapest first, whatever the predictions: the replies decide (serve/auto.py)."""


@dataclass
class Decision:
    """The candidates in the order to try, why, and what was estimated and excluded."""

    order: list[str]
    reason: str
    excluded: dict[str, list[str]]
    """Per excluded candidate: the hard constraints it failed."""
    estimates: dict[str, dict[str, float]]
    """Per allowed candidate: ``cost_usd`` and, with a router, predicted ``quality``."""
    private: list[str] = field(default_factory=list)
    language: str | None = None
    """The prompt's language, when language rules are set and it was recognised."""

    @property
    def model(self) -> str | None:
        """The candidate to try first; None when every candidate was excluded."""
        return self.order[0] if self.order else None

    def why_none(self) -> str:
        """Every exclusion on one line: ``name: reason, reason; name: ...``."""
        return "; ".join(f"{k}: {', '.join(v)}" for k, v in self.excluded.items())


@dataclass(frozen=True)
class Context:
    """What a constraint reads besides the candidate: the facts and their derived values."""

    facts: Facts
    applied: Applied | None
    cost: float


Constraint = Callable[[Candidate, Context], list[str]]


def barred(c: Candidate, ctx: Context) -> list[str]:
    return list(c.barred)


def language_allows(c: Candidate, ctx: Context) -> list[str]:
    why = ctx.applied.excludes(c.name) if ctx.applied else None
    return [why] if why else []


def private_stays_home(c: Candidate, ctx: Context) -> list[str]:
    if ctx.facts.private and not c.local:
        return ["private data must stay on a self-hosted backend"]
    return []


def context_fits(c: Candidate, ctx: Context) -> list[str]:
    needed = ctx.facts.prompt_tokens + ctx.facts.max_tokens
    if c.context_window is not None and needed > c.context_window:
        return [f"needs {needed:,} tokens, context is {c.context_window:,}"]
    return []


def capable(c: Candidate, ctx: Context) -> list[str]:
    lacking = [cap for cap in ctx.facts.needs if cap not in (c.capabilities or ())]
    if not lacking:
        return []
    unknown = (
        " (capabilities unknown: set them in auto.candidates)" if c.capabilities is None else ""
    )
    return [f"lacks {', '.join(lacking)}{unknown}"]


def long_enough(c: Candidate, ctx: Context) -> list[str]:
    if ctx.facts.min_context and (c.context_window or 0) < ctx.facts.min_context:
        return [f"context below the policy's {ctx.facts.min_context:,} tokens"]
    return []


def affordable(c: Candidate, ctx: Context) -> list[str]:
    budget = ctx.facts.budget
    if budget is not None and ctx.cost > budget:
        return [f"estimated ${ctx.cost:.6f} exceeds the remaining budget ${budget:.6f}"]
    return []


def key_allows(c: Candidate, ctx: Context) -> list[str]:
    allowed = ctx.facts.allowed
    return ["the key may not use it"] if allowed is not None and c.name not in allowed else []


CONSTRAINTS: tuple[Constraint, ...] = (
    barred,
    language_allows,
    private_stays_home,
    context_fits,
    capable,
    long_enough,
    affordable,
    key_allows,
)
"""Every hard constraint, in the order their reasons are reported."""


def decide(facts: Facts, candidates: Sequence[Candidate], rules: Rules = Rules()) -> Decision:
    """The order in which to try ``candidates`` for a request, and why (module docstring).

    An empty ``order`` means every candidate failed a hard constraint (see ``excluded``).
    """
    applied = rules.languages.rule_for(facts.language) if rules.languages else None
    allowed, excluded, costs = [], {}, {}
    for c in candidates:
        costs[c.name] = c.cost(facts.prompt_tokens, facts.max_tokens)
        ctx = Context(facts, applied, costs[c.name])
        reasons = [r for check in CONSTRAINTS for r in check(c, ctx)]
        if reasons:
            excluded[c.name] = reasons
        else:
            allowed.append(c)
    quality = facts.quality or {}
    allowed.sort(key=lambda c: (costs[c.name], -quality.get(c.name, 0.0)))
    estimates = {c.name: _estimate(costs[c.name], facts.quality, c.name) for c in allowed}
    language = facts.language if rules.languages else None
    first, reason = _first(facts, allowed, rules, applied) if allowed else (None, "")
    if facts.private and first is not None:
        why = "key is private" if facts.private == ("key",) else "private data"
        reason = f"{why}, self-hosted only; {reason}"
    order = [first.name, *(c.name for c in allowed if c is not first)] if first else []
    return Decision(order, reason, excluded, estimates, list(facts.private), language)


def _estimate(cost: float, quality: Mapping[str, float] | None, name: str) -> dict[str, float]:
    if quality is None:
        return {"cost_usd": cost}
    return {"cost_usd": cost, "quality": round(float(quality[name]), 4)}


def _first(
    facts: Facts, allowed: list[Candidate], rules: Rules, applied: Applied | None
) -> tuple[Candidate, str]:
    """The candidate to try first among ``allowed`` (cheapest first), and why."""
    pinned = next((c for c in allowed if c.name == facts.pinned), None)
    if pinned is not None:
        return pinned, "pinned to session"
    quality = None if rules.cascade or len(allowed) < 2 else facts.quality
    good = allowed if quality is None else _good_enough(allowed, quality, rules.threshold)
    favourite = applied.preferred(c.name for c in good) if applied else None
    prefer = f"{applied.label}: prefer {favourite}" if applied and favourite else ""
    pick = next(c for c in good if c.name == favourite) if favourite else good[0]
    if quality is not None:
        how = f"router, cheapest within {rules.threshold:.3f} of best"
        return pick, f"{how}; {prefer}" if prefer else how
    if prefer:
        return pick, prefer
    return pick, "cascade, cheapest first" if rules.cascade else "cheapest allowed"


def _good_enough(
    allowed: list[Candidate], quality: Mapping[str, float], threshold: float
) -> list[Candidate]:
    """The allowed candidates predicted within ``threshold`` of the best, cheapest first."""
    best = max(quality[c.name] for c in allowed)
    return [c for c in allowed if quality[c.name] >= best - threshold]


def verdict_json(decision: Decision, facts: Facts, token_count: str) -> dict[str, Any]:
    """The decision as the gateway's ledger records it (``route_reason``)."""
    return {
        "private": decision.private,
        "language": decision.language,
        "needs": list(facts.needs),
        "prompt_tokens": facts.prompt_tokens,
        "token_count": token_count,
        "max_tokens": facts.max_tokens,
        "estimates": decision.estimates,
        "excluded": decision.excluded,
        "chosen": decision.order[0] if decision.order else None,
        "reason": decision.reason,
    }
