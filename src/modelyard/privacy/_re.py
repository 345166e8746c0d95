"""RE2, the linear-time regular-expression engine every detector pattern runs on.

RE2's Python binding converts offsets between UTF-8 bytes and characters on every match when it
is given a ``str`` (10x slower than on bytes over 1 MB). ``hits`` runs a pattern on the text's
UTF-8 bytes instead, encoded once per text, and maps byte offsets back to characters with a
table built once (only for text that is not ASCII).
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


def compile(pattern: str, ignore_case: bool = False) -> Pattern:
    """``pattern`` compiled by RE2 with room for its automata."""
    options = re2.Options()
    options.max_mem = MEMORY
    options.case_sensitive = not ignore_case
    return re2.compile(pattern, options)


class Encoded:
    """A text, its UTF-8 bytes and the character at each byte offset."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.raw = text.encode("utf-8", "surrogatepass")
        self.ascii = len(self.raw) == len(text)
        self._chars: np.ndarray | None = None

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
    groups = range(pattern.groups + 1)
    for n, m in enumerate(pattern.finditer(enc.raw)):
        if n % CHECK_EVERY == CHECK_EVERY - 1:
            tick()
        spans = tuple((enc.char(s), enc.char(e)) for s, e in (m.span(i) for i in groups))
        yield Hit(text, spans)
