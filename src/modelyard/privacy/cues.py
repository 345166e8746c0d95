"""Where the words of ``lexicon.CUES`` occur, looked up only where a detector asks.

Detectors find their candidates first (numbers, dates, street patterns) and then ask whether a
cue of some category lies near one; ``Cues`` reads only that window (a few dozen characters),
so the cost follows the number of candidates, not the length of the text. The categories read
everywhere (health words, password words, self-introductions, name labels) are found by one
linear-time RE2 pass over the whole text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache

from modelyard.privacy import _re
from modelyard.privacy.lexicon import CUES

WORD = re.compile(r"[^\W_]+")
META = set(".^$*+?()[]{}|\\-")
CJK_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL")
EVERYWHERE = ("health", "password", "intro", "name_label")
"""Categories whose words are searched in the whole text (the others near candidates)."""


def cjk(ch: str) -> bool:
    """Whether ``ch`` is written without spaces between words (Han, kana, Hangul)."""
    return ord(ch) >= 0x2E80 and unicodedata.name(ch, "").startswith(CJK_SCRIPTS)


@dataclass(frozen=True)
class Category:
    """One category's words, split for lookup: word sequences, stems, CJK strings."""

    phrases: frozenset[tuple[str, ...]]
    longest: int
    stems: tuple[str, ...]
    joined: tuple[str, ...]

    @classmethod
    def of(cls, words: tuple[str, ...]) -> Category:
        phrases, stems, joined = set(), [], []
        for word in words:
            if cjk(word[0]):
                joined.append(word.strip())
            elif word.endswith("*"):
                stems.append(word[:-1].lower())
            else:
                phrases.add(tuple(WORD.findall(word.lower())))
        phrases.discard(())
        longest = max((len(p) for p in phrases), default=1)
        return cls(frozenset(phrases), longest, tuple(stems), tuple(joined))


@cache
def categories() -> dict[str, Category]:
    return {name: Category.of(words) for name, words in CUES.items()}


def _escape(word: str) -> str:
    return "".join(r"\s+" if ch == " " else "\\" + ch if ch in META else ch for ch in word)


@cache
def everywhere() -> _re.Pattern:
    """One alternation of the words of the categories searched in the whole text."""
    words = {w.rstrip("*").strip() for c in EVERYWHERE for w in CUES[c]}
    ordered = sorted(words, key=len, reverse=True)
    return _re.compile("|".join(_escape(w) for w in ordered), ignore_case=True)


def find(category: str, text: str, lo: int = 0, hi: int | None = None) -> Iterator[tuple[int, int]]:
    """Spans of ``category`` cues inside ``text[lo:hi]`` (whole words, or prefixes for stems,
    anywhere for CJK words)."""
    return _find(categories()[category], text, lo, len(text) if hi is None else hi)


def _find(cat: Category, text: str, lo: int, hi: int) -> Iterator[tuple[int, int]]:
    if cat.phrases or cat.stems:
        words = [(m.group().lower(), m.start(), m.end()) for m in WORD.finditer(text, lo, hi)]
        for i, (word, start, end) in enumerate(words):
            if any(word.startswith(s) for s in cat.stems):
                yield start, end
                continue
            for n in range(min(cat.longest, len(words) - i), 0, -1):
                if tuple(w for w, _, _ in words[i : i + n]) in cat.phrases:
                    yield start, words[i + n - 1][2]
                    break
    for word in cat.joined:
        at = text.find(word, lo, hi)
        while at >= 0:
            yield at, at + len(word)
            at = text.find(word, at + 1, hi)


@cache
def _words(words: tuple[str, ...]) -> Category:
    return Category.of(words)


def near_words(words: tuple[str, ...], text: str, start: int, end: int, before: int) -> bool:
    """Whether one of ``words`` lies within ``before`` characters before ``start``."""
    return next(_find(_words(words), text, max(0, start - before), end), None) is not None


def near(category: str, text: str, start: int, end: int, before: int, after: int = 0) -> bool:
    """Whether a ``category`` cue lies within ``before`` characters before ``start`` or
    ``after`` characters after ``end`` (or overlaps the span)."""
    lo, hi = max(0, start - before), min(len(text), end + after)
    return next(find(category, text, lo, hi), None) is not None


@cache
def _classes() -> dict[str, tuple[tuple[str, bool], ...]]:
    """Each ``EVERYWHERE`` word (lower case, single-spaced) -> (category, is a stem) pairs."""
    table: dict[str, list[tuple[str, bool]]] = {}
    for category in EVERYWHERE:
        for word in CUES[category]:
            key = " ".join(word.rstrip("*").lower().split())
            table.setdefault(key, []).append((category, word.endswith("*")))
    return {k: tuple(v) for k, v in table.items()}


def anywhere(text: str) -> dict[str, list[tuple[int, int]]]:
    """Spans of the cues of every ``EVERYWHERE`` category in the whole text, by category."""
    found: dict[str, list[tuple[int, int]]] = {c: [] for c in EVERYWHERE}
    classes = _classes()
    for m in _re.hits(everywhere(), text):
        start, end = m.span()
        word = " ".join(m.group().lower().split())
        joined = cjk(word[0])
        if not joined and start > 0 and text[start - 1].isalnum():
            continue
        for category, stem in classes.get(word, ()):
            if joined or stem or end >= len(text) or not text[end].isalnum():
                found[category].append((start, end))
    return found
