"""Prompt features for the quality model: a sentence embedding plus a few cheap text statistics.

The statistics carry what a mean of token vectors loses: how long the prompt is, how much
arithmetic, code or structure it holds, and, for a multiple-choice question, how alike its
answer choices are (options that differ by a nuance make for a harder question: on RouteLLM's
MMLU, Mixtral is right less often the more alike they are; docs/routing.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

NO_DIGITS = str.maketrans("", "", "0123456789")
NUMBER = re.compile(r"\d+(?:[.,]\d+)*")
CODE = re.compile(r"```|\bdef |\bclass |\breturn\b|[{};]\s*$|#include|=>|\bfunction\b", re.M)
MATH = re.compile(r"[=+*/^<>%$]|\\frac|\\sqrt")
CHOICE = re.compile(r"^\s*\(?[A-Ea-e][.)]\s", re.M)
CHOICE_LINE = re.compile(r"^[ \t]*\(?[A-Ea-e][.)][ \t]+(\S.*)$", re.M)
MAX_CHOICES = 8
"""Choices compared per prompt (the last ones listed): bounds the pairwise work."""
TEXT_STATS = (
    "log_chars",
    "log_tokens",
    "log_numbers",
    "digit_share",
    "log_lines",
    "code_marks",
    "math_marks",
    "questions",
    "choices",
)
CHOICE_STATS = (
    "choice_top",
    "choice_margin",
    "choice_mean",
    "choice_spread",
    "choices_alike",
    "choices_closest",
    "choices_farthest",
)
"""Cosines between a question and its answer choices (best, best minus second, mean, spread)
and among the choices (mean, largest, smallest); zeros without two choices."""
STATS = TEXT_STATS + CHOICE_STATS
"""Names of the text statistics, in feature order (after the embedding)."""


class Embedder(Protocol):
    """What features need from an embedder (both embedders in route/embed.py satisfy it)."""

    @property
    def name(self) -> str: ...

    @property
    def dim(self) -> int: ...

    def token_ids(self, text: str) -> list[int]: ...

    def token_spans(self, text: str) -> tuple[list[int], np.ndarray]: ...

    def embed_ids(self, ids: list[int]) -> np.ndarray: ...


def prompt_text(messages: Sequence[dict[str, Any]]) -> str:
    """The text a decision is made on: the last user message (string or text parts).

    The labelled data holds single first-turn prompts, so the router scores the latest user turn.
    """
    for message in reversed(messages):
        if message.get("role") == "user":
            return content_text(message.get("content"))
    return ""


def content_text(content: Any) -> str:
    """Text of an OpenAI message ``content`` (a string or a list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def text_stats(text: str, n_tokens: int) -> np.ndarray:
    """The TEXT_STATS values of one prompt."""
    numbers = NUMBER.findall(text)
    digits = len(text) - len(text.translate(NO_DIGITS))
    return np.array(
        [
            math.log1p(len(text)),
            math.log1p(n_tokens),
            math.log1p(len(numbers)),
            digits / max(len(text), 1),
            math.log1p(text.count("\n")),
            math.log1p(len(CODE.findall(text))),
            math.log1p(len(MATH.findall(text))),
            math.log1p(text.count("?")),
            math.log1p(len(CHOICE.findall(text))),
        ],
        dtype=np.float32,
    )


def answer_choices(text: str) -> list[tuple[int, int]]:
    """Character spans of the question and of each of its lettered choices ("A. …", "(b) …");
    empty unless there are at least two choices."""
    found = list(CHOICE_LINE.finditer(text))[-MAX_CHOICES:]
    if len(found) < 2:
        return []
    return [(0, found[0].start()), *(m.span(1) for m in found)]


def choice_stats(text: str, ids: list[int], starts: np.ndarray, embedder: Embedder) -> np.ndarray:
    """The CHOICE_STATS values of one prompt, given its word pieces and where each starts.

    Each part is embedded from the prompt's own word pieces (word pieces never cross a line, so
    they are those of the part alone): the prompt is tokenized once.
    """
    spans = answer_choices(text)
    if not spans:
        return np.zeros(len(CHOICE_STATS), dtype=np.float32)
    bounds = np.searchsorted(starts, np.array(spans))
    question, *parts = (embedder.embed_ids(ids[lo:hi]) for lo, hi in bounds)
    options = np.stack(parts)
    to_question = np.sort(options @ question)[::-1]
    between = (options @ options.T)[np.triu_indices(len(options), 1)]
    return np.array(
        [
            to_question[0],
            to_question[0] - to_question[1],
            to_question.mean(),
            to_question.std(),
            between.mean(),
            between.max(),
            between.min(),
        ],
        dtype=np.float32,
    )


class Featurizer:
    """Turns prompts into feature vectors: the embedding followed by STATS."""

    def __init__(self, embedder: Embedder) -> None:
        self.embedder = embedder

    @property
    def names(self) -> list[str]:
        """Feature names, for reports and the artifact."""
        return [f"emb{i}" for i in range(self.embedder.dim)] + list(STATS)

    def one(self, text: str) -> tuple[np.ndarray, int]:
        """Features of one prompt and its token count."""
        ids, starts = self.embedder.token_spans(text)
        vec = np.concatenate(
            [
                self.embedder.embed_ids(ids),
                text_stats(text, len(ids)),
                choice_stats(text, ids, starts, self.embedder),
            ]
        )
        return vec, len(ids)

    def many(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(len(texts), n_features) matrix and the token count of each prompt."""
        pairs = [self.one(t) for t in texts]
        return np.stack([p[0] for p in pairs]), np.array([p[1] for p in pairs])
