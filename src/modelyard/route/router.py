"""Per-request routing: hard constraints first, then the cheapest candidate predicted good enough.

``Router.load(path).decide(messages, candidates, policy, budget)`` does no I/O: the embedder and
the quality model are loaded once, and a decision is a tokenizer call, a table lookup, a few
regular expressions, a few hundred word-n-gram hashes and small matrix products.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.catalog.schema import ApiOffer, Model
from modelyard.errors import YardError
from modelyard.policy import Policy
from modelyard.route.artifact import RouterArtifact, check_candidates, load
from modelyard.route.calibrate import choose
from modelyard.route.embed import static_embedder
from modelyard.route.features import Featurizer, content_text, prompt_text
from modelyard.route.language import Applied, LanguageRules
from modelyard.route.privacy import private_kinds
from modelyard.route.training import OUTPUT_TOKENS


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
    capabilities: tuple[str, ...] = ()

    @classmethod
    def from_api(cls, offer: ApiOffer) -> Candidate:
        """A paid API backend from a catalog price entry."""
        return cls(
            offer.model_name,
            offer.input_per_mtok,
            offer.output_per_mtok,
            False,
            offer.context_window,
        )

    @classmethod
    def from_model(cls, model: Model, name: str | None = None) -> Candidate:
        """A self-hosted backend serving a catalog model (no per-token price)."""
        caps = tuple(k for k, v in model.capabilities.model_dump().items() if v is True)
        return cls(name or model.id, 0.0, 0.0, True, model.context_window, caps)

    def cost(self, prompt_tokens: int, max_tokens: int) -> float:
        """Estimated USD for one request."""
        return (prompt_tokens * self.input_per_mtok + max_tokens * self.output_per_mtok) / 1e6


@dataclass
class Decision:
    """Which model answers, why, and what the router estimated for every candidate."""

    model: str
    reason: str
    estimates: dict[str, dict[str, float]]
    """Per allowed candidate: predicted ``quality`` and estimated ``cost`` in USD."""
    excluded: dict[str, list[str]] = field(default_factory=dict)
    """Per excluded candidate: the hard constraints it failed."""
    private: list[str] = field(default_factory=list)
    """Kinds of private data found in the request (empty when none)."""
    language: str | None = None
    """The prompt's language when language rules were given and it was recognised."""


def exclusions(
    c: Candidate,
    private: bool,
    needed_tokens: int,
    policy: Policy | None,
    cost: float,
    budget: float | None,
    language: Applied | None = None,
) -> list[str]:
    """The hard constraints candidate ``c`` fails for this request."""
    reasons = []
    if language is not None and (why := language.excludes(c.name)):
        reasons.append(why)
    if private and not c.local:
        reasons.append("private data must stay on a self-hosted backend")
    if c.context_window is not None and needed_tokens > c.context_window:
        reasons.append(f"needs {needed_tokens:,} tokens, context is {c.context_window:,}")
    if policy is not None:
        lacking = [cap for cap in policy.capabilities if cap not in c.capabilities]
        if lacking:
            reasons.append(f"lacks {', '.join(lacking)}")
        if policy.min_context and (c.context_window or 0) < policy.min_context:
            reasons.append(f"context below the policy's {policy.min_context:,} tokens")
    if budget is not None and cost > budget:
        reasons.append(f"estimated ${cost:.6f} exceeds the remaining budget ${budget:.6f}")
    return reasons


class Router:
    """A trained quality model with its calibrated threshold, ready to decide requests."""

    def __init__(self, artifact: RouterArtifact, featurizer: Featurizer | None = None) -> None:
        self.artifact = artifact
        self.featurizer = featurizer or Featurizer(static_embedder())

    @classmethod
    def load(cls, path: Path, candidates: Sequence[str] | None = None) -> Router:
        """Load a router file; with ``candidates``, fail unless it was trained for all of them."""
        return cls(load(path, candidates))

    def predict(self, text: str) -> tuple[np.ndarray, int]:
        """Predicted quality per trained candidate for one prompt, and its token count."""
        x, tokens = self.featurizer.one(text)
        return self.artifact.quality.predict(x.astype(np.float64), [text]), tokens

    def decide(
        self,
        messages: Sequence[dict[str, Any]],
        candidates: Sequence[Candidate],
        policy: Policy | None = None,
        budget: float | None = None,
        max_tokens: int | None = None,
        private: bool | None = None,
        languages: LanguageRules | None = None,
    ) -> Decision:
        """Choose the backend for one chat request.

        Args:
            messages: OpenAI chat messages; the last user turn is scored.
            candidates: backends to choose from (each must be one the router was trained for).
            policy: required capabilities and minimum context.
            budget: the caller's remaining USD; dearer candidates are excluded.
            max_tokens: the request's answer limit (default OUTPUT_TOKENS) for context and cost.
            private: force (True) or waive (False) the private-data rule; None detects it.
            languages: per-language allow and prefer lists, applied to the scored message.

        Raises:
            RouterFileError: a candidate the router was not trained for.
            NoCandidateError: every candidate fails a hard constraint.
        """
        check_candidates(self.artifact, [c.name for c in candidates], "router")
        scored = prompt_text(messages)
        language, applied = languages.apply(scored) if languages else (None, None)
        quality, tokens = self.predict(scored)
        texts = [content_text(m.get("content")) for m in messages]
        full = "\n".join(texts)
        kinds = private_kinds(full) if private is None else (["declared"] if private else [])
        answer = max_tokens or OUTPUT_TOKENS
        needed = tokens + answer + self._other_tokens(texts, scored)
        allowed: list[Candidate] = []
        excluded: dict[str, list[str]] = {}
        costs: dict[str, float] = {}
        for c in candidates:
            costs[c.name] = c.cost(tokens, answer)
            reasons = exclusions(c, bool(kinds), needed, policy, costs[c.name], budget, applied)
            (excluded.__setitem__(c.name, reasons) if reasons else allowed.append(c))
        if not allowed:
            detail = "; ".join(f"{k}: {', '.join(v)}" for k, v in excluded.items())
            raise NoCandidateError(f"no backend can take this request ({detail})")
        decision = self._pick(quality, allowed, costs, excluded, kinds, applied)
        decision.language = language
        return decision

    def _other_tokens(self, texts: list[str], scored: str) -> int:
        """Word pieces of every message but the scored one (already counted once)."""
        others = list(texts)
        if scored in others:
            others.remove(scored)
        return sum(len(self.featurizer.embedder.token_ids(t)) for t in others if t)

    def _pick(
        self,
        quality: np.ndarray,
        allowed: list[Candidate],
        costs: dict[str, float],
        excluded: dict[str, list[str]],
        kinds: list[str],
        applied: Applied | None = None,
    ) -> Decision:
        names = self.artifact.candidates
        q = np.array([quality[names.index(c.name)] for c in allowed])
        # equal prices: fall back to the training order (cheapest first) to break the tie
        cost = np.array([(costs[c.name], names.index(c.name)) for c in allowed])
        order = np.lexsort((cost[:, 1], cost[:, 0]))
        pick = allowed[
            order[choose(q[order], np.arange(len(order), dtype=float), self.artifact.threshold)]
        ]
        good = [allowed[i].name for i in order if q[i] >= q.max() - self.artifact.threshold]
        favourite = applied.preferred(good) if applied else None
        pick = next(c for c in allowed if c.name == favourite) if favourite else pick
        best = allowed[int(q.argmax())]
        reason = (
            f"cheapest allowed with predicted quality within {self.artifact.threshold:.3f} "
            f"of the best "
            f"({best.name} {q.max():.2f}; {pick.name} {q[allowed.index(pick)]:.2f})"
        )
        if kinds:
            reason += f"; private data ({', '.join(kinds)}): self-hosted only"
        if favourite and applied:
            reason += f"; {applied.label}: prefer {favourite}"
        estimates = {
            c.name: {"quality": round(float(qi), 4), "cost": costs[c.name]}
            for c, qi in zip(allowed, q, strict=True)
        }
        return Decision(pick.name, reason, estimates, excluded, kinds)
