"""RE2, the linear-time regular-expression engine every detector pattern runs on.

RE2's Python binding converts offsets between UTF-8 bytes and characters on every match when it
is given a ``str`` (10x slower than on bytes over 1 MB). ``hits`` runs a pattern on the text's
UTF-8 bytes instead, encoded once per text, and maps byte offsets back to characters with a
table built once (only for text that is not ASCII).

Most request texts match few of the detectors' patterns. For a short text, one pass of an RE2
set over every pattern compiled so far says which can match at all, and ``hits`` skips the
others (a 40-character prompt: 20 pattern calls become one set pass). A pattern is skipped only
when the set pass finished: the set holds a pattern that matches every text, and when RE2
gives up (its memory budget) that pattern is missing from the answer and every pattern runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import numpy as np
import re2

MEMORY = 64 << 20
"""RE2's memory for one pattern's automata (its default, 8 MiB, is too small for the cue and
address patterns: RE2 then falls back to a slower matcher)."""

Pattern = Any
"""A compiled RE2 pattern (the binding has no type stubs)."""


PREFILTER_BYTES = 4096
"""Texts up to this size go through the set pass first (past it, a text is likely to match
most patterns anyway, and the set's automaton would need room for every state it visits)."""


def compile(pattern: str, ignore_case: bool = False) -> Pattern:
    """``pattern`` compiled by RE2 with room for its automata."""
    options = re2.Options()
    options.max_mem = MEMORY
    options.case_sensitive = not ignore_case
    compiled = re2.compile(pattern, options)
    PREFILTER.add(compiled, f"(?i:{pattern})" if ignore_case else pattern)
    return compiled


class Prefilter:
    """One RE2 set over every pattern compiled so far: which of them can match a text."""

    def __init__(self, memory: int = MEMORY) -> None:
        self.memory = memory
        self._patterns: list[str] = [""]  # index 0 matches every text: the pass finished
        self._index: dict[int, int] = {}
        self._set: Any = None
        self._lock = threading.Lock()

    def add(self, compiled: Pattern, source: str) -> None:
        with self._lock:
            self._index[id(compiled)] = len(self._patterns)
            self._patterns.append(source)
            self._set = None

    def matching(self, raw: bytes) -> frozenset[int] | None:
        """The indexes of the patterns that match ``raw`` somewhere; None: not known."""
        built = self._compiled()
        found = (built.Match(raw) or ()) if built is not None else ()
        return frozenset(found) if 0 in found else None

    def may_match(self, compiled: Pattern, found: frozenset[int]) -> bool:
        index = self._index.get(id(compiled))
        return index is None or index in found

    def _compiled(self) -> Any:
        """The set, built on first use after a pattern was added; None when RE2 cannot build
        it within its memory (then every pattern runs)."""
        with self._lock:
            if self._set is None:
                options = re2.Options()
                options.max_mem = self.memory
                built = re2.Set.SearchSet(options)
                try:
                    for source in self._patterns:
                        built.Add(source)
                    built.Compile()
                except re2.error:
                    built = False
                self._set = built
            return self._set or None


PREFILTER = Prefilter()


class Encoded:
    """A text, its UTF-8 bytes and the character at each byte offset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.raw = text.encode("utf-8", "surrogatepass")
        self.ascii = len(self.raw) == len(text)
        self._chars: np.ndarray | None = None
        self._matching: frozenset[int] | None = None
        self._filtered = len(self.raw) > PREFILTER_BYTES

    def may_match(self, pattern: Pattern) -> bool:
        """False only when the set pass showed ``pattern`` has no match in this text."""
        if not self._filtered:
            self._filtered = True
            self._matching = PREFILTER.matching(self.raw)
        return self._matching is None or PREFILTER.may_match(pattern, self._matching)

    def char(self, offset: int) -> int:
        """The character offset of byte ``offset`` (which starts a character)."""
        if self.ascii or offset < 0:
            return offset
        if self._chars is None:
            lead = (np.frombuffer(self.raw, dtype=np.uint8) & 0xC0) != 0x80
            self._chars = np.concatenate(([0], np.cumsum(lead)))
        return int(self._chars[offset])


_cache = threading.local()
_budget = threading.local()
CHECK_EVERY = 64
"""Matches between two looks at the scan's clock (a hostile text can make millions)."""


@contextmanager
def budgeted(check: Callable[[], None]) -> Iterator[None]:
    """Within this block, this thread's ``hits`` call ``check`` every ``CHECK_EVERY``
    matches (it raises when the scan's time is up)."""
    previous = getattr(_budget, "check", None)
    _budget.check = check
    try:
        yield
    finally:
        _budget.check = previous


def tick() -> None:
    """Look at the scan's clock, if this thread is scanning under one."""
    check = getattr(_budget, "check", None)
    if check is not None:
        check()


def encoded(text: str) -> Encoded:
    """``text`` encoded, reusing the last encoding made by this thread for the same string."""
    last = getattr(_cache, "last", None)
    if last is None or last.text is not text:
        last = _cache.last = Encoded(text)
    return last


@dataclass(frozen=True)
class Hit:
    """A match, in character offsets of the text."""

    text: str
    spans: tuple[tuple[int, int], ...]

    def span(self, group: int = 0) -> tuple[int, int]:
        return self.spans[group]

    def start(self, group: int = 0) -> int:
        return self.spans[group][0]

    def end(self, group: int = 0) -> int:
        return self.spans[group][1]

    def group(self, group: int = 0) -> str:
        start, end = self.spans[group]
        return self.text[start:end] if start >= 0 else ""


def hits(pattern: Pattern, text: str) -> Iterator[Hit]:
    """Every match of ``pattern`` in ``text``, left to right."""
    enc = encoded(text)
    if not enc.may_match(pattern):
        return
    groups = range(pattern.groups + 1)
    for n, m in enumerate(pattern.finditer(enc.raw)):
        if n % CHECK_EVERY == CHECK_EVERY - 1:
            tick()
        spans = tuple((enc.char(s), enc.char(e)) for s, e in (m.span(i) for i in groups))
        yield Hit(text, spans)
