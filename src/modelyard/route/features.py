"""Prompt features for the quality model: what distinguishes one request from the others.

What is read: the last user turn (the labelled data holds single prompts), less the longest
prefix it shares with the training prompts (route/prefixes.py: a common system text or
few-shot block would otherwise fill the embedding's window for every prompt alike); of a long
turn, its first and last SAMPLE_CHARS (route/tokens.py); of its word pieces, the embedding reads
the first HEAD and the last TAIL (route/embed.py), so a question after a long document counts.
The system prompt is a feature of its own: its length, and its word n-grams hashed apart from
the user turn's (route/ngrams.py), so the n-gram predictor can learn what each application's
requests need.

Beside the embedding, a few cheap statistics carry what a mean of token vectors loses: how long
the prompt is, how much arithmetic, code or structure it holds, and, for a multiple-choice
question, how alike its answer choices are (options that differ by a nuance make for a harder
question: on RouteLLM's MMLU, Mixtral is right less often the more alike they are;
docs/routing.md).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol

import numpy as np

from modelyard.route import ngrams
from modelyard.route.prefixes import PrefixTable
from modelyard.route.tokens import MESSAGE_TOKENS, sample, scale

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
SYSTEM_STATS = ("system_chars",)
"""The system prompt's log length (0 without one)."""
STATS = TEXT_STATS + CHOICE_STATS + SYSTEM_STATS
"""Names of the text statistics, in feature order (after the embedding)."""
SYSTEM_SALT = 0x5157
"""Salts the system prompt's n-gram hashes apart from the user turn's."""
SYSTEM_ROLES = ("system", "developer")


class Embedder(Protocol):
    """What features need from an embedder (the embedders in route/embed.py satisfy it)."""

    name: str

    @property
    def dim(self) -> int: ...

    def token_ids(self, text: str) -> list[int]: ...

    def encode(self, text: str) -> Any:
        """A ``tokenizers.Encoding`` of ``text`` (its ``ids`` and character ``offsets``)."""
        ...

    def embed_ids(self, ids: list[int]) -> np.ndarray: ...

    def embed_parts(self, ids: list[int], bounds: np.ndarray) -> np.ndarray:
        """(len(bounds), dim) vectors of the parts ``ids[lo:hi]`` for each (lo, hi) row."""
        ...

    def prepare(self, texts: Sequence[str]) -> None:
        """Get ready to embed ``texts`` (a static table computes their new tokens at once)."""
        ...


@dataclass(frozen=True)
class Prompt:
    """What the router reads of a request: the last user turn and the system prompt."""

    user: str
    system: str = ""
    index: int = -1
    """Position of the user turn among the messages (-1: none, or not from messages)."""

    @classmethod
    def of(cls, messages: Sequence[dict[str, Any]]) -> Prompt:
        """The last user message (string or text parts) and every system message's text."""
        system = "\n".join(
            content_text(m.get("content")) for m in messages if m.get("role") in SYSTEM_ROLES
        )
        for i in range(len(messages) - 1, -1, -1):
            if messages[i].get("role") == "user":
                return cls(content_text(messages[i].get("content")), system, i)
        return cls("", system)


def prompt_text(messages: Sequence[dict[str, Any]]) -> str:
    """The text a decision is made on: the last user message (string or text parts)."""
    return Prompt.of(messages).user


def content_text(content: Any) -> str:
    """Text of an OpenAI message ``content`` (a string or a list of typed parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "\n".join(
            p["text"] for p in content if isinstance(p, dict) and isinstance(p.get("text"), str)
        )
    return ""


@dataclass(frozen=True)
class Row:
    """The features of one prompt."""

    x: np.ndarray
    """The embedding, then STATS."""
    grams: np.ndarray
    """Hashed word n-gram buckets, with repeats (route/ngrams.py)."""
    tokens: int
    """Word pieces of the user turn (estimated beyond EXACT_CHARS, the prefix included)."""


@dataclass(frozen=True)
class Rows:
    """The features of many prompts."""

    x: np.ndarray
    grams: list[np.ndarray]
    tokens: np.ndarray


def text_stats(text: str, n_tokens: int, n_chars: int | None = None) -> np.ndarray:
    """The TEXT_STATS values of one prompt as read (``text``): its length is ``n_chars``
    (default ``len(text)``) and ``n_tokens``, the rest is counted in ``text``."""
    numbers = NUMBER.findall(text)
    digits = len(text) - len(text.translate(NO_DIGITS))
    return np.array(
        [
            math.log1p(len(text) if n_chars is None else n_chars),
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


def choice_stats(text: str, encoding: Any, embedder: Embedder) -> np.ndarray:
    """The CHOICE_STATS values of one prompt, given its encoding (word pieces and offsets).

    Each part is embedded from the prompt's own word pieces (word pieces never cross a line, so
    they are those of the part alone): the prompt is tokenized once, and where each word piece
    starts is read only when there are choices.
    """
    spans = answer_choices(text)
    if not spans:
        return np.zeros(len(CHOICE_STATS), dtype=np.float32)
    ids = encoding.ids
    starts = np.fromiter((start for start, _ in encoding.offsets), np.int64, len(ids))
    bounds = np.searchsorted(starts, np.array(spans))
    vectors = embedder.embed_parts(ids, bounds)
    question, options = vectors[0], vectors[1:]
    to_question = np.sort(options @ question)[::-1]
    between = (options @ options.T)[_pairs(len(options))]
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


@lru_cache(maxsize=MAX_CHOICES + 1)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the upper triangle of an (n, n) matrix (few sizes, so built once each)."""
    return np.triu_indices(n, 1)


class Featurizer:
    """Turns prompts into features: the embedding followed by STATS, and n-gram buckets."""

    def __init__(self, embedder: Embedder, prefixes: PrefixTable | None = None) -> None:
        self.embedder = embedder
        self.prefixes = prefixes or PrefixTable()
        self._pieces = lru_cache(maxsize=MEMO)(self._count_pieces)

    def with_prefixes(self, prefixes: PrefixTable) -> Featurizer:
        """The same embedder, stripping ``prefixes``."""
        return Featurizer(self.embedder, prefixes)

    @property
    def names(self) -> list[str]:
        """Feature names, for reports and the artifact."""
        return [f"emb{i}" for i in range(self.embedder.dim)] + list(STATS)

    def one(self, prompt: Prompt | str) -> Row:
        """Features of one prompt (a bare string is a user turn without a system prompt)."""
        prompt = Prompt(prompt) if isinstance(prompt, str) else prompt
        rest, prefix_tokens = self.prefixes.cut(prompt.user)
        view = sample(rest)
        encoding = self.embedder.encode(view)
        ids = encoding.ids
        tokens = prefix_tokens + scale(len(ids), rest)
        x = np.concatenate(
            [
                self.embedder.embed_ids(ids),
                text_stats(view, tokens, len(rest)),
                choice_stats(view, encoding, self.embedder),
                np.array([math.log1p(len(prompt.system))], dtype=np.float32),
            ]
        )
        grams = ngrams.buckets(view)
        if prompt.system:
            grams = np.concatenate([grams, system_grams(prompt.system)])
        return Row(x, grams, tokens)

    def many(self, prompts: Sequence[Prompt | str]) -> Rows:
        """The features of every prompt, stacked."""
        read = [Prompt(p) if isinstance(p, str) else p for p in prompts]
        self.embedder.prepare([sample(self.prefixes.cut(p.user)[0]) for p in read])
        rows = [self.one(p) for p in read]
        x = np.stack([r.x for r in rows]) if rows else np.zeros((0, len(self.names)))
        return Rows(x, [r.grams for r in rows], np.array([r.tokens for r in rows], dtype=int))

    def count(self, texts: Sequence[str], prompt: Prompt, row: Row) -> int:
        """Tokens of a request whose messages have ``texts``, its user turn featurized as
        ``row`` (not tokenized again), template tokens included."""
        others = [t for i, t in enumerate(texts) if i != prompt.index]
        user = row.tokens if 0 <= prompt.index < len(texts) else 0
        pieces = sum(self._pieces(t) for t in others if t)
        return MESSAGE_TOKENS * len(texts) + user + pieces

    def _count_pieces(self, text: str) -> int:
        """Word pieces of a message other than the user turn (estimated beyond EXACT_CHARS)."""
        return scale(len(self.embedder.token_ids(sample(text))), text)


# A conversation resends its system prompt and earlier turns with every request: what is read
# of them is remembered (a 1,800-character system prompt costs ~0.5 ms to tokenize).
MEMO = 512


@lru_cache(maxsize=MEMO)
def system_grams(system: str) -> np.ndarray:
    """The system prompt's n-gram buckets, hashed apart from the user turn's (read-only)."""
    grams = ngrams.buckets(sample(system), SYSTEM_SALT)
    grams.setflags(write=False)
    return grams
