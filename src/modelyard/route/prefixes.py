"""Prefixes many training prompts share (a system text, a few-shot block), to read past them.

Real traffic often starts every prompt with the same instructions or worked examples. The
embedding reads a bounded window of word pieces, so such prompts would all look alike. Training
finds the prefixes at least MIN_SHARE of the prompts (and MIN_ROWS of them) begin with, cut at
a space, a line break or a blank line and at least MIN_CHARS long; the router file keeps each
one's length, a hash of its text and its word-piece count (never the text itself). A prompt is
read from the end of the longest table prefix it starts with; its tokens still count that
prefix's.
"""

from __future__ import annotations

import bisect
import hashlib
import os
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from itertools import pairwise
from typing import Any

MIN_CHARS = 64
MIN_SHARE = 0.02
MIN_ROWS = 5
MAX_PREFIXES = 64
"""Kept: the prefixes shared by the most prompts."""
LAST = chr(0x10FFFF)
CUTS = "\n "
"""A prefix ends after one of these, so no word is cut in two."""


def digest(text: str) -> str:
    """A short, stable hash of a prefix's text."""
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class Prefix:
    chars: int
    digest: str
    tokens: int
    rows: int
    """Training prompts that start with it."""


@dataclass(frozen=True)
class PrefixTable:
    """Shared prefixes, longest first."""

    prefixes: tuple[Prefix, ...] = ()

    def cut(self, text: str) -> tuple[str, int]:
        """``text`` after the longest table prefix it starts with, and that prefix's tokens."""
        for p in self.prefixes:
            if len(text) > p.chars and digest(text[: p.chars]) == p.digest:
                return text[p.chars :], p.tokens
        return text, 0

    @classmethod
    def fit(cls, texts: Sequence[str], count: Callable[[str], int]) -> PrefixTable:
        """The prefixes shared by enough of ``texts``; ``count`` gives a text's tokens."""
        ordered = sorted(texts)
        need = max(MIN_ROWS, MIN_SHARE * len(texts))
        found = {}
        for a, b in pairwise(ordered):
            shared = len(os.path.commonprefix([a, b]))  # noqa: RUF071 (text, not paths)
            for cut in _cuts(a, shared):
                if a[:cut] not in found:
                    found[a[:cut]] = _support(ordered, a[:cut])
        kept = sorted((n, p) for p, n in found.items() if n >= need)[-MAX_PREFIXES:]
        prefixes = [Prefix(len(p), digest(p), count(p), n) for n, p in kept]
        return cls(tuple(sorted(prefixes, key=lambda p: -p.chars)))

    def to_list(self) -> list[dict[str, Any]]:
        """The table as JSON-ready entries."""
        return [asdict(p) for p in self.prefixes]

    @classmethod
    def from_list(cls, raw: list[dict[str, Any]]) -> PrefixTable:
        """Inverse of ``to_list``.

        Raises:
            ValueError: an entry lacks a field or has the wrong type.
        """
        try:
            prefixes = [
                Prefix(int(r["chars"]), str(r["digest"]), int(r["tokens"]), int(r["rows"]))
                for r in raw
            ]
        except (KeyError, TypeError) as exc:
            raise ValueError(f"prefix table entry: {exc}") from None
        return cls(tuple(sorted(prefixes, key=lambda p: -p.chars)))


def _cuts(text: str, length: int) -> set[int]:
    """Where a prefix of ``text[:length]`` may end: after its last space or line break, its
    last line break and its last blank line (so a block shared by many prompts is found even
    when most of them also share the first words after it), each at least MIN_CHARS long."""
    if length >= len(text):
        return set()  # one prompt is a prefix of another: not a shared opening but a duplicate
    ends = {max(text.rfind(c, 0, length) for c in CUTS), text.rfind("\n", 0, length),
            text.rfind("\n\n", 0, length) + 1}  # fmt: skip
    return {end + 1 for end in ends if end + 1 >= MIN_CHARS}


def _support(ordered: list[str], prefix: str) -> int:
    """How many of the sorted ``ordered`` start with ``prefix`` (they sit side by side)."""
    return bisect.bisect_left(ordered, prefix + LAST) - bisect.bisect_left(ordered, prefix)
