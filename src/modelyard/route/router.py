"""A trained router: the quality model of a router file, ready to assess and decide requests.

``Router.load(path).decide(messages, candidates, policy, budget)`` does no I/O: the embedder and
the quality model are loaded once; an assessment is a tokenizer call on a bounded sample of the
prompt, a table lookup, a few regular expressions, a few hundred word-n-gram hashes and small
matrix products. The decision itself is route/decision.py's, shared with the gateway.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from modelyard.policy import Policy
from modelyard.route.artifact import RouterArtifact, check_candidates, load
from modelyard.route.decision import (
    OUTPUT_TOKENS,
    Candidate,
    Decision,
    Facts,
    NoCandidateError,
    Rules,
    decide,
)
from modelyard.route.embed import static_embedder
from modelyard.route.features import Featurizer, Prompt, content_text
from modelyard.route.language import LanguageRules, detect_language


@dataclass(frozen=True)
class Assessment:
    """What the router makes of one request: predicted quality per candidate, and its tokens."""

    quality: dict[str, float]
    tokens: int


class Router:
    """A trained quality model with its calibrated threshold, ready to decide requests."""

    def __init__(self, artifact: RouterArtifact, featurizer: Featurizer | None = None) -> None:
        self.artifact = artifact
        self.featurizer = (featurizer or Featurizer(static_embedder())).with_prefixes(
            artifact.prefixes
        )

    @classmethod
    def load(cls, path: Path, candidates: Sequence[str] | None = None) -> Router:
        """Load a router file; with ``candidates``, fail unless it was trained for all of them."""
        return cls(load(path, candidates))

    def assess(self, messages: Sequence[dict[str, Any]], texts: Sequence[str]) -> Assessment:
        """Predicted quality for the request's ``messages``; ``texts`` (the text of every
        message, as the caller counts it) give the prompt's tokens, template included."""
        prompt = Prompt.of(messages)
        row = self.featurizer.one(prompt)
        predicted = self.artifact.quality.predict(row.x[None, :], [row.grams])[0]
        quality = dict(zip(self.artifact.candidates, map(float, predicted), strict=True))
        return Assessment(quality, self.featurizer.count(texts, prompt, row))

    def rules(self, languages: LanguageRules | None = None) -> Rules:
        """The standing rules of this router: its calibrated threshold, the language rules."""
        return Rules(threshold=self.artifact.threshold, languages=languages)

    def decide(
        self,
        messages: Sequence[dict[str, Any]],
        candidates: Sequence[Candidate],
        policy: Policy | None = None,
        budget: float | None = None,
        max_tokens: int | None = None,
        private: Sequence[str] | None = None,
        languages: LanguageRules | None = None,
    ) -> Decision:
        """Choose the backend for one chat request.

        Args:
            messages: OpenAI chat messages; the last user turn is scored.
            candidates: backends to choose from (each must be one the router was trained for).
            policy: required capabilities and minimum context.
            budget: the caller's remaining USD; dearer candidates are excluded.
            max_tokens: the request's answer limit (default OUTPUT_TOKENS) for context and cost.
            private: kinds of private data the request holds (only self-hosted candidates may
                take it); None: scan every message with the private-data detector.
            languages: per-language allow and prefer lists, applied to the scored message.

        Raises:
            RouterFileError: a candidate the router was not trained for.
            NoCandidateError: every candidate fails a hard constraint.
        """
        check_candidates(self.artifact, [c.name for c in candidates], "router")
        texts = [content_text(m.get("content")) for m in messages]
        assessment = self.assess(messages, texts)
        scored = Prompt.of(messages).user
        if private is None:
            from modelyard.privacy import Scanner

            private = Scanner().scan_body(list(messages)).kinds
        facts = Facts(
            prompt_tokens=assessment.tokens,
            max_tokens=max_tokens or OUTPUT_TOKENS,
            needs=policy.capabilities if policy else (),
            min_context=policy.min_context or 0 if policy else 0,
            language=detect_language(scored) if languages else None,
            private=tuple(private),
            budget=budget,
            quality=assessment.quality,
        )
        decision = decide(facts, candidates, self.rules(languages))
        if not decision.order:
            raise NoCandidateError(f"no backend can take this request ({decision.why_none()})")
        return decision

    def predict(self, text: str) -> np.ndarray:
        """Predicted quality per trained candidate for one user prompt."""
        row = self.featurizer.one(Prompt(text))
        return self.artifact.quality.predict(row.x[None, :], [row.grams])[0]
